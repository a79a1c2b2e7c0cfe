package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/pcapgen"
	"github.com/gomarsio/marsio/internal/pcapio"
	"github.com/gomarsio/marsio/internal/testenv"
)

// e2eDaemon is the mrzcpd the e2e suite starts: its own --file-prefix and
// run dir, its threads on one CPU; stop removes its hugepage files, runtime
// dir and run dir, also after a failure.
type e2eDaemon struct {
	prefix string
	runDir string
	cmd    *exec.Cmd
	log    syncBuf
	exited chan struct{}
}

// e2eConfig: a net_pcap port replaying IPv4 TCP/UDP traffic forever
// (infinite_rx; no tx_pcap, so what is sent is dropped by the PMD), vdev
// vxe0 with one rx and one tx stream of 4096 slots, polled only while an
// app has it open. The daemon's worker moves bursts of 64.
const e2eConfig = `[eal]
lcores=%d
memory=256

[service]
workers=1
burst=64

[pool:MZ0]
size=16383
cache=256
data_room=2176

[port:pcap0]
devargs="net_pcap0,rx_pcap=%s,infinite_rx=1"

[vdev:vxe0]
port=pcap0
rx_streams_max=1
tx_streams_max=1
ring_size=4096
apps=*
hold_rx=1
`

// startE2EDaemon builds tools/mrzcpd (or takes $MRZCPD_BIN), writes the
// traffic and the config, and starts the daemon pinned to cpu.
func startE2EDaemon(root, tmp string, cpu int, progress func(string, ...any)) (*e2eDaemon, error) {
	return startBenchDaemon(root, tmp, cpu, "e2e", e2eConfig, progress)
}

// startBenchDaemon is startE2EDaemon with a config template of the same
// shape (its %d the daemon's CPU, its %s the pcap) and file prefix
// gmbench_<tag>_<pid>.
func startBenchDaemon(root, tmp string, cpu int, tag, config string, progress func(string, ...any)) (*e2eDaemon, error) {
	bin := os.Getenv("MRZCPD_BIN")
	if bin == "" {
		bin = filepath.Join(tmp, "mrzcpd")
		progress("building tools/mrzcpd")
		cmd := exec.Command("go", "build", "-o", bin, "./tools/mrzcpd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build tools/mrzcpd: %w\n%s", err, out)
		}
	}
	d := &e2eDaemon{prefix: fmt.Sprintf("gmbench_%s_%d", tag, os.Getpid()), runDir: filepath.Join(tmp, "run"),
		exited: make(chan struct{})}
	if err := os.MkdirAll(d.runDir, 0o755); err != nil {
		return nil, err
	}
	pcap := filepath.Join(d.runDir, "e2e.pcap")
	if err := writeE2EPcap(pcap); err != nil {
		return nil, err
	}
	conf := filepath.Join(d.runDir, "mrglobal.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, config, cpu, pcap), 0o644); err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, "-config", conf, "-run-dir", d.runDir, "-file-prefix", d.prefix)
	d.cmd.Stdout, d.cmd.Stderr = &d.log, &d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	progress("starting mrzcpd on CPU %d (--file-prefix %s)", cpu, d.prefix)
	waited, err := startPinned(d.cmd, cpu)
	if err != nil {
		d.cleanup()
		return nil, fmt.Errorf("start mrzcpd: %w", err)
	}
	go func() { <-waited; close(d.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-d.exited:
			d.cleanup()
			return nil, fmt.Errorf("mrzcpd exited during start-up: %v\n%s", d.cmd.ProcessState, tailLines(d.log.String(), 20))
		default:
		}
		if st, err := monit.ReadDaemon(monit.DaemonPath(d.runDir)); err == nil && st.General.Pid == d.cmd.Process.Pid {
			return d, nil
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("mrzcpd not ready after 30s\n%s", tailLines(d.log.String(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeE2EPcap writes 1024 IPv4 TCP/UDP/SCTP packets of 64 flows.
func writeE2EPcap(path string) error {
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 1, Flows: 64, Packets: 1024, Mix: []pcapgen.Kind{pcapgen.Plain4}})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := pcapio.NewWriter(&buf)
	if err != nil {
		return err
	}
	ts := time.Unix(1700000000, 0)
	for i, p := range pkts {
		if err := w.WritePacket(ts.Add(time.Duration(i)*time.Microsecond), p.Data, len(p.Data)); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// stop ends the daemon (SIGTERM, SIGKILL after 10 s) and cleans up.
func (d *e2eDaemon) stop() {
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
	}
	d.cleanup()
}

func (d *e2eDaemon) cleanup() {
	testenv.RemovePrefixFiles(d.prefix)
	os.RemoveAll(d.runDir)
}

// startPinned starts cmd from a thread pinned to cpu: the child inherits
// that CPU set (fork copies the forking thread's affinity). The thread
// stays alive, in cmd.Wait, until the child exits (Pdeathsig fires when
// the parent *thread* dies), then is thrown away (its goroutine exits
// locked). The returned channel delivers cmd.Wait's error.
func startPinned(cmd *exec.Cmd, cpu int) (<-chan error, error) {
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the pinned thread dies with the goroutine
		if cpu >= 0 {
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				started <- fmt.Errorf("pin to CPU %d: %w", cpu, err)
				return
			}
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}

// syncBuf collects a child's output (written by exec's copying goroutines).
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
