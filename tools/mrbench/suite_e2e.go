package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gomarsio/marsio/internal/e2eref"
)

func init() {
	register(Suite{Name: "e2e", Doc: "mrzcpd → app receive, touch (IPv4 4-tuple), send, per burst size: Go on marsio vs the C EAL secondary vs cgo per burst and per packet, each in its own process", Run: runE2E})
}

// e2ePerfEnv names a directory: when set, every e2e child runs under
// `perf record` and leaves DIR/<impl>.perf.data (perf report -i …).
const e2ePerfEnv = "MRBENCH_E2E_PERF"

// e2eImplsEnv, when set, lists the implementations to run (comma-separated
// ids: go, c, cgo-burst, cgo-pkt), for looking at one of them.
const e2eImplsEnv = "MRBENCH_E2E_IMPLS"

// The e2e suite keeps the best of at least e2eMinReps repetitions (one
// shared machine, two processes, a daemon: single runs are noisy) and
// measures each burst size for at least e2eMinDur (tests lower both).
var (
	e2eMinReps = 5
	e2eMinDur  = 200 * time.Millisecond
)

// e2eBursts are the burst sizes of the e2e suite.
var e2eBursts = []int{1, 8, 32, 64}

// e2eImpls in the order they are shown; implC is the reference.
var e2eImpls = []struct{ id, label string }{
	{implGo, "go marsio"},
	{implC, "c secondary"},
	{implCgoBurst, "cgo per burst"},
	{implCgoPacket, "cgo per packet"},
}

// e2eSample is the best measurement of one implementation at one burst.
type e2eSample struct {
	busyNs   float64 // app loop CPU per packet, idle sleeps excluded
	cpuNs    float64 // app loop CPU per packet, idle sleeps included
	wallMpps float64 // packets per second of wall time
	idle     float64 // share of the wall time the loop spent in idle sleeps
	st       e2eref.Stats
	lat      e2eLat // daemon port rx → port tx, during warm-up and phase
	gc       *e2eGC // Go child only
}

