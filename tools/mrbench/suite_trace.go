package main

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	register(Suite{Name: "trace", Doc: "cost of the data-path trace on the e2e Go app (marsio RecvBurst/SendBurst, burst 32): a -tags notrace build vs the normal build with tracing off, on for every packet and on for 1/64, interleaved", Run: runTrace})
}

// The trace suite runs the e2e suite's Go application (e2eGoApp) from two
// builds of mrbench: one with -tags notrace (the library's hooks compiled
// out) and the normal one. The normal build runs with the vdev's tracing
// off, on with a filter matching every packet (sample 1) and on sampling
// 1/64; a controller child (pure-Go attach, as mrtrace) switches the trace
// and drains every ring each millisecond, counting events and lost ones.
// Every repetition runs all variants in a rotated order, so machine noise
// hits them alike; the figure is the median over repetitions of each
// variant's difference to the notrace run of the same repetition.

// traceCtlEnv, set to "<file prefix> <devsym>", makes mrbench the trace
// controller child: it answers "on N", "off" and "stats" lines on stdin.
const traceCtlEnv = "MRBENCH_TRACE_CTL"

// Tests lower these.
var (
	traceMinReps = 7
	traceDur     = 400 * time.Millisecond
	traceBursts  = []int{32}
)

// A trace variant: which build, and the vdev's trace state.
type traceVariant struct {
	id, label string
	notrace   bool
	sample    uint32 // 0: tracing off
}

var traceVariants = []traceVariant{
	{"notrace", "notrace build", true, 0},
	{"off", "tracing off", false, 0},
	{"on1", "on, every packet", false, 1},
	{"on64", "on, 1/64", false, 64},
}

// traceStats is what the controller counted while a variant ran.
type traceStats struct {
	Events uint64 `json:"events"` // read from the rings
	Lost   uint64 `json:"lost"`   // dropped by writers on a full ring
}

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
	for nt, bin := range bins {
		args := []string{"build", "-o", bin}
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
	d, err := startE2EDaemon(root, tmp, daemonCPU, progress)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	ctl, err := openTraceCtl(bins[false], d.prefix, "vxe0")
	if err != nil {
		return nil, err
	}
	defer ctl.close()
	spec := e2eSpec{Impl: implGo, Prefix: d.prefix, StatusDir: d.runDir, Devsym: "vxe0", CPU: appCPU,
		Bursts: traceBursts, Warm: 100 * time.Millisecond, Dur: max(2*env.Min, traceDur), Sleep: 20 * time.Microsecond}
	reps := max(env.Reps, traceMinReps)
	progress("app on CPU %d, daemon on CPU %d; %d reps × %d variants × %d bursts × (%v warm-up + %v)",
		appCPU, daemonCPU, reps, len(traceVariants), len(spec.Bursts), spec.Warm, spec.Dur)
	// samples[variant][burst][rep]
	samples := map[string]map[int][]e2eSample{}
	evs := map[string]*traceStats{}
	for _, v := range traceVariants {
		samples[v.id] = map[int][]e2eSample{}
		evs[v.id] = &traceStats{}
	}
	for rep := 0; rep < reps; rep++ {
		for k := range traceVariants {
			v := traceVariants[(k+rep)%len(traceVariants)] // rotated: no variant always first
			cmd := "off"
			if v.sample > 0 {
				cmd = fmt.Sprintf("on %d", v.sample)
			}
			if _, err := ctl.do(cmd); err != nil {
				return nil, err
			}
			if _, err := ctl.do("stats"); err != nil { // reset the counts
				return nil, err
			}
			sp := spec
			sp.Appsym = "mrbench_trace_" + v.id
			phases, _, err := runE2EChild(bins[v.notrace], &sp, d, nil, env.Progress)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.label, err)
			}
			st, err := ctl.do("stats")
			if err != nil {
				return nil, err
			}
			evs[v.id].Events += st.Events
			evs[v.id].Lost += st.Lost
			var line []string
			for _, ph := range phases {
				s := newE2ESample(ph.Stats)
				samples[v.id][ph.Burst] = append(samples[v.id][ph.Burst], s)
				line = append(line, fmt.Sprintf("b%d %.1f ns/pkt %.2f Mpps wall", ph.Burst, s.busyNs, s.wallMpps))
			}
			progress("rep %d/%d %-17s %s; trace events %d, lost %d", rep+1, reps, v.label, strings.Join(line, ", "), st.Events, st.Lost)
		}
	}
	if _, err := ctl.do("off"); err != nil {
		return nil, err
	}
	return traceResults(env.Progress, samples, evs), nil
}

