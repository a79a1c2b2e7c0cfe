// Command mrbench runs side-by-side benchmarks of gomarsio's Go fast path and
// DPDK's own C in the same process and the same minute (DESIGN.md §9).
//
//	go run ./tools/mrbench <suite|all> [-json FILE] [-png FILE] [-min 200ms] [-reps 3] [-cpu N]
//	go run ./tools/mrbench chart -json bench/results.json -png bench/results.png
//
// The second form measures nothing: it redraws the chart (e2e ns/packet,
// e2e latency tails, go/c ratios) from a results file written by -json.
//
// Each suite prints a table (case, go ns/op, c ns/op, ratio = go/c); -json
// writes an array of {"suite","case","go_ns","c_ns","ratio"} objects. Suites
// register themselves from their own file (suite_*.go), so adding one is one
// new file.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mrbench:", err)
		os.Exit(1)
	}
}

// Result is one measured case.
type Result struct {
	Suite string  `json:"suite"`
	Case  string  `json:"case"`
	GoNs  float64 `json:"go_ns"`
	CNs   float64 `json:"c_ns"`
	Ratio float64 `json:"ratio"`
	// Extra fields some suites add (e2e: go_mpps, c_mpps).
	GoMpps float64 `json:"go_mpps,omitempty"`
	CMpps  float64 `json:"c_mpps,omitempty"`
	// e2e: daemon port rx → port tx latency of the row's implementation
	// and of the C reference (ns; log2-linear histogram bucket bounds), and
	// the Go app's GC stop-the-world pauses during the run.
	LatP50       float64 `json:"lat_p50_ns,omitempty"`
	LatP99       float64 `json:"lat_p99_ns,omitempty"`
	LatP999      float64 `json:"lat_p999_ns,omitempty"`
	LatMax       float64 `json:"lat_max_ns,omitempty"`
	CLatP50      float64 `json:"c_lat_p50_ns,omitempty"`
	CLatP99      float64 `json:"c_lat_p99_ns,omitempty"`
	CLatP999     float64 `json:"c_lat_p999_ns,omitempty"`
	CLatMax      float64 `json:"c_lat_max_ns,omitempty"`
	GCPauses     uint64  `json:"gc_pauses,omitempty"`
	GCPauseMaxNs float64 `json:"gc_pause_max_ns,omitempty"`
}

// Env is what a suite gets: the measurement settings and a progress writer.
type Env struct {
	Min      time.Duration // a measurement repeats until it lasts at least this
	Reps     int           // best of Reps measurements
	CPU      int           // CPU the measuring threads are pinned to (-1: none)
	Progress io.Writer
	DPDKTest bool // also run dpdk-test where a suite supports it
}

// Suite is a registered benchmark suite.
type Suite struct {
	Name string
	Doc  string
	Run  func(env *Env) ([]Result, error)
}

var suites = map[string]Suite{}

// register adds a suite; called from the init of each suite_*.go file.
func register(s Suite) {
	if _, dup := suites[s.Name]; dup {
		panic("mrbench: suite registered twice: " + s.Name)
	}
	suites[s.Name] = s
}

