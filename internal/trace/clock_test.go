package trace

import (
	"encoding/json"
	"errors"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bigTicks is Clock.Ticks in arbitrary precision (floor of the quotient).
func bigTicks(c Clock, ns int64) uint64 {
	d := new(big.Int).Sub(big.NewInt(ns), big.NewInt(c.RefUnixNano))
	neg := d.Sign() < 0
	d.Abs(d).Mul(d, new(big.Int).SetUint64(c.Hz)).Quo(d, big.NewInt(1e9))
	if neg {
		return c.RefTSC - d.Uint64()
	}
	return c.RefTSC + d.Uint64()
}

// TestClockConvert checks Ticks and UnixNano against arbitrary-precision
// answers, far from the reference (years both ways) and at the largest
// rate, and that they invert each other to within a tick.
func TestClockConvert(t *testing.T) {
	ref := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC).UnixNano()
	for _, hz := range []uint64{1e6, 1e9, 2445402000, 2450000000, maxHz} {
		c := Clock{Hz: hz, RefTSC: 1 << 50, RefUnixNano: ref}
		for _, d := range []int64{0, 1, -1, 999_999_999, 1e9, -1e9 - 1, 86400e9 + 12345, -3600e9, 5 * 365 * 86400e9, -30 * 86400e9} {
			ns := ref + d
			got, want := c.Ticks(ns), bigTicks(c, ns)
			if got != want {
				t.Errorf("%d Hz: Ticks(ref%+d) = %d, want %d", hz, d, got, want)
			}
			// Back: within the rounding of one tick (≤ 1e9/hz ns, both
			// conversions truncate towards the reference).
			back := c.UnixNano(got)
			if e := ns - back; e < -int64(1e9/hz)-1 || e > int64(1e9/hz)+1 {
				t.Errorf("%d Hz: UnixNano(Ticks(ref%+d)) = ref%+d", hz, d, back-ref)
			}
		}
	}
	if (&Clock{}).UnixNano(123) != 0 || !(&Clock{}).Time(1).IsZero() {
		t.Error("a zero Clock converts")
	}
}

// TestTicksTwin calibrates here and checks that the writers' clock read
// (RDTSC, or the pure-Go twin under purego) and the twin's conversion of
// the wall clock agree, now and after a pause.
func TestTicksTwin(t *testing.T) {
	c := Calibrate(20 * time.Millisecond)
	if !c.valid() {
		t.Fatalf("calibration %v", c)
	}
	t.Logf("calibration: %v (RDTSC: %v)", c, hasTSC)
	// The tolerance: the calibration's error (a few ppm over 20 ms) over
	// the pause, plus a clock read on a busy shared VM.
	const tol = 200 * time.Microsecond
	for k := range 3 {
		if k > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		best := time.Hour
		for range 20 { // a descheduled read is not the twin's error: keep the best
			a := ticks(&c)
			b := ticksGo(&c)
			d := int64(b - a)
			if d < 0 {
				d = -d
			}
			best = min(best, time.Duration(c.UnixNano(c.RefTSC+uint64(d))-c.RefUnixNano))
		}
		t.Logf("pause %d: RDTSC and the twin %v apart", k, best)
		if best > tol {
			t.Errorf("pause %d: the clock read and the calibrated wall clock differ by %v (> %v)", k, best, tol)
		}
	}
	// Monotonic on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := ticks(&c)
	for i := range 100000 {
		v := ticks(&c)
		if v < prev {
			t.Fatalf("read %d: %d after %d", i, v, prev)
		}
		prev = v
	}
}

// TestWriterClock: a record's TSC is the clock read of its burst,
// between reads taken before and after, and shown as the wall clock.
func TestWriterClock(t *testing.T) {
	a := area(t, 1, 1, 8)
	c := a.Control(0)
	c.Set(Filter{}, 1)
	w, _ := a.Writer(0)
	clk := a.Clock()
	if !clk.valid() || w.clk != clk {
		t.Fatalf("area clock %v, writer %v", clk, w.clk)
	}
	frame := udp4("10.0.0.1", "10.0.0.2", 1000, 53, false)
	before := ticks(&clk)
	w.Burst()
	w.Trace(c, AppRx, 0, 0xffff, 0, 0, frame, 1)
	w.Trace(c, AppTx, 0, 0xffff, 0, 0, frame, 1)
	after := ticks(&clk)
	recs := a.Read(0, nil)
	if len(recs) != 2 || recs[0].TSC < before || recs[0].TSC > after || recs[1].TSC != recs[0].TSC {
		t.Fatalf("stamps %d %d, read %d..%d", recs[0].TSC, recs[1].TSC, before, after)
	}
	if d := time.Since(clk.Time(recs[0].TSC)); d < -time.Second || d > time.Second {
		t.Fatalf("the record's wall clock is %v from now", d)
	}
	line := recs[0].Format(&clk)
	if want := clk.Time(recs[0].TSC).UTC().Format("15:04:05.000000000"); !strings.HasPrefix(line, want+" app-rx") {
		t.Fatalf("line %q, want the time %s", line, want)
	}
	if s := recs[0].String(); !strings.HasPrefix(s, "tsc ") {
		t.Fatalf("String %q", s)
	}
	b, err := recs[0].JSON(&clk)
	var j struct {
		Time *int64 `json:"time_ns"`
		TSC  uint64 `json:"tsc"`
	}
	if err != nil || json.Unmarshal(b, &j) != nil || j.Time == nil || *j.Time != clk.UnixNano(recs[0].TSC) || j.TSC != recs[0].TSC {
		t.Fatalf("json %s %v", b, err)
	}
	if b, _ := json.Marshal(&recs[0]); strings.Contains(string(b), "time_ns") || !strings.Contains(string(b), `"tsc":`) {
		t.Fatalf("json without a calibration: %s", b)
	}
	// An area without a calibration does not attach.
	mem := a.Bytes()
	h := (*header)(a.base)
	hz := h.TSCHz
	h.TSCHz = 0
	if _, err := Attach(mem); !errors.Is(err, ErrLayout) {
		t.Fatalf("attach without tsc_hz: %v", err)
	}
	h.TSCHz = hz
}

// BenchmarkClock is a writer's clock read: RDTSC, or the wall clock and
// its conversion (purego).
func BenchmarkClock(b *testing.B) {
	c := hostClock()
	var s uint64
	for b.Loop() {
		s += ticks(&c)
	}
	sink += int(s & 1)
}

// BenchmarkWallClock is the read writers made before trace version 3.
func BenchmarkWallClock(b *testing.B) {
	var s int64
	for b.Loop() {
		s += time.Now().UnixNano()
	}
	sink += int(s & 1)
}

// BenchmarkOnBurst1 is BenchmarkOn with one event per burst: every
// event reads the clock.
func BenchmarkOnBurst1(b *testing.B) { benchOn(b, 1) }
