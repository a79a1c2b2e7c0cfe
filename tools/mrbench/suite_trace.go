package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/internal/trace"
	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/zz_generated/abi"
)

func init() {
	register(Suite{Name: "trace", Doc: "cost of the data-path trace on the e2e Go app (marsio RecvBurst/SendBurst, burst 32): the normal build with tracing off, on for every packet and on for 1/64, each run beside a -tags notrace build on the same CPU", Run: runTrace})
}

// The trace suite runs the e2e suite's Go application (e2eGoApp) from two
// builds of mrbench: one with -tags notrace (the library's hooks compiled
// out) and the normal one, with the vdev's tracing off, on with a filter
// matching every packet (sample 1) and on sampling 1/64. The daemon has
// two identical vdevs (two net_pcap ports replaying the same traffic, one
// worker); each measurement runs the notrace app and one variant at the
// same time, both pinned to the same CPU, one per vdev (sides swapped
// every repetition): whatever the machine does to one it does to the
// other, and each app counts its own thread's CPU time per packet. The
// figure is the median over repetitions of the variant's difference to
// the notrace app it ran beside. A controller child (pure-Go attach, as
// mrtrace) switches the trace per vdev and drains every ring each
// millisecond, counting events and lost ones.

// traceCtlEnv, set to the daemon's file prefix, makes mrbench the trace
// controller child: it answers "on DEVSYM N", "off DEVSYM" and "stats"
// lines on stdin.
const traceCtlEnv = "MRBENCH_TRACE_CTL"

// Tests lower these.
var (
	traceMinReps = 7
	traceDur     = 400 * time.Millisecond
	traceBursts  = []int{32}
)

// A trace variant of the normal build: the vdev's trace state.
type traceVariant struct {
	id, label string
	sample    uint32 // 0: tracing off
}

var traceVariants = []traceVariant{
	{"off", "tracing off", 0},
	{"on1", "on, every packet", 1},
	{"on64", "on, 1/64", 64},
}

// traceVdevs are the daemon's two vdevs (traceConfig).
var traceVdevs = [2]string{"vxe0", "vxe1"}

// traceStats is what the controller counted while a variant ran.
type traceStats struct {
	Events uint64 `json:"events"` // read from the rings
	Lost   uint64 `json:"lost"`   // dropped by writers on a full ring
}

// tracePair is one measurement: the notrace app and a variant side by side.
type tracePair struct{ base, v e2eSample }

// traceConfig: the e2e suite's port and vdev (e2eConfig) twice.
const traceConfig = `[eal]
lcores=%d
memory=512

[service]
workers=1
burst=64

[pool:MZ0]
size=32767
cache=256
data_room=2176

[port:pcap0]
devargs="net_pcap0,rx_pcap=%[2]s,infinite_rx=1"

[port:pcap1]
devargs="net_pcap1,rx_pcap=%[2]s,infinite_rx=1"

[vdev:vxe0]
port=pcap0
rx_streams_max=1
tx_streams_max=1
ring_size=4096
apps=*
hold_rx=1

[vdev:vxe1]
port=pcap1
rx_streams_max=1
tx_streams_max=1
ring_size=4096
apps=*
hold_rx=1
`

