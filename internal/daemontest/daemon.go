// Package daemontest starts a real mrzcpd for tests and provides a minimal
// application client written directly against shm, ctrlproto and fastpath.
//
// Starting a daemon:
//
//	d := daemontest.Start(t, daemontest.Options{
//		Config: `
//	[port:p0]
//	devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,tx_pcap=${RUN_DIR}/out.pcap
//	[vdev:vxe0]
//	port=p0
//	hold_rx=1
//	`})
//	st := d.Status(t) // mrmonit.daemon, parsed
//	c, err := daemontest.Register(d.Prefix, "app1", 1, 256)
//
// Start builds tools/mrzcpd once per test binary (or uses $MRZCPD_BIN),
// writes the config into a private run dir (${RUN_DIR} in the config text
// is replaced by it; Options.Files are written there first), starts the
// daemon with its own --file-prefix (gmtest_<test>_<pid>) and run dir, and
// waits until its status file shows it ready. t.Cleanup stops it with
// SIGTERM (SIGKILL after a grace period), by pid, and removes its hugepage
// files, runtime dir and run dir, also when the test failed. Without
// hugepages, root or DPDK the test is skipped with a message saying what
// is missing (a failure under GOMARSIO_REQUIRE_ALL=1).
//
// Clients: Register/Client/Vdev (client.go) are a minimal application on
// shm + ctrlproto + fastpath: register (with the liveness socketpair), open
// a vdev (eventfds beyond 8 fetched with vdev_instance_fds), dequeue and
// enqueue mbufs on the stream rings, wait with the sleeping-flag protocol,
// close, deregister, and raw requests for bad-input tests. TestApp builds
// internal/daemontest/testapp, the same client as a separate process
// (forward / hold / bench / waitgone / flood / halfget / halfput modes) for
// kill -9 tests.
package daemontest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/testenv"
)

// Options configure Start.
type Options struct {
	// Config is the global config text; ${RUN_DIR} is replaced by the run
	// dir. Empty: the daemon's embedded default config (-default-config).
	Config string
	// Files are written into the run dir before the daemon starts (pcaps).
	Files map[string][]byte
	// Args are extra mrzcpd flags.
	Args []string
	// Env is added to the daemon's environment.
	Env []string
	// Prefix overrides the --file-prefix (default testenv.Prefix(t)).
	Prefix string
	// StartTimeout bounds the wait for the status file (default 30 s).
	StartTimeout time.Duration
	// ExpectFail: Start returns once the daemon exits (with its error in
	// Log) instead of failing the test.
	ExpectFail bool
	// RunDir reuses an existing run dir (a restarted daemon: same status
	// files and config); empty makes a new one.
	RunDir string
}

// Daemon is a running mrzcpd.
type Daemon struct {
	Prefix     string // --file-prefix
	RunDir     string // status files, config, pcaps
	ConfigPath string // "" for the embedded config
	RuntimeDir string // EAL runtime dir, from the status file
	Cmd        *exec.Cmd
	out        *syncBuffer
	exited     chan struct{}
	exitErr    error
	stopOnce   sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the mrzcpd binary: $MRZCPD_BIN, or tools/mrzcpd built
// once per test process into a temporary directory.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MRZCPD_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		if _, err := exec.LookPath("pkg-config"); err != nil {
			buildErr = fmt.Errorf("pkg-config not found: %w (run `make deps`)", err)
			return
		}
		if err := exec.Command("pkg-config", "--exists", "libdpdk").Run(); err != nil {
			buildErr = fmt.Errorf("libdpdk not found by pkg-config (run `make deps`)")
			return
		}
		dir, err := os.MkdirTemp("", "mrzcpd-build")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "mrzcpd")
		cmd := exec.Command(goTool(), "build", "-o", buildPath, "github.com/gomarsio/marsio/tools/mrzcpd")
		if tags := os.Getenv("MRZCPD_BUILD_TAGS"); tags != "" {
			cmd.Args = append(cmd.Args[:2], append([]string{"-tags", tags}, cmd.Args[2:]...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build tools/mrzcpd: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		if strings.Contains(buildErr.Error(), "make deps") {
			testenv.Skip(t, "mrzcpd: %v", buildErr)
		}
		t.Fatalf("%v", buildErr)
	}
	return buildPath
}

// goTool returns the go command: from $PATH, else /usr/local/go/bin/go.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

var (
	appOnce sync.Once
	appPath string
	appErr  error
)

// TestApp returns internal/daemontest/testapp (a pure-Go application, see
// its doc), built once per test process (CGO_ENABLED=0).
func TestApp(t testing.TB) string {
	t.Helper()
	appOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mrzcpd-testapp")
		if err != nil {
			appErr = err
			return
		}
		appPath = filepath.Join(dir, "testapp")
		cmd := exec.Command(goTool(), "build", "-o", appPath, "github.com/gomarsio/marsio/internal/daemontest/testapp")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			appErr = fmt.Errorf("build testapp: %v\n%s", err, out)
		}
	})
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appPath
}

