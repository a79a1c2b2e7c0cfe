package doctor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// fakeHost is a fake /proc and /sys tree plus DPDK and hugepage dirs.
type fakeHost struct {
	root, dpdkDir, hugeDir, runDir string
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	base := t.TempDir()
	h := &fakeHost{root: filepath.Join(base, "root"), dpdkDir: filepath.Join(base, "dpdk"),
		hugeDir: filepath.Join(base, "huge"), runDir: filepath.Join(base, "run")}
	for _, d := range []string{h.dpdkDir, h.hugeDir, h.runDir} {
		os.MkdirAll(d, 0o755)
	}
	h.write(t, "/proc/meminfo", "MemTotal: 1000 kB\nHugePages_Total:    1024\nHugePages_Free:      900\nHugepagesize:       2048 kB\n")
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "1024\n")
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "900\n")
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n")
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n")
	h.write(t, "/proc/mounts", "proc /proc proc rw 0 0\nnodev "+strings.ReplaceAll(h.hugeDir, " ", `\040`)+" hugetlbfs rw,relatime,pagesize=2M 0 0\n")
	h.write(t, "/proc/locks", "")
	h.write(t, "/proc/sys/kernel/randomize_va_space", "2\n")
	return h
}

func (h *fakeHost) write(t *testing.T, path, text string) {
	t.Helper()
	p := filepath.Join(h.root, path)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *fakeHost) opts() Options {
	return Options{Root: h.root, DPDKDir: h.dpdkDir, HugeDir: h.hugeDir, RunDir: h.runDir, NoAttach: true}
}

