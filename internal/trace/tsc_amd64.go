//go:build amd64 && gc && !purego

package trace

import "time"

// rdtsc returns the time-stamp counter (RDTSC, tsc_amd64.s). Like DPDK's
// rte_rdtsc it is not serialised (no LFENCE, no RDTSCP): the CPU may read
// it a few instructions early or late, nanoseconds that do not matter for
// a timestamp shared by a whole burst of events. The TSC is invariant
// (constant_tsc, nonstop_tsc) and synchronised across cores on the hosts
// DPDK supports, so the daemon's and the applications' values compare.
//
//go:noescape
func rdtsc() uint64

// hasTSC: the writers read the TSC itself.
const hasTSC = true

// ticks is a writer's clock read: the TSC (c is the twin's calibration,
// unused here).
func ticks(c *Clock) uint64 { return rdtsc() }

// pair reads the TSC and the wall clock together: of five tries, the one
// whose two TSC reads around time.Now are closest, stamped half-way.
func pair() (uint64, time.Time) {
	var best uint64 = 1<<64 - 1
	var tsc uint64
	var now time.Time
	for range 5 {
		t0 := rdtsc()
		n := time.Now()
		t1 := rdtsc()
		if g := t1 - t0; g < best {
			best, tsc, now = g, t0+g/2, n
		}
	}
	return tsc, now
}

// calibrate measures the TSC rate against the monotonic clock over d (at
// least 1 ms).
func calibrate(d time.Duration) Clock {
	t0, n0 := pair()
	time.Sleep(max(d, time.Millisecond))
	t1, n1 := pair()
	ns := n1.Sub(n0) // monotonic, > 0 after the sleep
	hz := uint64(float64(t1-t0)*1e9/float64(ns) + 0.5)
	return Clock{Hz: hz, RefTSC: t1, RefUnixNano: n1.UnixNano()}
}
