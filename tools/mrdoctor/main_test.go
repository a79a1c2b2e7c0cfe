package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gomarsio/marsio/internal/doctor"
	"github.com/gomarsio/marsio/internal/testenv"
)

func TestMain(m *testing.M) {
	doctor.ProbeMain()
	testenv.Main(m)
}

func runDoctor(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelp(t *testing.T) {
	_, stderr, err := runDoctor(t, "-h")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"ok, warn or fail", "/var/run/dpdk/<prefix>", "mrmonit.daemon", "examples:", "-clean", "-json", "-file-prefix", "-hugedir", "-run-dir"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"extra"}, {"-clean-prefix", "[x"}} {
		if _, _, err := runDoctor(t, args...); err == nil || errors.Is(err, errFailed) {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// With no daemon in the run dir the daemon check fails: a JSON array of
// {check, status, detail, fix} and errFailed (exit status 1).
func TestJSONNoDaemon(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runDoctor(t, "-json", "-run-dir", dir, "-file-prefix", "gmtest_none_"+fmt.Sprint(os.Getpid()))
	if !errors.Is(err, errFailed) {
		t.Fatalf("err %v, want errFailed", err)
	}
	var rs []map[string]string
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	seen := map[string]map[string]string{}
	for _, r := range rs {
		for _, k := range []string{"check", "status", "detail"} {
			if r[k] == "" {
				t.Errorf("result without %s: %v", k, r)
			}
		}
		seen[r["check"]] = r
	}
	for _, c := range []string{"hugepages-reserved", "hugetlbfs-mounted", "hugepages-free", "stale-runtime-dirs", "stale-hugepage-files",
		"daemon", "primary", "dpdk-version", "abi-version", "permissions", "aslr", "address-ranges", "cpu-features", "gomaxprocs"} {
		if seen[c] == nil {
			t.Errorf("no %s check", c)
		}
	}
	if d := seen["daemon"]; d["status"] != "fail" || !strings.Contains(d["detail"], filepath.Join(dir, "mrmonit.daemon")) || d["fix"] == "" {
		t.Errorf("daemon: %v", d)
	}
}

// Run as an unprivileged user against a live primary: clear fail lines
// saying it lacks permissions, exit status 1, no crash.
func TestNoPermissions(t *testing.T) {
	tp := testenv.StartTestpmd(t, testenv.TestpmdOptions{})
	// t.TempDir's parent is private to root: nobody could not run the binary.
	dir, err := os.MkdirTemp("", "mrdoctor-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "mrdoctor")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-file-prefix", tp.Prefix, "-run-dir", dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	s := string(out)
	for _, want := range []string{
		"fail  primary               cannot open " + tp.RuntimeDir + "/config: permission denied",
		"fail  permissions           uid 65534 cannot",
		"fix: run the application (and mrdoctor) as root",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("crashed:\n%s", s)
	}
}
