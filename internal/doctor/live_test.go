package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/zz_generated/abi"
)

// livePrefix is a --file-prefix of this test process that testenv.Main's
// leftover check covers (gmtest_*_<pid>).
func livePrefix(name string) string { return fmt.Sprintf("gmtest_%s_%d", name, os.Getpid()) }

func logResults(t *testing.T, rs []Result) {
	t.Helper()
	var b strings.Builder
	WriteText(&b, rs)
	t.Logf("mrdoctor:\n%s", b.String())
}

// A real DPDK primary (testpmd): ok lines for it; it is not mrzcpd, which
// the ABI check says.
func TestLiveTestpmd(t *testing.T) {
	tp := testenv.StartTestpmd(t, testenv.TestpmdOptions{Prefix: livePrefix("DoctorTestpmd")})
	rs := Run(Options{FilePrefix: tp.Prefix, RunDir: t.TempDir(), HugeDir: testenv.HugepageDir})
	logResults(t, rs)
	expect(t, rs, "hugepages-reserved", OK)
	expect(t, rs, "hugetlbfs-mounted", OK, testenv.HugepageDir)
	expect(t, rs, "primary", OK, fmt.Sprintf("pid %d holds %s/config", tp.Pid(), tp.RuntimeDir))
	expect(t, rs, "dpdk-version", OK, "primary runs DPDK 22.11")
	expect(t, rs, "permissions", OK, "hugepage files")
	expect(t, rs, "address-ranges", OK, "free in a fresh process")
	expect(t, rs, "abi-version", Warn, "no \"mrzcpd_root\" memzone", "not mrzcpd")
	if r := find(t, rs, "stale-runtime-dirs"); r.Status == Fail || !strings.Contains(r.Detail, tp.Prefix+" (pid") {
		t.Errorf("stale-runtime-dirs does not list %s as live: %+v", tp.Prefix, r)
	}
	if r := find(t, rs, "stale-hugepage-files"); strings.Contains(r.Detail, tp.Prefix) {
		t.Errorf("a live primary's hugepage files reported stale: %+v", r)
	}
}

// A primary killed with SIGKILL leaves its runtime dir and hugepage files:
// the doctor reports them; -clean removes them and nothing of a live
// primary next to it.
func TestStaleTestpmd(t *testing.T) {
	// Both primaries keep their hugepage files on a hugetlbfs of their
	// own: in the shared one, any primary another test starts meanwhile
	// would remove the dead one's files (and lock each for a moment).
	huge := testenv.PrivateHugeDir(t)
	live := testenv.StartTestpmd(t, testenv.TestpmdOptions{Prefix: livePrefix("DoctorLive"), HugeDir: huge})
	dead := testenv.StartTestpmd(t, testenv.TestpmdOptions{Prefix: livePrefix("DoctorDead"), HugeDir: huge})
	dead.Kill()
	deadFiles := testenv.HugepageFilesIn(huge, dead.Prefix)
	liveFiles := testenv.HugepageFilesIn(huge, live.Prefix)
	if len(deadFiles) == 0 || len(liveFiles) == 0 {
		t.Fatalf("hugepage files: dead %d, live %d", len(deadFiles), len(liveFiles))
	}
	o := Options{FilePrefix: live.Prefix, RunDir: t.TempDir(), HugeDir: huge}
	rs := Run(o)
	logResults(t, rs)
	expect(t, rs, "stale-runtime-dirs", Warn, dead.RuntimeDir, "mrdoctor -clean")
	expect(t, rs, "stale-hugepage-files", Warn, fmt.Sprintf("%s (%d files", dead.Prefix, len(deadFiles)))
	for _, r := range rs[3:5] {
		if strings.Contains(r.Detail, live.RuntimeDir+",") || strings.Contains(r.Detail, live.Prefix+" (") && !strings.Contains(r.Detail, live.Prefix+" (pid") {
			t.Errorf("live primary reported stale: %+v", r)
		}
	}
	if _, err := os.Stat(dead.RuntimeDir); err != nil {
		t.Fatal("reported files removed without -clean")
	}

	// Only this test process's prefixes: other stale leftovers on a shared
	// machine are not this test's to remove.
	o.Clean, o.CleanPrefix = true, fmt.Sprintf("gmtest_*_%d", os.Getpid())
	rs = Run(o)
	logResults(t, rs)
	r := find(t, rs, "stale-runtime-dirs")
	if r.Status == Fail || !strings.Contains(r.Detail, "removed") || !strings.Contains(r.Detail, dead.RuntimeDir) {
		t.Errorf("clean runtime dir: %+v", r)
	}
	r = find(t, rs, "stale-hugepage-files")
	if r.Status == Fail || !strings.Contains(r.Detail, fmt.Sprintf("removed %s (%d files)", dead.Prefix, len(deadFiles))) {
		t.Errorf("clean hugepage files: %+v", r)
	}
	if _, err := os.Stat(dead.RuntimeDir); err == nil {
		t.Errorf("%s not removed", dead.RuntimeDir)
	}
	if left := testenv.HugepageFilesIn(huge, dead.Prefix); len(left) > 0 {
		t.Errorf("%d hugepage files of the dead primary left", len(left))
	}
	if now := testenv.HugepageFilesIn(huge, live.Prefix); len(now) != len(liveFiles) {
		t.Errorf("live primary's hugepage files: %d before, %d after -clean", len(liveFiles), len(now))
	}
	for _, f := range []string{"config", "mp_socket", "fbarray_memzone"} {
		if _, err := os.Stat(filepath.Join(live.RuntimeDir, f)); err != nil {
			t.Errorf("live primary's %s: %v", f, err)
		}
	}
	// The live primary still serves: the doctor attaches to it again.
	rs = Run(Options{FilePrefix: live.Prefix, RunDir: o.RunDir, HugeDir: huge})
	expect(t, rs, "primary", OK)
	expect(t, rs, "abi-version", Warn, "not mrzcpd")
	if out := testenv.ProcInfo(t, live.Prefix, "--stats"); !strings.Contains(out, "NIC statistics") && !strings.Contains(out, "Port") {
		t.Errorf("dpdk-proc-info after -clean:\n%s", out)
	}
}

// mrzcpd itself: the daemon, its primary and the ABI in its root memzone.
func TestLiveMrzcpd(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	rs := Run(Options{RunDir: d.RunDir, HugeDir: testenv.HugepageDir})
	logResults(t, rs)
	expect(t, rs, "daemon", OK, fmt.Sprintf("mrzcpd pid %d", d.Pid()), "--file-prefix "+d.Prefix)
	expect(t, rs, "primary", OK, fmt.Sprintf("pid %d holds", d.Pid()))
	expect(t, rs, "dpdk-version", OK)
	expect(t, rs, "abi-version", OK, "mrzcpd_root at", fmt.Sprintf("magic ok, ABI version %d = this build's", abi.MR_ABI_VERSION))
	expect(t, rs, "permissions", OK)
	expect(t, rs, "address-ranges", OK)
	if Failed(rs) {
		for _, r := range rs {
			if r.Status == Fail && !strings.HasPrefix(r.Check, "stale-") {
				t.Errorf("fail: %+v", r)
			}
		}
	}
}
