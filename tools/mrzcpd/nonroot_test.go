package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

// throwawayAccount creates a system group and a user in it (or, with
// inGroup false, a user with its own group only) with unique names and
// removes both in t.Cleanup. It returns uid, primary gid, the group's gid.
func throwawayAccount(t *testing.T, group string, inGroup bool) (uid, gid int) {
	t.Helper()
	name := fmt.Sprintf("gmu%d%s", os.Getpid()%100000, map[bool]string{true: "i", false: "o"}[inGroup])
	args := []string{"--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"}
	if inGroup {
		args = []string{"--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "-g", group}
	}
	if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
		if !inGroup {
			exec.Command("groupdel", name).Run() // userdel usually removed it
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// flowcountBinary builds examples/flowcount (CGO_ENABLED=0) into a
// directory every user can read.
func flowcountBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "flowcount")
	cmd := exec.Command(goCmd(), "build", "-o", path, "github.com/gomarsio/marsio/examples/flowcount")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build flowcount: %v\n%s", err, out)
	}
	return path
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// runAs runs the binary as uid with primary group gid (and only it).
func runAs(bin string, uid, gid int, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/tmp"}, env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}}
	return cmd.CombinedOutput()
}

const groupConfig = `
[eal]
[service]
app_group=${GROUP}
[pool:MZ0]
size=8191
cache=0
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,infinite_rx=1
[vdev:vxe0]
port=p0
rx_streams_max=4
tx_streams_max=4
`

// TestNonRootApp: with [service] app_group, an application run by a
// non-root member of the group attaches (pure Go), opens vxe0 and receives
// packets (examples/flowcount); a non-root user outside the group gets
// ErrDenied naming the permission problem and the group. The hugepage files
// (the [eal] has no memory=: the heap grows on demand, so later files come
// through the memory event callback) end up 0660 in the group.
func TestNonRootApp(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tool := range []string{"useradd", "userdel", "groupadd", "groupdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s not found (apt-get install passwd)", tool)
		}
	}
	group := fmt.Sprintf("gmg%d", os.Getpid()%100000)
	if out, err := exec.Command("groupadd", "--system", group).CombinedOutput(); err != nil {
		t.Fatalf("groupadd %s: %v\n%s", group, err, out)
	}
	// Registered first, so it runs after the users' removal.
	t.Cleanup(func() {
		if out, err := exec.Command("groupdel", group).CombinedOutput(); err != nil {
			t.Errorf("groupdel %s: %v\n%s", group, err, out)
		}
	})
	inUID, inGID := throwawayAccount(t, group, true)
	outUID, outGID := throwawayAccount(t, group, false)
	bin := flowcountBinary(t)

	_, in := genPcap(t, 20, 200)
	d := daemontest.Start(t, daemontest.Options{Config: strings.ReplaceAll(groupConfig, "${GROUP}", group),
		Files: map[string][]byte{"in.pcap": in}, Args: []string{"-status-interval", "100ms"}})
	if g := d.Status(t).General.AppGroup; g != group {
		t.Errorf("status app_group %q, want %q", g, group)
	}
	env := []string{"GOMARSIO_STATUS_DIR=" + d.RunDir}

	out, err := runAs(bin, inUID, inGID, env, "-dev", "vxe0", "-duration", "1500ms")
	if err != nil {
		t.Fatalf("flowcount as uid %d (group %s): %v\n%s", inUID, group, err, out)
	}
	m := regexp.MustCompile(`total: (\d+) packets`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("flowcount output without a total:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n == 0 {
		t.Fatalf("non-root member of %s received no packets:\n%s", group, out)
	} else {
		t.Logf("non-root app (uid %d, group %s) received %d packets in 1.5 s", inUID, group, n)
	}

	out, err = runAs(bin, outUID, outGID, env, "-dev", "vxe0", "-duration", "500ms")
	if err == nil {
		t.Fatalf("flowcount as uid %d outside %s succeeded:\n%s", outUID, group, out)
	}
	for _, want := range []string{"permission denied", group, "app_group"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error of a user outside the group does not name %q:\n%s", want, out)
		}
	}
	t.Logf("outside the group: %s", strings.TrimSpace(string(out)))

	files := testenv.HugepageFiles(d.Prefix)
	if len(files) == 0 {
		t.Fatal("no hugepage files")
	}
	grp, _ := user.LookupGroup(group)
	for _, f := range files {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		if strconv.Itoa(int(st.Gid)) != grp.Gid || st.Mode&0o060 != 0o060 {
			t.Errorf("%s: gid %d mode %o, want group %s rw", f, st.Gid, st.Mode&0o777, group)
		}
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`app_group \S+: \d+ hugepage files.*`).FindString(d.Log()); m != "" {
		t.Log(m)
	}
}
