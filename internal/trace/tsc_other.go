//go:build !amd64 || !gc || purego

package trace

import "time"

// hasTSC: no RDTSC here; the writers derive ticks from the wall clock.
const hasTSC = false

// ticks is a writer's clock read, the pure-Go twin of the TSC: the wall
// clock converted with the area's calibration, comparable with the TSC
// values of RDTSC writers (within the calibration's error).
func ticks(c *Clock) uint64 { return ticksGo(c) }

// calibrate returns the 1 GHz clock whose ticks are wall-clock
// nanoseconds (no TSC to measure).
func calibrate(time.Duration) Clock {
	now := time.Now().UnixNano()
	return Clock{Hz: 1e9, RefTSC: uint64(now), RefUnixNano: now}
}