func find(t *testing.T, rs []Result, check string) Result {
	t.Helper()
	for _, r := range rs {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no %s result in %+v", check, rs)
	return Result{}
}

func expect(t *testing.T, rs []Result, check string, st Status, substr ...string) Result {
	t.Helper()
	r := find(t, rs, check)
	if r.Status != st {
		t.Errorf("%s: %s %q (fix %q), want %s", check, r.Status, r.Detail, r.Fix, st)
	}
	for _, s := range substr {
		if !strings.Contains(r.Detail+" fix: "+r.Fix, s) {
			t.Errorf("%s: %q (fix %q) lacks %q", check, r.Detail, r.Fix, s)
		}
	}
	return r
}

func TestHugepagesOK(t *testing.T) {
	h := newFakeHost(t)
	o := h.opts()
	o.HugeDir = "" // every hugetlbfs mount: the fake one, whose name has no space here
	rs := Run(o)
	expect(t, rs, "hugepages-reserved", OK, "1024 × 2 MiB (900 free)")
	expect(t, rs, "hugetlbfs-mounted", OK, h.hugeDir)
	expect(t, rs, "hugepages-free", OK, "900 of 1024")
	expect(t, rs, "stale-runtime-dirs", OK, "none")
	expect(t, rs, "stale-hugepage-files", OK, "none")
}

// No hugetlbfs, no hugepages: clear fail lines, no crash.
func TestNoHugetlbfs(t *testing.T) {
	h := newFakeHost(t)
	h.write(t, "/proc/mounts", "proc /proc proc rw 0 0\n")
	h.write(t, "/proc/meminfo", "HugePages_Total: 0\nHugePages_Free: 0\n")
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n")
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n")
	o := h.opts()
	o.HugeDir = ""
	rs := Run(o)
	expect(t, rs, "hugepages-reserved", Fail, "no hugepages reserved", "make deps")
	expect(t, rs, "hugetlbfs-mounted", Fail, "no hugetlbfs mounted", "mount -t hugetlbfs")
	expect(t, rs, "hugepages-free", Fail)
	// All reserved pages in use: a warning (applications need none).
	h.write(t, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "64\n")
	expect(t, Run(o), "hugepages-free", Warn, "all 64 hugepages are in use", "mrdoctor -clean")
	expect(t, rs, "stale-hugepage-files", Warn, "not checked")
	if !Failed(rs) {
		t.Error("Failed is false")
	}
	// -hugedir naming a directory that is not hugetlbfs.
	o.HugeDir = h.hugeDir
	expect(t, Run(o), "hugetlbfs-mounted", Fail, "is not a hugetlbfs mount")
}

// An empty root (no /proc, no /sys at all) and missing dirs: fail lines, no panic.
func TestNothingThere(t *testing.T) {
	o := Options{Root: t.TempDir(), DPDKDir: "/nonexistent/dpdk", RunDir: "/nonexistent/run", NoAttach: true}
	rs := Run(o)
	expect(t, rs, "hugepages-reserved", Fail, "cannot read hugepage counts")
	expect(t, rs, "hugetlbfs-mounted", Fail, "cannot read mounts")
	expect(t, rs, "daemon", Fail, "run dir /nonexistent/run does not exist", "start mrzcpd")
	expect(t, rs, "primary", Fail, "no DPDK primary with --file-prefix rte")
	expect(t, rs, "aslr", Warn)
	var b bytes.Buffer
	if err := WriteText(&b, rs); err != nil || !strings.Contains(b.String(), "fix: ") {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}

// writeConfig writes a DPDK 22.11 rte_mem_config with one memseg list.
func writeConfig(t *testing.T, dir string, version uint32, base, length uint64) string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	b := make([]byte, dpdk.SizeofMemConfig)
	binary.LittleEndian.PutUint32(b[dpdk.OffsetofMemConfigMagic:], dpdk.RTE_MAGIC)
	binary.LittleEndian.PutUint32(b[dpdk.OffsetofMemConfigVersion:], version)
	off := dpdk.OffsetofMemConfigMemsegs
	binary.LittleEndian.PutUint64(b[off+dpdk.OffsetofMemsegListBaseVa:], base)
	binary.LittleEndian.PutUint64(b[off+dpdk.OffsetofMemsegListLen:], length)
	binary.LittleEndian.PutUint64(b[off+dpdk.OffsetofMemsegListPageSz:], 2<<20)
	p := filepath.Join(dir, "config")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// lockConfig holds an OFD write lock on path until the test ends. OFD
// locks conflict with the classic F_GETLK query even within one process,
// so the doctor sees the file as held, as it sees a primary's lock.
func lockConfig(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: int64(dpdk.OffsetofMemConfigMemsegs), Len: 1000}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
}

func touch(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// staleTree: a dead primary (config unlocked, two hugepage files), a live
// one (config locked, one file), an --in-memory-like dir without config, a
// hugepage file without runtime dir held by a flock (a secondary or another
// user's primary), one nobody holds, and an unrelated file.
func staleTree(t *testing.T, h *fakeHost) (flockFd int) {
	t.Helper()
	writeConfig(t, filepath.Join(h.dpdkDir, "dead"), dpdk.RTE_VERSION, 0, 0)
	lockConfig(t, writeConfig(t, filepath.Join(h.dpdkDir, "alive"), dpdk.RTE_VERSION, 0, 0))
	os.MkdirAll(filepath.Join(h.dpdkDir, "inmem"), 0o755)
	touch(t, filepath.Join(h.dpdkDir, "inmem", "dpdk_telemetry.v2"))
	touch(t, filepath.Join(h.hugeDir, "deadmap_0"), filepath.Join(h.hugeDir, "deadmap_1"),
		filepath.Join(h.hugeDir, "alivemap_0"), filepath.Join(h.hugeDir, "orphanmap_0"),
		filepath.Join(h.hugeDir, "lonelymap_3"), filepath.Join(h.hugeDir, "notes.txt"))
	// orphanmap_0 is flocked (as EAL holds LOCK_SH on its pages); say so
	// in the fake /proc/locks too.
	fd, err := unix.Open(filepath.Join(h.hugeDir, "orphanmap_0"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	h.write(t, "/proc/locks", fmt.Sprintf("1: FLOCK  ADVISORY  READ  %d %02x:%02x:%d 0 EOF\n2: POSIX  ADVISORY  WRITE 99 00:01:1 0 EOF\n",
		os.Getpid(), unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino))
	return fd
}

func TestStaleReportAndClean(t *testing.T) {
	h := newFakeHost(t)
	staleTree(t, h)
	o := h.opts()
	rs := Run(o)
	expect(t, rs, "stale-runtime-dirs", Warn, filepath.Join(h.dpdkDir, "dead"), "live primaries: alive", "left alone", "inmem", "mrdoctor -clean")
	r := expect(t, rs, "stale-hugepage-files", Warn, "dead (2 files", "lonely (1 file", "1 file with no live primary found")
	if strings.Contains(r.Detail, "alive (") || strings.Contains(r.Detail, "orphan (") {
		t.Errorf("live files reported stale: %s", r.Detail)
	}
	if !exists(filepath.Join(h.dpdkDir, "dead")) || !exists(filepath.Join(h.hugeDir, "deadmap_0")) {
		t.Fatal("removed without -clean")
	}

	// -clean limited to one prefix.
	o.Clean, o.CleanPrefix = true, "lone*"
	rs = Run(o)
	expect(t, rs, "stale-hugepage-files", Warn, "removed lonely (1 file)", "does not match -clean-prefix")
	if exists(filepath.Join(h.hugeDir, "lonelymap_3")) || !exists(filepath.Join(h.hugeDir, "deadmap_0")) {
		t.Fatal("-clean-prefix not honoured")
	}

	o.CleanPrefix = ""
	rs = Run(o)
	expect(t, rs, "stale-runtime-dirs", OK, "removed 1 stale runtime dir")
	expect(t, rs, "stale-hugepage-files", OK, "removed dead (2 files)")
	for _, gone := range []string{filepath.Join(h.dpdkDir, "dead"), filepath.Join(h.hugeDir, "deadmap_0"), filepath.Join(h.hugeDir, "deadmap_1")} {
		if exists(gone) {
			t.Errorf("%s not removed", gone)
		}
	}
	for _, kept := range []string{filepath.Join(h.dpdkDir, "alive", "config"), filepath.Join(h.dpdkDir, "inmem", "dpdk_telemetry.v2"),
		filepath.Join(h.hugeDir, "alivemap_0"), filepath.Join(h.hugeDir, "orphanmap_0"), filepath.Join(h.hugeDir, "notes.txt")} {
		if !exists(kept) {
			t.Errorf("%s removed", kept)
		}
	}
	rs = Run(o)
	expect(t, rs, "stale-runtime-dirs", OK, "none")
	expect(t, rs, "stale-hugepage-files", OK, "none")
}

// The last line of defence: a hugepage file some process holds a flock on
// is never removed, whatever /proc/locks said.
func TestRemoveHugeFileInUse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "xmap_0")
	touch(t, p)
	fd, _ := unix.Open(p, unix.O_RDONLY, 0)
	defer unix.Close(fd)
	unix.Flock(fd, unix.LOCK_SH)
	if err := removeHugeFile(p); err == nil || !exists(p) {
		t.Fatalf("removed a file in use: %v", err)
	}
	unix.Flock(fd, unix.LOCK_UN)
	if err := removeHugeFile(p); err != nil || exists(p) {
		t.Fatalf("not removed once free: %v", err)
	}
}

func TestRemoveRuntimeDirLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	lockConfig(t, writeConfig(t, dir, dpdk.RTE_VERSION, 0, 0))
	if err := removeRuntimeDir(dir); err == nil || !exists(dir) {
		t.Fatalf("removed a locked runtime dir: %v", err)
	}
}

func writeStatus(t *testing.T, h *fakeHost, pid int, updated time.Time) {
	t.Helper()
	d := &monit.Daemon{General: monit.DaemonGeneral{GCfgfile: "/etc/g.conf", Pid: pid, FilePrefix: "mz",
		RuntimeDir: filepath.Join(h.dpdkDir, "mz"), StartTime: updated.Add(-time.Minute).UnixNano(),
		UpdateTime: updated.UnixNano(), DPDKVersion: "DPDK 22.11.11", ABIVersion: 1}}
	if err := monit.WriteFile(monit.DaemonPath(h.runDir), d); err != nil {
		t.Fatal(err)
	}
}

func TestDaemonStatus(t *testing.T) {
	h := newFakeHost(t)
	o := h.opts()
	expect(t, Run(o), "daemon", Fail, "no status file "+monit.DaemonPath(h.runDir), "start mrzcpd")

	writeStatus(t, h, os.Getpid(), time.Now())
	rs := Run(o)
	expect(t, rs, "daemon", OK, fmt.Sprintf("mrzcpd pid %d, up 1m0s, --file-prefix mz", os.Getpid()))
	// The prefix comes from the status file.
	expect(t, rs, "primary", Fail, "--file-prefix mz (from the status file)")

	writeStatus(t, h, os.Getpid(), time.Now().Add(-time.Minute))
	expect(t, Run(o), "daemon", Fail, "not updated for", "alive but not writing")

	writeStatus(t, h, 1<<30, time.Now())
	expect(t, Run(o), "daemon", Fail, "is not running", "restart mrzcpd")

	// The last status file of a daemon that exited on a stalled worker.
	stalled := &monit.Daemon{General: monit.DaemonGeneral{GCfgfile: "/etc/g.conf", Pid: 1 << 30, FilePrefix: "mz",
		UpdateTime: time.Now().UnixNano(), DPDKVersion: "DPDK 22.11.11", ABIVersion: 1},
		StalledWorkers: []monit.StalledWorker{{Worker: 0, Ports: []string{"p0"}, Epoch: 7, Stalled: int64(time.Second),
			Time: time.Now().UnixNano(), Cause: "stuck inside DPDK"}}}
	if err := monit.WriteFile(monit.DaemonPath(h.runDir), stalled); err != nil {
		t.Fatal(err)
	}
	expect(t, Run(o), "daemon", Fail, "stall watchdog found worker 0 stuck (stuck inside DPDK)", "restart mrzcpd")

	os.WriteFile(monit.DaemonPath(h.runDir), []byte(`{"general":`), 0o644)
	expect(t, Run(o), "daemon", Fail, monit.DaemonPath(h.runDir), "not valid JSON")
}

// A fake live primary: version, permissions, and the address ranges probed
// in a fresh process (this test binary re-executed).
func TestPrimaryAndRanges(t *testing.T) {
	h := newFakeHost(t)
	writeStatus(t, h, os.Getpid(), time.Now())
	// A range far from anything a fresh Go process maps.
	cfg := writeConfig(t, filepath.Join(h.dpdkDir, "mz"), dpdk.RTE_VERSION, 0x3f0000000000, 1<<30)
	lockConfig(t, cfg)
	touch(t, filepath.Join(h.dpdkDir, "mz", "mp_socket"), filepath.Join(h.hugeDir, "mzmap_0"))
	rs := Run(h.opts())
	expect(t, rs, "primary", OK, "holds "+cfg)
	expect(t, rs, "dpdk-version", OK, "primary runs DPDK 22.11.11", "this build mirrors DPDK 22.11")
	expect(t, rs, "permissions", OK, "1 hugepage file")
	expect(t, rs, "address-ranges", OK, "free in a fresh process")
	expect(t, rs, "aslr", OK, "randomize_va_space=2")
	expect(t, rs, "abi-version", Warn, "attach disabled")
	expect(t, rs, "cpu-features", OK, "SSE4.2")
	expect(t, rs, "gomaxprocs", OK, "CPU set")
	expect(t, rs, "address-window", Warn, "0x3f0000000000", "below 64 TiB", "0x480000000000")
	writeConfig(t, filepath.Join(h.dpdkDir, "mz"), dpdk.RTE_VERSION, 0x480000000000, 1<<30)
	rs = Run(h.opts())
	expect(t, rs, "address-ranges", OK, "free in a fresh process")
	expect(t, rs, "address-window", OK, "0x480000000000", "above the randomised Go heaps")

	// A range the fresh process has mapped: its own program text (the
	// test binary is linked at 0x400000).
	writeConfig(t, filepath.Join(h.dpdkDir, "mz"), dpdk.RTE_VERSION, 0x400000, 0x1000)
	rs = Run(h.opts())
	expect(t, rs, "address-ranges", Fail, "memseg list 0", "already mapped", "randomize_va_space=0")
	expect(t, rs, "aslr", Warn, "taken in a fresh process")

	// Another DPDK release.
	writeConfig(t, filepath.Join(h.dpdkDir, "mz"), 0x140b0000|0x10, 0, 0)
	rs = Run(h.opts())
	expect(t, rs, "dpdk-version", Fail, "20.11", "-tags dpdk2011")
	expect(t, rs, "abi-version", Warn, "not checked")
	expect(t, rs, "address-ranges", Warn, "not checked")

	// The primary died: its config stays, unlocked (the stale check says so too).
	h2 := newFakeHost(t)
	writeConfig(t, filepath.Join(h2.dpdkDir, "rte"), dpdk.RTE_VERSION, 0, 0)
	rs = Run(h2.opts())
	expect(t, rs, "primary", Fail, "is stale", "mrdoctor -clean")
}

func TestJSON(t *testing.T) {
	rs := []Result{{Check: "a", Status: OK, Detail: "fine"}, {Check: "b", Status: Fail, Detail: "bad", Fix: "do x"}}
	var b bytes.Buffer
	if err := WriteJSON(&b, rs); err != nil {
		t.Fatal(err)
	}
	var got []map[string]string
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || len(got) != 2 || got[1]["fix"] != "do x" || got[0]["status"] != "ok" {
		t.Fatalf("%v %s", err, b.String())
	}
	b.Reset()
	WriteJSON(&b, nil)
	if strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty: %s", b.String())
	}
}

func TestProcLocksAndMounts(t *testing.T) {
	h := newFakeHost(t)
	h.write(t, "/proc/locks", "1: FLOCK  ADVISORY  READ  1234 00:2d:5678 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 77 00:2d:5678 0 EOF\nbogus\n2: OFDLCK ADVISORY  WRITE -1 fd:01:42 0 EOF\n")
	r := &runner{opts: h.opts()}
	locks, err := r.procLocks()
	if err != nil {
		t.Fatal(err)
	}
	if got := locks["0:45:5678"]; len(got) != 2 || got[0] != 1234 || got[1] != 77 {
		t.Errorf("flock: %v (all %v)", got, locks)
	}
	if got := locks["253:1:42"]; len(got) != 1 || got[0] != -1 {
		t.Errorf("ofd: %v", got)
	}
	if got := unescapeMount(`/mnt/huge\040pages`); got != "/mnt/huge pages" {
		t.Errorf("unescape: %q", got)
	}
}