func runTrace(env *Env) ([]Result, error) {
	progress := func(format string, a ...any) { fmt.Fprintf(env.Progress, "  trace: "+format+"\n", a...) }
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("find the module (the trace suite builds tools/mrbench twice): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	tmp, err := os.MkdirTemp("", "mrbench-trace")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bins := map[bool]string{false: filepath.Join(tmp, "mrbench"), true: filepath.Join(tmp, "mrbench-notrace")}
	for _, nt := range []bool{true, false} {
		args := []string{"build", "-o", bins[nt]}
		if nt {
			args = append(args, "-tags", "notrace")
		}
		progress("go %s ./tools/mrbench", strings.Join(args, " "))
		cmd := exec.Command("go", append(args, "./tools/mrbench")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build tools/mrbench: %w\n%s", err, out)
		}
	}
	appCPU, daemonCPU := env.CPU, 0
	switch {
	case runtime.NumCPU() < 2:
		appCPU, daemonCPU = 0, -1
	case appCPU < 0:
		appCPU = runtime.NumCPU() - 1
	case appCPU == 0:
		daemonCPU = 1
	}
	d, err := startTraceDaemon(root, tmp, daemonCPU, progress)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	ctl, err := openTraceCtl(bins[false], d.prefix)
	if err != nil {
		return nil, err
	}
	defer ctl.close()
	spec := e2eSpec{Impl: implGo, Prefix: d.prefix, StatusDir: d.runDir, CPU: appCPU,
		Bursts: traceBursts, Warm: 100 * time.Millisecond, Dur: max(2*env.Min, traceDur), Sleep: 20 * time.Microsecond}
	reps := max(env.Reps, traceMinReps)
	progress("apps on CPU %d (two at a time: notrace beside a variant), daemon on CPU %d; %d reps × %d variants × %d bursts × (%v warm-up + %v)",
		appCPU, daemonCPU, reps, len(traceVariants), len(spec.Bursts), spec.Warm, spec.Dur)
	pairs := map[string]map[int][]tracePair{} // [variant][burst]
	evs := map[string]*traceStats{}
	for _, v := range traceVariants {
		pairs[v.id] = map[int][]tracePair{}
		evs[v.id] = &traceStats{}
	}
	for rep := 0; rep < reps; rep++ {
		for k := range traceVariants {
			v := traceVariants[(k+rep)%len(traceVariants)] // rotated: no variant always first
			side := (rep + k) % 2                          // the variant's vdev; notrace gets the other
			vdev, bvdev := traceVdevs[side], traceVdevs[1-side]
			cmd := "off " + vdev
			if v.sample > 0 {
				cmd = fmt.Sprintf("on %s %d", vdev, v.sample)
			}
			for _, c := range []string{"off " + bvdev, cmd, "stats"} { // stats: reset the counts
				if _, err := ctl.do(c); err != nil {
					return nil, err
				}
			}
			var phases [2][]e2ePhase
			var errs [2]error
			var wg sync.WaitGroup
			for i, nt := range []bool{true, false} {
				sp := spec
				sp.Devsym, sp.Appsym = bvdev, "mrbench_trace_notrace"
				if !nt {
					sp.Devsym, sp.Appsym = vdev, "mrbench_trace_"+v.id
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					phases[i], _, errs[i] = runE2EChild(bins[nt], &sp, d, nil, env.Progress)
				}()
			}
			wg.Wait()
			if err := errors.Join(errs[:]...); err != nil {
				return nil, fmt.Errorf("%s beside notrace: %w", v.label, err)
			}
			st, err := ctl.do("stats")
			if err != nil {
				return nil, err
			}
			evs[v.id].Events += st.Events
			evs[v.id].Lost += st.Lost
			var line []string
			for j, ph := range phases[1] {
				if j >= len(phases[0]) || phases[0][j].Burst != ph.Burst {
					continue
				}
				p := tracePair{base: newE2ESample(phases[0][j].Stats), v: newE2ESample(ph.Stats)}
				pairs[v.id][ph.Burst] = append(pairs[v.id][ph.Burst], p)
				line = append(line, fmt.Sprintf("b%d %.1f vs notrace %.1f ns/pkt (%.2f / %.2f Mpps wall)", ph.Burst, p.v.busyNs, p.base.busyNs, p.v.wallMpps, p.base.wallMpps))
			}
			progress("rep %d/%d %-17s on %s %s; trace events %d, lost %d", rep+1, reps, v.label, vdev, strings.Join(line, ", "), st.Events, st.Lost)
		}
	}
	for _, vd := range traceVdevs {
		if _, err := ctl.do("off " + vd); err != nil {
			return nil, err
		}
	}
	return traceResults(env.Progress, pairs, evs), nil
}

// traceResults prints the table and makes the rows: per variant and
// burst, the median ns/packet and Mpps of the variant and of the notrace
// apps beside it, and the median, min and max over repetitions of the
// variant's difference to its notrace neighbour.
func traceResults(w io.Writer, pairs map[string]map[int][]tracePair, evs map[string]*traceStats) []Result {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "trace\tburst\tns/pkt (CPU, median)\tnotrace beside it\tMpps wall\tnotrace\tvs notrace (median of pairs)\tpairs p25..p75\tpairs min..max\tpairs\ttrace events\tlost\t\n")
	var res []Result
	for _, b := range traceBursts {
		for _, v := range traceVariants {
			var ns, bns, mpps, bmpps, diffs []float64
			for _, p := range pairs[v.id][b] {
				if p.v.busyNs <= 0 || p.base.busyNs <= 0 {
					continue
				}
				ns, bns = append(ns, p.v.busyNs), append(bns, p.base.busyNs)
				mpps, bmpps = append(mpps, p.v.wallMpps), append(bmpps, p.base.wallMpps)
				diffs = append(diffs, 100*(p.v.busyNs/p.base.busyNs-1))
			}
			if len(diffs) == 0 {
				continue
			}
			mdiff := median(diffs)
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%+.1f%%\t%+.1f..%+.1f%%\t%+.1f..%+.1f%%\t%d\t%d\t%d\t\n", v.label, b, median(ns), median(bns),
				median(mpps), median(bmpps), mdiff, quantile(diffs, 0.25), quantile(diffs, 0.75), slices.Min(diffs), slices.Max(diffs), len(diffs), evs[v.id].Events, evs[v.id].Lost)
			res = append(res, Result{Suite: "trace", Case: fmt.Sprintf("go marsio, burst %d, %s (ns/packet; c = notrace build beside it)", b, v.label),
				GoNs: median(ns), CNs: median(bns), Ratio: 1 + mdiff/100, GoMpps: median(mpps), CMpps: median(bmpps)})
		}
	}
	tw.Flush()
	return res
}

// startTraceDaemon is startE2EDaemon with traceConfig (two vdevs).
func startTraceDaemon(root, tmp string, cpu int, progress func(string, ...any)) (*e2eDaemon, error) {
	return startBenchDaemon(root, tmp, cpu, "trace", traceConfig, progress)
}

