package main

import (
	"bytes"
	"fmt"
	"math/bits"
	"runtime/metrics"
	"sync/atomic"
	"unsafe"

	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/zz_generated/abi"
)

// e2eLatReader reads the daemon's port rx → port tx latency histogram of
// one vdev (struct mr_lat_hist in the root memzone) through a pure-Go,
// read-only attach of the daemon's memory.
type e2eLatReader struct {
	h     *shm.Handle
	hist  *abi.LatHist
	tscHz uint64
}

// openE2ELat attaches to the daemon behind prefix and finds devsym's
// histogram.
func openE2ELat(prefix, devsym string) (*e2eLatReader, error) {
	h, err := shm.Attach(shm.Options{FilePrefix: prefix, NoIPC: true})
	if err != nil {
		return nil, fmt.Errorf("attach to the daemon's memory: %w", err)
	}
	mz, err := h.Memzone(abi.MR_ROOT_MEMZONE)
	if err != nil {
		h.Detach()
		return nil, fmt.Errorf("root memzone: %w", err)
	}
	if mz.Len < abi.SizeofRoot {
		h.Detach()
		return nil, fmt.Errorf("root memzone is %d bytes, want %d: daemon of another version", mz.Len, abi.SizeofRoot)
	}
	a := mz.Addr
	r := (*abi.Root)(*(*unsafe.Pointer)(unsafe.Pointer(&a))) // shared memory, not Go heap
	if r.RxtscDynfieldOffset < 0 || r.TscHz == 0 {
		h.Detach()
		return nil, fmt.Errorf("the daemon has no latency stamps (rxtsc dynfield %d, tsc_hz %d)", r.RxtscDynfieldOffset, r.TscHz)
	}
	for i := 0; i < int(r.NrVdevs) && i < len(r.Vdevs); i++ {
		if name, _, _ := bytes.Cut(r.Vdevs[i].Devsym[:], []byte{0}); string(name) == devsym {
			return &e2eLatReader{h: h, hist: &r.Lat[i], tscHz: r.TscHz}, nil
		}
	}
	h.Detach()
	return nil, fmt.Errorf("vdev %s not in the daemon's root", devsym)
}

// snapshot copies the histogram's buckets (the daemon writes them without
// synchronisation: a snapshot may miss the increments of one burst).
func (l *e2eLatReader) snapshot() []uint64 {
	out := make([]uint64, abi.MR_LAT_BUCKETS)
	for i := range out {
		out[i] = atomic.LoadUint64(&l.hist.Buckets[i])
	}
	return out
}

func (l *e2eLatReader) close() { l.h.Detach() }

// e2eLat are latency percentiles of a run, in nanoseconds (bucket upper
// bounds: log2-linear buckets, within 12.5%).
type e2eLat struct {
	Count                 uint64
	P50, P99, P999, MaxNs float64
}

// latBucketUpper is the largest TSC value of bucket b (see struct mr_lat_hist).
func latBucketUpper(b int) uint64 {
	const sub = abi.MR_LAT_SUB_BITS
	if b < 1<<sub {
		return uint64(b)
	}
	e := b>>sub + sub - 1
	lo := uint64(1)<<e | uint64(b&(1<<sub-1))<<(e-sub)
	return lo + uint64(1)<<(e-sub) - 1
}

// latBucketOf is the daemon's bucket function (lat.h), for the tests.
func latBucketOf(v uint64) int {
	const sub = abi.MR_LAT_SUB_BITS
	if v < 1<<sub {
		return int(v)
	}
	e := 63 - bits.LeadingZeros64(v)
	return (e-sub+1)<<sub + int(v>>(e-sub)&(1<<sub-1))
}

// latDiff turns two snapshots into percentiles.
func latDiff(before, after []uint64, tscHz uint64) e2eLat {
	var l e2eLat
	d := make([]uint64, len(after))
	for i := range after {
		if after[i] > before[i] {
			d[i] = after[i] - before[i]
		}
		l.Count += d[i]
	}
	if l.Count == 0 || tscHz == 0 {
		return l
	}
	ns := func(b int) float64 { return float64(latBucketUpper(b)) * 1e9 / float64(tscHz) }
	q := func(p float64) float64 {
		want := uint64(p*float64(l.Count) + 0.5)
		want = max(want, 1)
		var acc uint64
		for i, c := range d {
			acc += c
			if acc >= want {
				return ns(i)
			}
		}
		return ns(len(d) - 1)
	}
	l.P50, l.P99, l.P999 = q(0.50), q(0.99), q(0.999)
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] > 0 {
			l.MaxNs = ns(i)
			break
		}
	}
	return l
}

// e2eGC is what the Go collector did during a phase (Go child only).
type e2eGC struct {
	Pauses  uint64  `json:"pauses"`   // stop-the-world pauses
	MaxNs   float64 `json:"max_ns"`   // longest (histogram bucket upper bound)
	TotalNs float64 `json:"total_ns"` // sum (bucket midpoints)
	Cycles  uint64  `json:"cycles"`   // GC cycles completed
}

var gcSamples = []metrics.Sample{{Name: "/gc/pauses:seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}

// gcSnap reads the runtime's pause histogram and cycle count.
func gcSnap() ([]uint64, []float64, uint64) {
	metrics.Read(gcSamples)
	h := gcSamples[0].Value.Float64Histogram()
	return append([]uint64(nil), h.Counts...), h.Buckets, gcSamples[1].Value.Uint64()
}

// gcDiff is the GC activity between two gcSnap calls.
func gcDiff(c0 []uint64, cy0 uint64, c1 []uint64, buckets []float64, cy1 uint64) e2eGC {
	g := e2eGC{Cycles: cy1 - cy0}
	for i := range c1 {
		n := c1[i] - c0[i]
		if n == 0 {
			continue
		}
		g.Pauses += n
		lo, hi := buckets[i], buckets[i+1]
		if hi > 1e300 {
			hi = lo
		}
		if lo < -1e300 {
			lo = 0
		}
		g.MaxNs = hi * 1e9
		g.TotalNs += float64(n) * (lo + hi) / 2 * 1e9
	}
	return g
}