// runE2E starts one mrzcpd for the whole suite (its worker on CPU 0 unless
// -cpu is 0, then CPU 1), then, env.Reps times, runs each implementation
// in a fresh process on the -cpu CPU; every process measures all burst
// sizes (a warm-up, then a measured phase of the same length for
// everyone). The best (lowest CPU per packet) of the repetitions is kept.
func runE2E(env *Env) ([]Result, error) {
	progress := func(format string, a ...any) { fmt.Fprintf(env.Progress, "  e2e: "+format+"\n", a...) }
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("find the module (the e2e suite builds tools/mrzcpd): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	tmp, err := os.MkdirTemp("", "mrbench-e2e")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	appCPU, daemonCPU := env.CPU, 0
	switch {
	case runtime.NumCPU() < 2:
		appCPU, daemonCPU = 0, -1 // nothing to separate
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
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	lat, err := openE2ELat(d.prefix, "vxe0")
	if err != nil {
		progress("no latency figures: %v", err)
		lat = nil
	} else {
		defer lat.close()
	}
	dur := max(2*env.Min, e2eMinDur)
	spec := e2eSpec{Prefix: d.prefix, StatusDir: d.runDir, Devsym: "vxe0", CPU: appCPU,
		Bursts: e2eBursts, Warm: 100 * time.Millisecond, Dur: dur, Sleep: 20 * time.Microsecond}
	progress("apps on CPU %d, daemon on CPU %d; %d reps × %d implementations × %d bursts × (%v warm-up + %v)",
		appCPU, daemonCPU, max(env.Reps, e2eMinReps), len(e2eImpls), len(e2eBursts), spec.Warm, spec.Dur)
	best := map[string]map[int]*e2eSample{}
	reps := max(env.Reps, e2eMinReps)
	for rep := 0; rep < reps; rep++ {
		for _, im := range e2eImpls {
			if only := os.Getenv(e2eImplsEnv); only != "" && !slices.Contains(strings.Split(only, ","), im.id) {
				continue
			}
			sp := spec
			sp.Impl = im.id
			sp.Appsym = "mrbench_" + strings.ReplaceAll(im.id, "-", "_")
			phases, lats, err := runE2EChild(self, &sp, d, lat, env.Progress)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", im.label, err)
			}
			if best[im.id] == nil {
				best[im.id] = map[int]*e2eSample{}
			}
			var line []string
			for k, ph := range phases {
				s := newE2ESample(ph.Stats)
				s.lat, s.gc = lats[k], ph.GC
				line = append(line, fmt.Sprintf("b%d %.1f ns/pkt %.2f Mpps wall", ph.Burst, s.busyNs, s.wallMpps))
				if b := best[im.id][ph.Burst]; b == nil || (s.busyNs > 0 && s.busyNs < b.busyNs) {
					best[im.id][ph.Burst] = &s
				}
			}
			progress("rep %d/%d %-14s %s", rep+1, reps, im.label, strings.Join(line, ", "))
		}
	}
	printE2ETable(env, best)
	var res []Result
	for _, im := range e2eImpls {
		if im.id == implC {
			continue
		}
		for _, b := range e2eBursts {
			g, c := best[im.id][b], best[implC][b]
			if g == nil || c == nil {
				continue
			}
			r := result("e2e", fmt.Sprintf("%s, burst %d (ns/packet)", im.label, b), g.busyNs, c.busyNs)
			r.GoMpps, r.CMpps = mppsOf(g.busyNs), mppsOf(c.busyNs)
			r.LatP50, r.LatP99, r.LatP999, r.LatMax = g.lat.P50, g.lat.P99, g.lat.P999, g.lat.MaxNs
			r.CLatP50, r.CLatP99, r.CLatP999, r.CLatMax = c.lat.P50, c.lat.P99, c.lat.P999, c.lat.MaxNs
			if g.gc != nil {
				r.GCPauses, r.GCPauseMaxNs = g.gc.Pauses, g.gc.MaxNs
			}
			res = append(res, r)
		}
	}
	return res, nil
}

func mppsOf(ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	return 1e3 / ns
}

func newE2ESample(st e2eref.Stats) e2eSample {
	s := e2eSample{st: st}
	if st.Pkts > 0 {
		s.busyNs = float64(st.BusyNs()) / float64(st.Pkts)
		s.cpuNs = float64(st.CPUNs) / float64(st.Pkts)
	}
	if st.WallNs > 0 {
		s.wallMpps = float64(st.Pkts) * 1e3 / float64(st.WallNs)
		s.idle = min(1, float64(st.SleepWall)/float64(st.WallNs))
	}
	return s
}

// runE2EChild runs one implementation in a fresh process and returns its
// phases (one per burst size).
//
// With lat set, each phase also gets the latency histogram's difference
// between the previous phase line (or the child's start) and its own: the
// phase's warm-up and measurement (the first one also the attach).
func runE2EChild(self string, sp *e2eSpec, d *e2eDaemon, lat *e2eLatReader, progress io.Writer) ([]e2ePhase, []e2eLat, error) {
	js, err := json.Marshal(sp)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self)
	if dir := os.Getenv(e2ePerfEnv); dir != "" {
		// Profile every child: perf record into DIR/<impl>.perf.data.
		cmd = exec.Command("perf", "record", "-q", "-o", filepath.Join(dir, sp.Impl+".perf.data"), "--", self)
	}
	cmd.Env = append(os.Environ(), e2eChildEnv+"="+string(js))
	var stderr syncBuf
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var prev []uint64
	if lat != nil {
		if prev, err = lat.snapshot(); err != nil {
			fmt.Fprintf(progress, "  e2e: %s: no latency figures: %v\n", sp.Impl, err)
			lat = nil
		}
	}
	waited, err := startPinned(cmd, sp.CPU)
	if err != nil {
		return nil, nil, err
	}
	var phases []e2ePhase
	var lats []e2eLat
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var ph e2ePhase
		if err := json.Unmarshal(sc.Bytes(), &ph); err != nil {
			cmd.Process.Kill()
			<-waited
			return nil, nil, fmt.Errorf("child output %q: %w", sc.Text(), err)
		}
		phases = append(phases, ph)
		var l e2eLat
		if lat != nil {
			cur, err := lat.snapshot()
			if err != nil {
				fmt.Fprintf(progress, "  e2e: %s: no latency figures from burst %d on: %v\n", sp.Impl, ph.Burst, err)
				lat = nil
			} else {
				l, prev = latDiff(prev, cur, lat.tscHz), cur
			}
		}
		lats = append(lats, l)
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "e2e: ") {
			fmt.Fprintln(progress, "  "+l)
		}
	}
	if err := <-waited; err != nil {
		return nil, nil, fmt.Errorf("child: %w\n%s\nmrzcpd log:\n%s", err, tailLines(stderr.String(), 20), tailLines(d.log.String(), 20))
	}
	if len(phases) != len(sp.Bursts) {
		return nil, nil, fmt.Errorf("child measured %d of %d burst sizes\n%s", len(phases), len(sp.Bursts), stderr.String())
	}
	return phases, lats, nil
}

// printE2ETable prints every implementation side by side: CPU ns per packet
// of the app loop (idle sleeps excluded, and included), the Mpps one core
// would do at that cost, the Mpps reached in wall time (bounded by the
// daemon), and the ratio to the C reference.
func printE2ETable(env *Env, best map[string]map[int]*e2eSample) {
	tw := tabwriter.NewWriter(env.Progress, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "e2e\tburst\tns/pkt (CPU)\tMpps/core\tns/pkt incl. sleeps\tMpps wall\tidle\tµs/sleep\ttx drops\tvs c\tlat p50 µs\tp99\tp99.9\tmax\tGC pauses\t\n")
	for _, b := range e2eBursts {
		c := best[implC][b]
		for _, im := range e2eImpls {
			s := best[im.id][b]
			if s == nil {
				continue
			}
			ratio := "-"
			if c != nil && c.busyNs > 0 {
				ratio = fmt.Sprintf("%.2f", s.busyNs/c.busyNs)
			}
			perSleep := 0.0
			if s.st.Sleeps > 0 {
				perSleep = float64(s.st.SleepWall) / float64(s.st.Sleeps) / 1e3
			}
			gc := "-"
			if s.gc != nil {
				gc = fmt.Sprintf("%d (max %.0f µs)", s.gc.Pauses, s.gc.MaxNs/1e3)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%.2f\t%.2f\t%.0f%%\t%.0f\t%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", im.label, b, s.busyNs, mppsOf(s.busyNs),
				s.cpuNs, s.wallMpps, 100*s.idle, perSleep, s.st.TxDrops, ratio,
				s.lat.P50/1e3, s.lat.P99/1e3, s.lat.P999/1e3, s.lat.MaxNs/1e3, gc)
		}
	}
	tw.Flush()
}
