package trace

import (
	"fmt"
	"sync"
	"time"
)

// Clock is a trace area's TSC calibration (struct mr_trace_header's tsc_hz,
// tsc_ref and unix_ns_ref): records carry TSC ticks (Record.TSC), a reader
// shows them as wall-clock time with UnixNano, and a writer without RDTSC
// (the purego build, other architectures) derives ticks from the wall
// clock with Ticks, so its events sort with the others.
//
// The daemon fills it once, before it publishes the area: Hz measured
// against CLOCK_MONOTONIC at start-up (rte_get_tsc_hz() is rounded to
// 10 MHz when the CPU does not report the rate), RefTSC and RefUnixNano one
// rte_rdtsc() and one CLOCK_REALTIME read taken together.
type Clock struct {
	Hz          uint64 // TSC ticks per second
	RefTSC      uint64 // a TSC value …
	RefUnixNano int64  // … and the wall clock (ns since 1970) read with it
}

// maxHz bounds Clock.Hz so that Ticks and UnixNano compute in 64 bits:
// (ns % 1e9) * Hz and (ticks % Hz) * 1e9 stay below 2^64.
const maxHz = 18e9

// valid reports whether c can convert: a rate of 1 MHz to 18 GHz.
func (c *Clock) valid() bool { return c.Hz >= 1e6 && c.Hz <= maxHz }

// Ticks returns the TSC value at wall-clock time unixNano:
// RefTSC + (unixNano - RefUnixNano) * Hz / 1e9, without overflow (whole
// seconds and the rest apart). It is the writer's clock read in the
// purego build.
func (c *Clock) Ticks(unixNano int64) uint64 {
	d := unixNano - c.RefUnixNano
	if d < 0 {
		return c.RefTSC - mulDivNano(uint64(-d), c.Hz)
	}
	return c.RefTSC + mulDivNano(uint64(d), c.Hz)
}

// mulDivNano returns ns * hz / 1e9 for hz <= maxHz.
func mulDivNano(ns, hz uint64) uint64 { return ns/1e9*hz + ns%1e9*hz/1e9 }

// UnixNano returns the wall-clock time of TSC value tsc:
// RefUnixNano + (tsc - RefTSC) * 1e9 / Hz, without overflow; 0 when c
// holds no calibration.
func (c *Clock) UnixNano(tsc uint64) int64 {
	if !c.valid() {
		return 0
	}
	d := tsc - c.RefTSC
	if int64(d) < 0 {
		d = -d
		return c.RefUnixNano - int64(d/c.Hz*1e9+d%c.Hz*1e9/c.Hz)
	}
	return c.RefUnixNano + int64(d/c.Hz*1e9+d%c.Hz*1e9/c.Hz)
}

// Time returns tsc as wall-clock time (the zero Time without a
// calibration).
func (c *Clock) Time(tsc uint64) time.Time {
	if !c.valid() {
		return time.Time{}
	}
	return time.Unix(0, c.UnixNano(tsc))
}

// ticksGo is the pure-Go twin of RDTSC, always compiled (the purego
// build's ticks; tests compare it with RDTSC): the wall clock converted
// with the area's calibration.
func ticksGo(c *Clock) uint64 { return c.Ticks(time.Now().UnixNano()) }

// Calibrate measures the TSC against the monotonic clock over d (10 ms
// gives a few ppm on a VM whose clock read costs ~110 ns) and returns the
// rate with one (TSC, wall clock) pair. Without RDTSC (the purego build,
// other architectures) it returns the 1 GHz clock whose ticks are the
// wall-clock nanoseconds.
func Calibrate(d time.Duration) Clock { return calibrate(d) }

// hostClock is the calibration Init writes in the areas it lays out
// (tests, tools); measured once per process.
var hostClock = sync.OnceValue(func() Clock { return Calibrate(10 * time.Millisecond) })

// Clock returns the area's TSC calibration.
func (a *Area) Clock() Clock { return a.clk }

// String describes the calibration.
func (c Clock) String() string {
	return fmt.Sprintf("%d Hz, tsc %d at %s", c.Hz, c.RefTSC, time.Unix(0, c.RefUnixNano).UTC().Format(time.RFC3339Nano))
}
