package testenv

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestpmdOptions configure StartTestpmd. Zero values give a small
// non-interactive io-forwarding primary on two net_null ports.
type TestpmdOptions struct {
	Prefix      string   // --file-prefix; default Prefix(t)
	MemMB       int      // -m; default 256 (0 < MemMB)
	Lcores      string   // -l; default "0-1"
	Vdevs       []string // --vdev; default net_null0, net_null1
	EAL         []string // more EAL arguments (--legacy-mem, --single-file-segments, …)
	HugeDir     string   // --huge-dir (e.g. a PrivateHugeDir); default EAL's, HugepageDir here
	Args        []string // testpmd arguments after "--"; default io forwarding, auto-start
	Interactive bool     // -i: send commands with Cmd
	Ready       string   // output that means ready; default by mode
	Timeout     time.Duration
}

// Testpmd is a running dpdk-testpmd primary started by StartTestpmd.
type Testpmd struct {
	Prefix     string
	RuntimeDir string
	HugeDir    string // where its hugepage files are
	Cmd        *exec.Cmd
	stdin      io.WriteCloser
	out        *syncBuffer
	exited     chan struct{}
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

// StartTestpmd starts dpdk-testpmd as a DPDK primary with --no-pci and its
// own --file-prefix, waits until it is ready and registers a cleanup that
// stops it (by pid: SIGINT, then SIGKILL) and removes its hugepage files and
// runtime directory, also when the test fails. It skips (or fails, see
// RequireAll) without hugepages or without dpdk-testpmd.
func StartTestpmd(t testing.TB, o TestpmdOptions) *Testpmd {
	t.Helper()
	RequireHugepages(t)
	RequireBinary(t, "dpdk-testpmd")
	if o.Prefix == "" {
		o.Prefix = Prefix(t)
	}
	tp, err := LaunchTestpmd(o)
	if tp != nil {
		t.Cleanup(func() {
			if err := tp.Close(); err != nil {
				t.Errorf("%v", err)
			}
			if t.Failed() {
				t.Logf("testpmd output:\n%s", tail(tp.out.String(), 4000))
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// LaunchTestpmd is StartTestpmd for programs that are not tests (mrbench):
// it starts the primary and waits until it is ready; the caller must Close
// it, also when LaunchTestpmd returns an error with a non-nil *Testpmd.
// o.Prefix must be set.
func LaunchTestpmd(o TestpmdOptions) (*Testpmd, error) {
	bin, err := exec.LookPath("dpdk-testpmd")
	if err != nil {
		return nil, fmt.Errorf("dpdk-testpmd not found (run 'make deps' as root): %w", err)
	}
	if o.Prefix == "" {
		return nil, fmt.Errorf("testpmd: no --file-prefix given")
	}
	if o.MemMB == 0 {
		o.MemMB = 256
	}
	if o.Lcores == "" {
		o.Lcores = "0-1"
	}
	if o.Vdevs == nil {
		o.Vdevs = []string{"net_null0", "net_null1"}
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	args := []string{"--no-pci", "--file-prefix", o.Prefix, "-l", o.Lcores, "-m", strconv.Itoa(o.MemMB)}
	for _, v := range o.Vdevs {
		args = append(args, "--vdev", v)
	}
	if o.HugeDir != "" {
		args = append(args, "--huge-dir", o.HugeDir)
	}
	if !slices.ContainsFunc(o.EAL, func(a string) bool { return strings.HasPrefix(a, "--base-virtaddr") }) {
		// EAL's default base (4 GiB) lies in the range where Go 1.26 places
		// its randomised heap (below 64 TiB), so now and then an attaching
		// test process already holds part of it (shm.ErrAddrInUse). Put the
		// primary where mrzcpd puts itself (tools/mrzcpd vaddr.go).
		args = append(args, "--base-virtaddr", "0x480000000000")
	}
	args = append(args, o.EAL...)
	args = append(args, "--", "--no-mlockall")
	if o.Interactive {
		args = append(args, "-i")
		if o.Ready == "" {
			o.Ready = "testpmd> "
		}
	}
	if o.Args == nil && !o.Interactive {
		o.Args = []string{"--forward-mode=io", "--auto-start"}
	}
	args = append(args, o.Args...)
	if o.Ready == "" {
		o.Ready = "Press enter to exit"
		for _, a := range o.Args {
			if strings.HasPrefix(a, "--stats-period") {
				o.Ready = "Port statistics"
			}
		}
	}
	_ = RemovePrefixFilesIn(cmp.Or(o.HugeDir, HugepageDir), o.Prefix) // a previous run with the same pid
	tp := &Testpmd{Prefix: o.Prefix, RuntimeDir: filepath.Join("/var/run/dpdk", o.Prefix), HugeDir: cmp.Or(o.HugeDir, HugepageDir), out: &syncBuffer{}}
	// testpmd's printf output to a pipe is block-buffered while its prompt
	// is written unbuffered: line-buffer it (coreutils' stdbuf) so command
	// output arrives before the next prompt.
	cmd := exec.Command(bin, args...)
	if sb, err := exec.LookPath("stdbuf"); err == nil {
		cmd = exec.Command(sb, append([]string{"-oL", "-eL", bin}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = tp.out, tp.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("testpmd stdin: %w", err)
	}
	tp.stdin, tp.Cmd = stdin, cmd
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	tp.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(o.Timeout)
	for !strings.Contains(tp.out.String(), o.Ready) {
		select {
		case <-exited:
			return tp, fmt.Errorf("dpdk-testpmd %s exited before ready:\n%s", strings.Join(args, " "), tail(tp.out.String(), 4000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return tp, fmt.Errorf("dpdk-testpmd not ready (no %q) after %v:\n%s", o.Ready, o.Timeout, tail(tp.out.String(), 4000))
		}
	}
	return tp, nil
}

// Close stops the primary (SIGINT, then SIGKILL after 10 s; by pid) and
// removes its hugepage files and runtime directory.
func (tp *Testpmd) Close() error {
	tp.stop(tp.exited)
	if err := RemovePrefixFilesIn(tp.HugeDir, tp.Prefix); err != nil {
		return fmt.Errorf("clean up prefix %s: %w", tp.Prefix, err)
	}
	return nil
}

func (tp *Testpmd) stop(exited chan struct{}) {
	_ = tp.stdin.Close()
	_ = tp.Cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
		return
	case <-time.After(10 * time.Second):
	}
	_ = tp.Cmd.Process.Kill()
	<-exited
}

// Kill ends the primary with SIGKILL (no clean-up on its side, as in a
// crash) and waits until it is gone. Its files stay until the test's
// cleanup removes them.
func (tp *Testpmd) Kill() {
	_ = tp.Cmd.Process.Kill()
	<-tp.exited
}

// Pid returns the primary's process id.
func (tp *Testpmd) Pid() int { return tp.Cmd.Process.Pid }

// Output returns everything testpmd printed so far.
func (tp *Testpmd) Output() string { return tp.out.String() }

// Command sends one line to an interactive testpmd and waits until its
// prompt is back at the end of the output and the output has been quiet
// for 100 ms, giving what the command printed.
func (tp *Testpmd) Command(line string, timeout time.Duration) (string, error) {
	start := len(tp.out.String())
	if _, err := io.WriteString(tp.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("testpmd: send %q: %w", line, err)
	}
	deadline := time.Now().Add(timeout)
	last, since := -1, time.Now()
	for {
		s := tp.out.String()[start:]
		if len(s) != last {
			last, since = len(s), time.Now()
		}
		if strings.HasSuffix(s, "testpmd> ") && len(s) > len(line)+len("testpmd> ") && time.Since(since) >= 100*time.Millisecond {
			return strings.TrimSuffix(s, "testpmd> "), nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("testpmd: no prompt after %q within %v", line, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ProcInfo runs dpdk-proc-info (an EAL secondary) against a primary's
// prefix with --no-pci and returns its output.
func ProcInfo(t testing.TB, prefix string, args ...string) string {
	t.Helper()
	bin := RequireBinary(t, "dpdk-proc-info")
	all := append([]string{"--file-prefix", prefix, "--no-pci", "--log-level", "lib.eal:error", "--"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpdk-proc-info %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out)
}
