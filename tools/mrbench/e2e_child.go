package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/gomarsio/marsio"
	"github.com/gomarsio/marsio/internal/e2eref"
)

// The e2e suite runs every implementation in a process of its own: mrbench
// re-executes itself with e2eChildEnv set to a JSON e2eSpec; init below
// catches that before main and runs the child instead.
const e2eChildEnv = "MRBENCH_E2E_CHILD"

// Implementations of the e2e loop.
const (
	implC         = "c"         // (b) C reference: EAL secondary, the loop in C
	implGo        = "go"        // (a) Go on package marsio, pure-Go attach
	implCgoBurst  = "cgo-burst" // (c) Go loop, one cgo call per burst operation
	implCgoPacket = "cgo-pkt"   // (d) Go loop, one cgo call per packet operation
)

// e2eSpec is what the parent tells a child.
type e2eSpec struct {
	Impl      string        `json:"impl"`
	Prefix    string        `json:"prefix"`     // the daemon's --file-prefix
	StatusDir string        `json:"status_dir"` // the daemon's run dir (mrmonit.daemon)
	Devsym    string        `json:"devsym"`
	Appsym    string        `json:"appsym"`
	CPU       int           `json:"cpu"`
	Bursts    []int         `json:"bursts"`
	Warm      time.Duration `json:"warm"`
	Dur       time.Duration `json:"dur"`
	Sleep     time.Duration `json:"sleep"`
}

// e2ePhase is one measured burst size, one JSON line on the child's stdout.
type e2ePhase struct {
	Burst int          `json:"burst"`
	Stats e2eref.Stats `json:"stats"`
	GC    *e2eGC       `json:"gc,omitempty"` // Go child: collector activity during warm-up and phase
}

func init() {
	spec := os.Getenv(e2eChildEnv)
	if spec == "" {
		return
	}
	if err := e2eChild(spec); err != nil {
		fmt.Fprintln(os.Stderr, "mrbench e2e child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func e2eChild(specJSON string) error {
	var sp e2eSpec
	if err := json.Unmarshal([]byte(specJSON), &sp); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	runtime.LockOSThread()
	enc := json.NewEncoder(os.Stdout)
	emit := func(b int, st e2eref.Stats) error { return enc.Encode(e2ePhase{Burst: b, Stats: st}) }
	if sp.Impl == implGo {
		return e2eGoApp(&sp, func(b int, st e2eref.Stats, gc e2eGC) error {
			return enc.Encode(e2ePhase{Burst: b, Stats: st, GC: &gc})
		})
	}
	if err := e2eref.InitEAL(sp.Prefix, sp.CPU); err != nil {
		return err
	}
	defer e2eref.CleanupEAL()
	if os.Getenv("MRBENCH_E2E_DEBUG") != "" {
		t0 := time.Now()
		for i := 0; i < 1000; i++ {
			e2eref.Sleep(sp.Sleep)
		}
		fmt.Fprintf(os.Stderr, "e2e: %s: sleep %v: C %v, Go %v\n", sp.Impl, sp.Sleep, e2eref.SleepCalibrate(1000, sp.Sleep), time.Since(t0)/1000)
	}
	s, err := e2eref.Attach(sp.Appsym, sp.Devsym)
	if err != nil {
		return err
	}
	var run func(burst int, warm, dur, sleep time.Duration) e2eref.Stats
	switch sp.Impl {
	case implC:
		run = s.RunC
	case implCgoBurst:
		run = s.RunCgoBurst
	case implCgoPacket:
		run = s.RunCgoPacket
	default:
		s.Close()
		return fmt.Errorf("unknown implementation %q", sp.Impl)
	}
	for _, b := range sp.Bursts {
		if err := emit(b, run(b, sp.Warm, sp.Dur, sp.Sleep)); err != nil {
			s.Close()
			return err
		}
	}
	return s.Close()
}

// e2eGoApp is implementation (a): an application on package marsio (pure-Go
// attach, RecvBurst / SendBurst), with the same touch, idle sleep and
// timing as the others (e2eref.Phase).
func e2eGoApp(sp *e2eSpec, emit func(int, e2eref.Stats, e2eGC) error) (err error) {
	inst, err := marsio.New(marsio.WithStatusDir(sp.StatusDir), marsio.WithFilePrefix(sp.Prefix),
		marsio.WithThreads(1), marsio.WithCPUs(sp.CPU))
	if err != nil {
		return err
	}
	if err := inst.Init(sp.Appsym); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, inst.Close()) }()
	dev, err := inst.OpenDevice(sp.Devsym, 1, 1)
	if err != nil {
		return err
	}
	t, err := inst.ThreadInit()
	if err != nil {
		return err
	}
	e2eref.SetTimerSlack()
	bufs := make([]marsio.Buffer, e2eref.MaxBurst)
	for _, b := range sp.Bursts {
		c0, _, cy0 := gcSnap()
		st, err := e2eGoLoop(t, dev, bufs[:max(1, min(b, len(bufs)))], sp)
		if err != nil {
			return err
		}
		c1, buckets, cy1 := gcSnap()
		if err := emit(b, st, gcDiff(c0, cy0, c1, buckets, cy1)); err != nil {
			return err
		}
	}
	return nil
}

func e2eGoLoop(t *marsio.Thread, dev *marsio.Device, bufs []marsio.Buffer, sp *e2eSpec) (e2eref.Stats, error) {
	var ph e2eref.Phase
	ph.Start(sp.Warm, sp.Dur)
	for {
		n, err := t.RecvBurst(dev, bufs)
		if err != nil {
			return e2eref.Stats{}, err
		}
		if ph.Poll(n, sp.Sleep) {
			break
		}
		if n == 0 {
			continue
		}
		c := ph.Stats()
		for _, b := range bufs[:n] {
			e2eref.Touch(b.Data(), c)
		}
		k, err := t.SendBurst(dev, bufs[:n])
		if err != nil {
			return e2eref.Stats{}, err
		}
		c.TxDrops += uint64(n - k)
		c.Pkts += uint64(n)
	}
	return ph.Finish(), nil
}
