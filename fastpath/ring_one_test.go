package fastpath

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// Single-element operations: the single-object calls (SPEnqueue, MCDequeue,
// …) and the burst/bulk calls given exactly one element take their own
// assembly paths. They are driven here on twin rings — a with DPDK's
// rte_ring_{sp,mp,}_enqueue / rte_ring_{sc,mc,}_dequeue (or the Go twins
// when withC is false), b with the Ring methods (the shipped kernels), c
// with the Go twins — for every sync type, across the 2^32 index wrap, and
// through full and empty: results, objects and the whole ring memory must
// agree after every step.

// oneFlags is the kernel flags of a Ring mode for the Go twins.
func oneFlags(mode int) uint32 {
	switch mode {
	case ModeSingle:
		return kSingle
	case ModeMulti:
		return 0
	}
	return kGeneric
}

// shippedOne runs one single-element operation through the Ring methods:
// kind 0 the single-object call, 1 the burst call, 2 the bulk call with a
// one-element slice.
func shippedOne(r Ring, enq bool, kind, mode int, obj uintptr) (uintptr, bool) {
	one := []uintptr{obj}
	if enq {
		switch kind {
		case 0:
			return 0, enqueueOneMode(r, mode, obj)
		case 1:
			return 0, [3]func([]uintptr) int{r.EnqueueBurst, r.SPEnqueueBurst, r.MPEnqueueBurst}[mode](one) == 1
		default:
			return 0, [3]func([]uintptr) int{r.EnqueueBulk, r.SPEnqueueBulk, r.MPEnqueueBulk}[mode](one) == 1
		}
	}
	one[0] = 0xdead // must stay when nothing is dequeued
	var n int
	switch kind {
	case 0:
		return dequeueOneMode(r, mode)
	case 1:
		n = [3]func([]uintptr) int{r.DequeueBurst, r.SCDequeueBurst, r.MCDequeueBurst}[mode](one)
	default:
		n = [3]func([]uintptr) int{r.DequeueBulk, r.SCDequeueBulk, r.MCDequeueBulk}[mode](one)
	}
	if n == 0 {
		if one[0] != 0xdead {
			panic("failed one-element dequeue wrote its slice")
		}
		return 0, false
	}
	return one[0], true
}

func testRingOne(t *testing.T, withC bool) {
	for _, flags := range []uint32{0, RingSPEnq | RingSCDeq, RingExactSz, RingMPHTSEnq | RingMCHTSDeq,
		RingMPRTSEnq | RingMCRTSDeq, RingMPRTSEnq | RingSCDeq, RingSPEnq | RingMCHTSDeq | RingExactSz} {
		for _, start := range twinStarts {
			count := uint32(16)
			if flags&RingExactSz != 0 {
				count = 13
			}
			tr := newTwin(t, count, flags, 8, start, withC)
			rb := Ring{ptrAt(tr.b)}
			rng := rand.New(rand.NewPCG(uint64(flags), uint64(start)))
			seq := uintptr(start) << 8
			for step := 0; step < 600; step++ {
				enq := rng.IntN(2) == 0
				kind := rng.IntN(3)
				mode := rng.IntN(3)
				if tr.hts {
					mode = ModeDefault // DPDK's explicit SP/MP calls corrupt RTS rings
				}
				seq++
				var oa, ob, oc uintptr
				var ka, kb, kc bool
				if enq {
					if withC {
						ka = dpdkref.RingEnqueueOne(tr.a, seq, mode)
					} else {
						ka = enqueueOneGo(ptrAt(tr.a), seq, oneFlags(mode)) == 1
					}
					_, kb = shippedOne(rb, true, kind, mode, seq)
					kc = enqueueOneGo(ptrAt(tr.c), seq, oneFlags(mode)) == 1
				} else {
					if withC {
						oa, ka = dpdkref.RingDequeueOne(tr.a, mode)
					} else {
						var n uint32
						oa, n = dequeueOneGo(ptrAt(tr.a), oneFlags(mode))
						ka = n == 1
					}
					ob, kb = shippedOne(rb, false, kind, mode, 0)
					var n uint32
					oc, n = dequeueOneGo(ptrAt(tr.c), oneFlags(mode))
					kc = n == 1
				}
				if ka != kb || kb != kc || oa != ob || ob != oc {
					t.Fatalf("flags %#x start %#x step %d enq=%v kind %d mode %d: ref %v %#x, shipped %v %#x, twin %v %#x",
						flags, start, step, enq, kind, mode, ka, oa, kb, ob, kc, oc)
				}
				if !enq && !kb && ob != 0 {
					t.Fatalf("failed dequeue returned %#x", ob)
				}
				tr.check(t, "single-element op")
			}
		}
	}
}

// TestRingOneGo compares the single-element kernels with their Go twins.
func TestRingOneGo(t *testing.T) { testRingOne(t, false) }

// TestRingOneDPDK compares them with DPDK's rte_ring_sp_enqueue & co.
func TestRingOneDPDK(t *testing.T) {
	requireDPDK(t)
	testRingOne(t, true)
}

// TestRingOneKernels calls every single-element kernel directly at every
// start index around the 2^32 wrap, through full and empty, against the Go
// twin (no C needed).
func TestRingOneKernels(t *testing.T) {
	type enqK func(unsafe.Pointer, uintptr) uint32
	type deqK func(unsafe.Pointer) (uintptr, uint32)
	enqs := []struct {
		k     enqK
		flags uint32
	}{{spEnqueueOne, kSingle}, {mpEnqueueOne, 0}, {enqueueOne, kGeneric}}
	deqs := []struct {
		k     deqK
		flags uint32
	}{{scDequeueOne, kSingle}, {mcDequeueOne, 0}, {dequeueOne, kGeneric}}
	for _, flags := range []uint32{0, RingSPEnq | RingSCDeq, RingMPHTSEnq | RingMCRTSDeq} {
		for off := uint32(0); off < 20; off++ {
			tr := newTwin(t, 8, flags, 8, 0xfffffff6+off, false)
			for i := 0; i < 3; i++ {
				e, d := enqs[(int(off)+i)%3], deqs[(int(off)+2*i)%3]
				// Fill past full, then drain past empty.
				for k := 0; k < 9; k++ {
					obj := uintptr(off)<<16 | uintptr(k+1)
					x, y := e.k(ptrAt(tr.b), obj), enqueueOneGo(ptrAt(tr.c), obj, e.flags)
					if x != y || x != b2u(k < 7) {
						t.Fatalf("flags %#x start %#x enqueue %d: kernel %d, twin %d", flags, 0xfffffff6+off, k, x, y)
					}
				}
				for k := 0; k < 9; k++ {
					o1, x := d.k(ptrAt(tr.b))
					o2, y := dequeueOneGo(ptrAt(tr.c), d.flags)
					if x != y || o1 != o2 || x != b2u(k < 7) || (x == 1 && o1 != uintptr(off)<<16|uintptr(k+1)) {
						t.Fatalf("flags %#x start %#x dequeue %d: kernel %d %#x, twin %d %#x", flags, 0xfffffff6+off, k, x, o1, y, o2)
					}
				}
				if string(memBytes(tr.b, tr.mem)) != string(memBytes(tr.c, tr.mem)) {
					t.Fatalf("flags %#x start %#x: memory differs", flags, 0xfffffff6+off)
				}
			}
		}
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