// Start starts mrzcpd for the test; see the package doc.
func Start(t testing.TB, o Options) *Daemon {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireHugepages(t)
	bin := Binary(t)
	d := &Daemon{Prefix: o.Prefix, exited: make(chan struct{}), out: &syncBuffer{}}
	if d.Prefix == "" {
		d.Prefix = testenv.Prefix(t)
	}
	var err error
	if d.RunDir = o.RunDir; d.RunDir == "" {
		if d.RunDir, err = os.MkdirTemp("", "mrzcpd-run-"); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(d.RunDir, 0o755)
	for name, data := range o.Files {
		if err := os.WriteFile(filepath.Join(d.RunDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-run-dir", d.RunDir, "-file-prefix", d.Prefix}
	if o.Config == "" {
		args = append(args, "-default-config")
	} else {
		d.ConfigPath = filepath.Join(d.RunDir, "mrglobal.conf")
		text := strings.ReplaceAll(o.Config, "${RUN_DIR}", d.RunDir)
		if err := os.WriteFile(d.ConfigPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-config", d.ConfigPath)
	}
	args = append(args, o.Args...)
	d.Cmd = exec.Command(bin, args...)
	d.Cmd.Stdout, d.Cmd.Stderr = d.out, d.out
	d.Cmd.Env = append(os.Environ(), o.Env...)
	d.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Pdeathsig follows the forking *thread*, and Go throws a thread away
	// when a goroutine that locked it exits (tests do: runInNetns, any
	// ThreadInit without Release): forked from whatever thread the test
	// runs on, the daemon was killed mid-test now and then. Fork from a
	// thread of its own that lives until the daemon exits.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: discarded after the daemon
		if err := d.Cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.exitErr = d.Cmd.Wait()
		close(d.exited)
	}()
	if err := <-started; err != nil {
		t.Fatalf("start mrzcpd: %v", err)
	}
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() || testing.Verbose() {
			t.Logf("mrzcpd log (%s):\n%s", d.Prefix, tail(d.Log(), 60))
		}
		testenv.RemovePrefixFiles(d.Prefix)
		os.RemoveAll(d.RunDir)
	})
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-d.exited:
			if o.ExpectFail {
				return d
			}
			t.Fatalf("mrzcpd exited during start-up: %v\n%s", d.exitErr, tail(d.Log(), 40))
		default:
		}
		if st, err := monit.ReadDaemon(d.StatusPath()); err == nil && st.General.Pid == d.Pid() {
			d.RuntimeDir = st.General.RuntimeDir
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("mrzcpd not ready after %v\n%s", timeout, tail(d.Log(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Pid returns the daemon's pid.
func (d *Daemon) Pid() int { return d.Cmd.Process.Pid }

// Log returns everything the daemon printed so far.
func (d *Daemon) Log() string { return d.out.String() }

// StatusPath is the daemon's mrmonit.daemon.
func (d *Daemon) StatusPath() string { return monit.DaemonPath(d.RunDir) }

// Path returns a file name in the run dir.
func (d *Daemon) Path(name string) string { return filepath.Join(d.RunDir, name) }

// Exited is closed when the daemon process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// ExitErr is the daemon's exit status once Exited is closed.
func (d *Daemon) ExitErr() error { return d.exitErr }

// Status reads the daemon's status file, failing the test on error.
func (d *Daemon) Status(t testing.TB) *monit.Daemon {
	t.Helper()
	st, err := monit.ReadDaemon(d.StatusPath())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

// WaitStatus polls the status file until cond holds or timeout passes (the
// daemon rewrites it every second), and returns the last status read.
func (d *Daemon) WaitStatus(t testing.TB, timeout time.Duration, cond func(*monit.Daemon) bool) (*monit.Daemon, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st *monit.Daemon
	for {
		s, err := monit.ReadDaemon(d.StatusPath())
		if err == nil {
			st = s
			if cond(s) {
				return s, true
			}
		}
		if time.Now().After(deadline) {
			return st, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits (SIGKILL after 10 s); it returns the
// daemon's exit error. Safe to call more than once.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		d.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			d.Cmd.Process.Kill()
			<-d.exited
		}
	})
	<-d.exited
	var ee *exec.ExitError
	if errors.As(d.exitErr, &ee) {
		return fmt.Errorf("mrzcpd: %w", d.exitErr)
	}
	return d.exitErr
}

// Kill kills the daemon with SIGKILL (no clean-up of its own; Start's
// t.Cleanup still removes its files).
func (d *Daemon) Kill() {
	d.stopOnce.Do(func() {
		d.Cmd.Process.Kill()
		<-d.exited
	})
	<-d.exited
}