// traceResults prints the table and makes the rows: per variant and
// burst, the median ns/packet and Mpps, and the median, min and max over
// repetitions of the difference to the same repetition's notrace run.
func traceResults(w io.Writer, samples map[string]map[int][]e2eSample, evs map[string]*traceStats) []Result {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "trace\tburst\tns/pkt (CPU, median)\tMpps wall (median)\tvs notrace (median of pairs)\tpairs min..max\tpairs\ttrace events\tlost\t\n")
	var res []Result
	for _, b := range traceBursts {
		base := samples["notrace"][b]
		for _, v := range traceVariants {
			ss := samples[v.id][b]
			var ns, mpps, diffs []float64
			for k, s := range ss {
				if s.busyNs <= 0 {
					continue
				}
				ns = append(ns, s.busyNs)
				mpps = append(mpps, s.wallMpps)
				if k < len(base) && base[k].busyNs > 0 {
					diffs = append(diffs, 100*(s.busyNs/base[k].busyNs-1))
				}
			}
			if len(ns) == 0 {
				continue
			}
			mdiff, lo, hi := median(diffs), 0.0, 0.0
			if len(diffs) > 0 {
				lo, hi = slices.Min(diffs), slices.Max(diffs)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%+.1f%%\t%+.1f..%+.1f%%\t%d\t%d\t%d\t\n", v.label, b, median(ns), median(mpps),
				mdiff, lo, hi, len(diffs), evs[v.id].Events, evs[v.id].Lost)
			r := Result{Suite: "trace", Case: fmt.Sprintf("go marsio, burst %d, %s (ns/packet; c = notrace build)", b, v.label),
				GoNs: median(ns), GoMpps: median(mpps), Ratio: 1 + mdiff/100}
			var bns, bmpps []float64
			for _, s := range base {
				if s.busyNs > 0 {
					bns, bmpps = append(bns, s.busyNs), append(bmpps, s.wallMpps)
				}
			}
			r.CNs, r.CMpps = median(bns), median(bmpps)
			res = append(res, r)
		}
	}
	tw.Flush()
	return res
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

// openTraceCtl starts bin as the controller child for devsym of the daemon
// behind prefix.
func openTraceCtl(bin, prefix, devsym string) (*traceCtl, error) {
	c := &traceCtl{cmd: exec.Command(bin), stderr: &syncBuf{}}
	c.cmd.Env = append(os.Environ(), traceCtlEnv+"="+prefix+" "+devsym)
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
	prefix, devsym, _ := strings.Cut(arg, " ")
	if err := traceCtlChild(prefix, devsym, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mrbench trace controller:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// traceCtlChild attaches to the daemon behind prefix (pure Go, as
// mrtrace), drains every trace ring each millisecond and runs the
// commands of in: "on N" (every packet of devsym's vdev, sample N),
// "off", "stats" (events read and lost since the last stats). Each
// command gets one JSON line.
func traceCtlChild(prefix, devsym string, in io.Reader, out io.Writer) error {
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
	vi := -1
	for i := 0; i < int(r.NrVdevs) && i < len(r.Vdevs); i++ {
		if name, _, _ := bytes.Cut(r.Vdevs[i].Devsym[:], []byte{0}); string(name) == devsym {
			vi = i
		}
	}
	c := a.Control(vi)
	if c == nil {
		return fmt.Errorf("no vdev %s with a trace control", devsym)
	}
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
		case len(f) == 2 && f[0] == "on":
			n, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return fmt.Errorf("sample %q: %w", f[1], err)
			}
			c.Set(trace.Filter{}, uint32(n))
		case len(f) == 1 && f[0] == "off":
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
	c.Off()
	return sc.Err()
}

// ptrOfAddr turns an address in the daemon's shared memory (not Go heap)
// into a pointer.
func ptrOfAddr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