// quantile returns the q-quantile of xs (nearest rank; 0 for none).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// median of xs (0 for none); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// traceCtl is the controller child, seen from the parent.
type traceCtl struct {
	cmd    *exec.Cmd
	exited <-chan error
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *syncBuf
}

// openTraceCtl starts bin as the controller child for the daemon behind
// prefix.
func openTraceCtl(bin, prefix string) (*traceCtl, error) {
	c := &traceCtl{cmd: exec.Command(bin), stderr: &syncBuf{}}
	c.cmd.Env = append(os.Environ(), traceCtlEnv+"="+prefix)
	c.cmd.Stderr = c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// From a thread of its own that lives until the child exits
	// (Pdeathsig follows the forking thread, see startPinned).
	if c.exited, err = startPinned(c.cmd, -1); err != nil {
		return nil, fmt.Errorf("trace controller: %w", err)
	}
	c.out = bufio.NewScanner(out)
	if _, err := c.do("stats"); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// do sends one command and reads its reply (the counts for "stats").
func (c *traceCtl) do(cmd string) (traceStats, error) {
	var st traceStats
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return st, fmt.Errorf("trace controller: %s: %w: %s", cmd, err, strings.TrimSpace(c.stderr.String()))
	}
	if !c.out.Scan() {
		return st, fmt.Errorf("trace controller: %s: no reply: %s", cmd, strings.TrimSpace(c.stderr.String()))
	}
	if err := json.Unmarshal(c.out.Bytes(), &st); err != nil {
		return st, fmt.Errorf("trace controller: %s: reply %q: %w", cmd, c.out.Text(), err)
	}
	return st, nil
}

func (c *traceCtl) close() {
	c.in.Close()
	<-c.exited
}

func init() {
	arg := os.Getenv(traceCtlEnv)
	if arg == "" {
		return
	}
	if err := traceCtlChild(arg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mrbench trace controller:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// traceCtlChild attaches to the daemon behind prefix (pure Go, as
// mrtrace), drains every trace ring each millisecond and runs the
// commands of in: "on DEVSYM N" (every packet of the vdev, sample N),
// "off DEVSYM", "stats" (events read and lost since the last stats).
// Each command gets one JSON line.
func traceCtlChild(prefix string, in io.Reader, out io.Writer) error {
	h, err := shm.Attach(shm.Options{FilePrefix: prefix, NoIPC: true})
	if err != nil {
		return fmt.Errorf("attach to the daemon's memory: %w", err)
	}
	defer h.Detach()
	mz, err := h.Memzone(trace.Memzone)
	if err != nil {
		return fmt.Errorf("memzone %s: %w", trace.Memzone, err)
	}
	a, err := trace.Attach(unsafe.Slice((*byte)(ptrOfAddr(mz.Addr)), mz.Len))
	if err != nil {
		return err
	}
	rz, err := h.Memzone(abi.MR_ROOT_MEMZONE)
	if err != nil {
		return fmt.Errorf("root memzone: %w", err)
	}
	r := (*abi.Root)(ptrOfAddr(rz.Addr))
	control := func(devsym string) (*trace.Control, error) {
		for i := 0; i < int(r.NrVdevs) && i < len(r.Vdevs); i++ {
			if name, _, _ := bytes.Cut(r.Vdevs[i].Devsym[:], []byte{0}); string(name) == devsym {
				if c := a.Control(i); c != nil {
					return c, nil
				}
			}
		}
		return nil, fmt.Errorf("no vdev %s with a trace control", devsym)
	}
	var used []*trace.Control
	var events atomic.Uint64
	lost0 := make([]uint64, a.Rings())
	for k := range lost0 {
		lost0[k] = a.Lost(k)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the rings' single reader
		defer wg.Done()
		var buf []trace.Record
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			for k := 0; k < a.Rings(); k++ {
				buf = a.Read(k, buf[:0])
				events.Add(uint64(len(buf)))
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	enc := json.NewEncoder(out)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "on":
			c, err := control(f[1])
			if err != nil {
				return err
			}
			n, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				return fmt.Errorf("sample %q: %w", f[2], err)
			}
			c.Set(trace.Filter{}, uint32(n))
			used = append(used, c)
		case len(f) == 2 && f[0] == "off":
			c, err := control(f[1])
			if err != nil {
				return err
			}
			c.Off()
		case len(f) == 1 && f[0] == "stats":
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
		var st traceStats
		if len(f) == 1 && f[0] == "stats" {
			st.Events = events.Swap(0)
			for k := range lost0 {
				l := a.Lost(k)
				st.Lost += l - lost0[k]
				lost0[k] = l
			}
		}
		if err := enc.Encode(st); err != nil {
			return err
		}
	}
	for _, c := range used {
		c.Off()
	}
	return sc.Err()
}

// ptrOfAddr turns an address in the daemon's shared memory (not Go heap)
// into a pointer.
func ptrOfAddr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