func suiteNames() []string {
	var n []string
	for k := range suites {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mrbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.String("json", "", "write results as JSON to `FILE`")
	pngOut := fs.String("png", "", "write a chart (e2e ns/packet and latency tails, go/c ratios) to `FILE`")
	min := fs.Duration("min", 200*time.Millisecond, "minimum duration of one measurement")
	reps := fs.Int("reps", 3, "measurements per case (the best is kept)")
	cpu := fs.Int("cpu", runtime.NumCPU()-1, "pin measuring threads to this CPU (-1: no pinning)")
	dt := fs.Bool("dpdk-test", true, "also run DPDK's dpdk-test perf autotests where a suite has one")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mrbench <suite|all> [flags]\n       mrbench chart -json RESULTS.json -png CHART.png   (redraw a chart from -json output, e.g. bench/results.json → bench/results.png)\nsuites: %s\n", strings.Join(suiteNames(), ", "))
		fs.PrintDefaults()
	}
	// Accept flags before or after the suite name.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("need exactly one suite name")
	}
	if pos[0] == "chart" {
		return redraw(*jsonOut, *pngOut)
	}
	var todo []Suite
	if pos[0] == "all" {
		for _, n := range suiteNames() {
			todo = append(todo, suites[n])
		}
	} else if s, ok := suites[pos[0]]; ok {
		todo = append(todo, s)
	} else {
		return fmt.Errorf("unknown suite %q (have: %s, all)", pos[0], strings.Join(suiteNames(), ", "))
	}
	if err := dpdkref.Init(); err != nil {
		return fmt.Errorf("DPDK reference harness: %w", err)
	}
	defer dpdkref.Cleanup()

	// Single core: the Go loops run on this locked thread and the C loops on
	// threads pinned to the same CPU.
	runtime.LockOSThread()
	if *cpu >= 0 {
		var set unix.CPUSet
		set.Set(*cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pin to CPU %d: %w", *cpu, err)
		}
	}
	dpdkref.BenchSetCPU(*cpu)
	env := &Env{Min: *min, Reps: max(*reps, 1), CPU: *cpu, Progress: stderr, DPDKTest: *dt}

	var all []Result
	for _, s := range todo {
		fmt.Fprintf(stderr, "mrbench: suite %s …\n", s.Name)
		res, err := s.Run(env)
		if err != nil {
			return fmt.Errorf("suite %s: %w", s.Name, err)
		}
		printTable(stdout, s.Name, res)
		all = append(all, res...)
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
	}
	if *pngOut != "" {
		if err := writePNG(*pngOut, all); err != nil {
			return fmt.Errorf("write png: %w", err)
		}
	}
	return nil
}

// redraw draws the chart of a results file (mrbench chart).
func redraw(from, to string) error {
	if from == "" || to == "" {
		return errors.New("chart: need -json RESULTS (input) and -png FILE (output)")
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	var res []Result
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("chart: %s: %w", from, err)
	}
	if err := writePNG(to, res); err != nil {
		return fmt.Errorf("chart: write png: %w", err)
	}
	return nil
}

func printTable(w io.Writer, suite string, res []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tgo ns/op\tc ns/op\tratio go/c\t\n", suite)
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t\n", r.Case, r.GoNs, r.CNs, r.Ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// measurePair measures a Go loop and its C reference alternately (calibrate
// both, then Reps rounds of one Go run and one C run, best of each), so both
// see the same machine conditions on a shared machine.
func measurePair(env *Env, goF, cF func(iters uint64) float64) (goNs, cNs float64) {
	calibrate := func(f func(uint64) float64) uint64 {
		iters := uint64(1000)
		for {
			t0 := time.Now()
			f(iters)
			if d := time.Since(t0); d >= env.Min {
				return iters
			} else if d < env.Min/8 {
				iters *= 8
			} else {
				iters *= 2
			}
		}
	}
	gi, ci := calibrate(goF), calibrate(cF)
	for i := 0; i < env.Reps; i++ {
		if ns := goF(gi); i == 0 || ns < goNs {
			goNs = ns
		}
		if ns := cF(ci); i == 0 || ns < cNs {
			cNs = ns
		}
	}
	return goNs, cNs
}

// goLoop times a Go loop body in CPU time of the calling (locked) thread,
// as the C loops are timed with CLOCK_THREAD_CPUTIME_ID: on a shared
// machine, time spent descheduled does not count for either side.
func goLoop(body func(iters uint64)) func(uint64) float64 {
	return func(iters uint64) float64 {
		t0 := threadCPU()
		body(iters)
		return float64(threadCPU()-t0) / float64(iters)
	}
}

func threadCPU() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

func result(suite, name string, goNs, cNs float64) Result {
	r := Result{Suite: suite, Case: name, GoNs: goNs, CNs: cNs}
	if cNs > 0 {
		r.Ratio = goNs / cNs
	}
	return r
}
