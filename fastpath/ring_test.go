package fastpath

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// twinRing is one ring in three copies: a (driven by DPDK's C), b (driven by
// the shipped kernels: assembly on amd64) and c (the Go twins).
type twinRing struct {
	a, b, c uintptr
	mem     int
	esize   int
	withC   bool
	hts     bool // HTS or RTS ring: default mode only
}

func newTwin(t testing.TB, count, flags uint32, esize int, start uint32, withC bool) *twinRing {
	t.Helper()
	mem, err := RingMemSize(count, esize, flags)
	if err != nil {
		t.Fatal(err)
	}
	tr := &twinRing{mem: mem, esize: esize, withC: withC,
		hts: flags&(RingMPHTSEnq|RingMCHTSDeq|RingMPRTSEnq|RingMCRTSDeq) != 0}
	tr.a, tr.b, tr.c = mmapMem(t, mem), mmapMem(t, mem), mmapMem(t, mem)
	if withC {
		// rte_ring_get_memsize_elem takes the rounded count, so compare
		// only power-of-two rings.
		if flags&RingExactSz == 0 {
			if want := dpdkref.RingMemSize(uint32(esize), count); want != mem {
				t.Fatalf("RingMemSize(%d, %d) = %d, DPDK %d", count, esize, mem, want)
			}
		}
		if err := dpdkref.RingInit(tr.a, "twin", count, flags); err != nil {
			t.Fatal(err)
		}
	} else if _, err := RingInit(tr.a, "twin", count, flags); err != nil {
		t.Fatal(err)
	}
	for _, a := range []uintptr{tr.b, tr.c} {
		if _, err := RingInit(a, "twin", count, flags); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(memBytes(tr.a, ringHeaderSize), memBytes(tr.b, ringHeaderSize)) {
		t.Fatalf("RingInit header differs from rte_ring_init:\n C %x\nGo %x", memBytes(tr.a, ringHeaderSize), memBytes(tr.b, ringHeaderSize))
	}
	for _, a := range []uintptr{tr.a, tr.b, tr.c} {
		p := ptrAt(a)
		for _, ht := range []uintptr{ringOffProd, ringOffCons} {
			switch ld32(p, ht+htOffSyncType) {
			case syncMTRTS: // {cnt, pos} words: tail at 0, head at 16
				st32(p, ht+rtsOffTailPos, start)
				st32(p, ht+rtsOffHeadPos, start)
			default: // MT/ST head/tail, HTS ht.pos.head/tail: same offsets
				st32(p, ht+htOffHead, start)
				st32(p, ht+htOffTail, start)
			}
		}
	}
	return tr
}

func (tr *twinRing) check(t testing.TB, what string) {
	t.Helper()
	if !bytes.Equal(memBytes(tr.a, tr.mem), memBytes(tr.b, tr.mem)) {
		t.Fatalf("%s: ring memory differs (ref vs shipped kernel)", what)
	}
	if !bytes.Equal(memBytes(tr.b, tr.mem), memBytes(tr.c, tr.mem)) {
		t.Fatalf("%s: ring memory differs (shipped kernel vs Go twin)", what)
	}
}

// step applies one random operation to all three rings and compares.
func (tr *twinRing) step(t testing.TB, rng *rand.Rand, size int, seq *uint32) {
	t.Helper()
	n := rng.IntN(size + 3)
	mode := rng.IntN(3)
	bulk := rng.IntN(2) == 0
	enq := rng.IntN(2) == 0
	es := tr.esize
	bufs := [3][]byte{make([]byte, n*es+8), make([]byte, n*es+8), make([]byte, n*es+8)}
	if enq {
		for i := 0; i < n*es; i += 4 {
			*seq++
			for k := range bufs {
				*(*uint32)(unsafe.Pointer(&bufs[k][i])) = *seq
			}
		}
	}
	var ra, rb, rc uint32
	if tr.hts {
		mode = ModeDefault // DPDK's explicit SP/MP calls corrupt RTS rings
	}
	if enq {
		ra = tr.ref(true, bufs[0], n, mode, bulk)
		rb = shippedEnq(Ring{ptrAt(tr.b)}, bufs[1], es, n, mode, bulk)
		rc = twinEnq(ptrAt(tr.c), bufs[2], es, n, mode, bulk)
	} else {
		ra = tr.ref(false, bufs[0], n, mode, bulk)
		rb = shippedDeq(Ring{ptrAt(tr.b)}, bufs[1], es, n, mode, bulk)
		rc = twinDeq(ptrAt(tr.c), bufs[2], es, n, mode, bulk)
	}
	if ra != rb || rb != rc {
		t.Fatalf("enq=%v n=%d mode=%d bulk=%v: ref %d, kernel %d, twin %d", enq, n, mode, bulk, ra, rb, rc)
	}
	if !bytes.Equal(bufs[0], bufs[1]) || !bytes.Equal(bufs[1], bufs[2]) {
		t.Fatalf("enq=%v n=%d: dequeued data differs", enq, n)
	}
	tr.check(t, "after op")
}

// ref runs the operation on ring a with DPDK's C (or with the Go twin when
// the C harness is not used).
func (tr *twinRing) ref(enq bool, buf []byte, n, mode int, bulk bool) uint32 {
	p := unsafe.Pointer(&buf[0])
	if tr.withC {
		if enq {
			k, _ := dpdkref.RingEnqueue(tr.a, p, uint32(tr.esize), uint32(n), mode, bulk)
			return k
		}
		k, _ := dpdkref.RingDequeue(tr.a, p, uint32(tr.esize), uint32(n), mode, bulk)
		return k
	}
	if enq {
		return twinEnq(ptrAt(tr.a), buf, tr.esize, n, mode, bulk)
	}
	return twinDeq(ptrAt(tr.a), buf, tr.esize, n, mode, bulk)
}

// shippedEnq runs an enqueue through the Ring methods (the dispatch users
// get: assembly kernels, HTS/RTS protocols).
func shippedEnq(r Ring, buf []byte, esize, n, mode int, bulk bool) uint32 {
	if esize == 8 {
		return enqueue8(r.p, unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n), callFlags(mode, bulk))
	}
	return uint32(r.EnqueueElem(buf[:n*esize], esize, mode, bulk))
}

// shippedDeq is the dequeue counterpart of shippedEnq.
func shippedDeq(r Ring, buf []byte, esize, n, mode int, bulk bool) uint32 {
	if esize == 8 {
		return dequeue8(r.p, unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n), callFlags(mode, bulk))
	}
	return uint32(r.DequeueElem(buf[:n*esize], esize, mode, bulk))
}

// twinEnq runs an enqueue with the Go twins only.
func twinEnq(r unsafe.Pointer, buf []byte, esize, n, mode int, bulk bool) uint32 {
	if esize == 8 {
		return enqueue8Go(r, unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n), callFlags(mode, bulk))
	}
	s := ld32(r, ringProdSync)
	if s > syncST {
		return enqueueSync(r, unsafe.Pointer(&buf[0]), uintptr(esize), uint32(n), s, bulk)
	}
	f := callFlags(mode, bulk)
	if f&kGeneric != 0 {
		f = f&kFixed | s
	}
	return enqueueGo(r, unsafe.Pointer(&buf[0]), uintptr(esize), uint32(n), f)
}

// twinDeq is the dequeue counterpart of twinEnq.
func twinDeq(r unsafe.Pointer, buf []byte, esize, n, mode int, bulk bool) uint32 {
	if esize == 8 {
		return dequeue8Go(r, unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n), callFlags(mode, bulk))
	}
	s := ld32(r, ringConsSync)
	if s > syncST {
		return dequeueSync(r, unsafe.Pointer(&buf[0]), uintptr(esize), uint32(n), s, bulk)
	}
	f := callFlags(mode, bulk)
	if f&kGeneric != 0 {
		f = f&kFixed | s
	}
	return dequeueGo(r, unsafe.Pointer(&buf[0]), uintptr(esize), uint32(n), f)
}

// kernelEnq runs the assembly (or, with purego, twin) kernel directly:
// enqueue8 for 8-byte elements, enqueue otherwise.
func kernelEnq(r unsafe.Pointer, buf []byte, esize, n int, flags uint32) uint32 {
	if esize == 8 {
		return enqueue8(r, unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n), flags)
	}
	return enqueue(r, unsafe.Pointer(&buf[0]), uintptr(esize), uint32(n), flags)
}

// kernelDeq is the dequeue counterpart of kernelEnq.
func kernelDeq(r unsafe.Pointer, buf []byte, esize, n int, flags uint32) uint32 {
	if esize == 8 {
		return dequeue8(r, unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n), flags)
	}
	return dequeue(r, unsafe.Pointer(&buf[0]), uintptr(esize), uint32(n), flags)
}

var twinStarts = []uint32{0, 5, 0x7ffffffd, 0xfffffff0, 0xffffffff}

func testRingTwin(t *testing.T, withC bool) {
	for _, esize := range []int{4, 8, 12, 16, 20} {
		for _, flags := range []uint32{0, RingSPEnq | RingSCDeq, RingExactSz, RingMPHTSEnq | RingMCHTSDeq,
			RingMPRTSEnq | RingMCRTSDeq, RingMPRTSEnq | RingSCDeq, RingSPEnq | RingMCHTSDeq | RingExactSz} {
			for _, start := range twinStarts {
				count := uint32(16)
				if flags&RingExactSz != 0 {
					count = 13
				}
				tr := newTwin(t, count, flags, esize, start, withC)
				rng := rand.New(rand.NewPCG(uint64(esize), uint64(start)))
				var seq uint32
				for i := 0; i < 400; i++ {
					tr.step(t, rng, 20, &seq)
				}
				r, err := RingAt(tr.b)
				if err != nil {
					t.Fatal(err)
				}
				if withC {
					if r.Count() != dpdkref.RingCount(tr.a) || r.FreeCount() != dpdkref.RingFreeCount(tr.a) ||
						r.Empty() != dpdkref.RingEmpty(tr.a) || r.Full() != dpdkref.RingFull(tr.a) {
						t.Fatalf("count/free/empty/full differ: %d/%d/%v/%v vs C %d/%d/%v/%v", r.Count(), r.FreeCount(), r.Empty(), r.Full(),
							dpdkref.RingCount(tr.a), dpdkref.RingFreeCount(tr.a), dpdkref.RingEmpty(tr.a), dpdkref.RingFull(tr.a))
					}
				}
			}
		}
	}
}

// TestRingTwinGo compares the shipped kernel with its Go twin (no C needed).
func TestRingTwinGo(t *testing.T) {
	t.Logf("shipped kernels: assembly %v", haveAsm)
	testRingTwin(t, false)
}

// TestRingTwinDPDK compares both with DPDK's own inline functions on twin memory.
func TestRingTwinDPDK(t *testing.T) {
	requireDPDK(t)
	for _, avx := range copyModes(t) {
		useAVX2 = avx
		testRingTwin(t, true)
	}
}

// TestRingBurstSweep sweeps every burst size 0..size+1 at every start index
// around the 2^32 wrap: kernel and twin must agree byte for byte.
func TestRingBurstSweep(t *testing.T) {
	for _, avx := range copyModes(t) {
		useAVX2 = avx
		testRingBurstSweep(t)
	}
}

func testRingBurstSweep(t *testing.T) {
	for _, esize := range []int{4, 8, 16} {
		for off := uint32(0); off < 40; off++ {
			start := uint32(0xffffffec) + off
			tr := newTwin(t, 32, 0, esize, start, false)
			var seq uint32
			for n := 0; n <= 33; n++ {
				buf := make([]byte, n*esize+8)
				for i := 0; i < n*esize; i += 4 {
					seq++
					*(*uint32)(unsafe.Pointer(&buf[i])) = seq
				}
				for _, single := range []uint32{0, kSingle} {
					b1, b2 := bytes.Clone(buf), bytes.Clone(buf)
					x := kernelEnq(ptrAt(tr.b), b1, esize, n, single)
					y := enqueueGo(ptrAt(tr.c), unsafe.Pointer(&b2[0]), uintptr(esize), uint32(n), single)
					if x != y {
						t.Fatalf("enqueue n=%d: %d vs %d", n, x, y)
					}
					x = kernelDeq(ptrAt(tr.b), b1, esize, n, single)
					y = dequeueGo(ptrAt(tr.c), unsafe.Pointer(&b2[0]), uintptr(esize), uint32(n), single)
					if x != y || !bytes.Equal(b1, b2) || !bytes.Equal(b1, buf) {
						t.Fatalf("dequeue n=%d start=%#x: %d vs %d, data equal %v", n, start, x, y, bytes.Equal(b1, b2))
					}
					if !bytes.Equal(memBytes(tr.b, tr.mem), memBytes(tr.c, tr.mem)) {
						t.Fatalf("n=%d start=%#x: memory differs", n, start)
					}
				}
			}
		}
	}
}

func TestRingAtValidation(t *testing.T) {
	if _, err := RingAt(0); !errors.Is(err, ErrNilPointer) {
		t.Fatalf("RingAt(0) = %v, want ErrNilPointer", err)
	}
	mem := mmapMem(t, 4096)
	if _, err := RingAt(mem + 8); !errors.Is(err, ErrBadRing) {
		t.Fatalf("unaligned: %v", err)
	}
	if _, err := RingAt(mem); !errors.Is(err, ErrBadRing) {
		t.Fatalf("zeroed memory: %v", err)
	}
	if _, err := RingInit(mem, "v", 8, 0); err != nil {
		t.Fatal(err)
	}
	p := ptrAt(mem)
	for _, c := range []struct {
		off uintptr
		val uint32
		err error
	}{
		{ringOffSize, 12, ErrBadRing},
		{ringOffMask, 3, ErrBadRing},
		{ringOffCapacity, 8, ErrBadRing},
		{ringOffFlags, 0x100, ErrBadRing},
		{ringProdSync, 7, ErrBadRing},
		{ringProdSync, syncMTHTS, nil},
		{ringConsSync, syncMTRTS, nil},
	} {
		old := ld32(p, c.off)
		st32(p, c.off, c.val)
		if _, err := RingAt(mem); !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("off %d = %d: got %v, want %v", c.off, c.val, err, c.err)
		}
		st32(p, c.off, old)
	}
	if _, err := RingAt(mem); err != nil {
		t.Fatal(err)
	}
}

// TestRingAtDPDK opens rings made by rte_ring_create with every flag
// combination of sync types.
func TestRingAtDPDK(t *testing.T) {
	requireDPDK(t)
	prod := []uint32{0, RingSPEnq, RingMPRTSEnq, RingMPHTSEnq}
	cons := []uint32{0, RingSCDeq, RingMCRTSDeq, RingMCHTSDeq}
	for _, pf := range prod {
		for _, cf := range cons {
			for _, ex := range []uint32{0, RingExactSz} {
				flags := pf | cf | ex
				count := uint32(128)
				if ex != 0 {
					count = 100
				}
				addr, err := dpdkref.RingCreate(dpdkref.Unique("rat"), count, flags)
				if err != nil {
					t.Fatal(err)
				}
				r, err := RingAt(addr)
				if err != nil {
					t.Errorf("flags %#x: %v", flags, err)
				} else if r.Capacity() != dpdkref.RingFreeCount(addr) || !r.Empty() {
					t.Errorf("flags %#x: capacity %d, C free %d", flags, r.Capacity(), dpdkref.RingFreeCount(addr))
				}
				dpdkref.RingFree(addr)
			}
		}
	}
}

// TestRingGenericKernels8 compares the generic-size kernel at esize 8 with
// the pointer kernel, so both assembly entry points stay proven.
func TestRingGenericKernels8(t *testing.T) {
	for off := uint32(0); off < 40; off++ {
		tr := newTwin(t, 32, 0, 8, 0xffffffec+off, false)
		for n := 0; n <= 33; n++ {
			buf := make([]byte, n*8+8)
			for i := range buf {
				buf[i] = byte(i + n)
			}
			b1, b2 := bytes.Clone(buf), bytes.Clone(buf)
			for _, f := range []uint32{0, kSingle, kFixed} {
				x := enqueue(ptrAt(tr.b), unsafe.Pointer(&b1[0]), 8, uint32(n), f)
				y := kernelEnq(ptrAt(tr.c), b2, 8, n, f)
				if x != y {
					t.Fatalf("n=%d: %d vs %d", n, x, y)
				}
				x = dequeue(ptrAt(tr.b), unsafe.Pointer(&b1[0]), 8, uint32(n), f)
				y = kernelDeq(ptrAt(tr.c), b2, 8, n, f)
				if x != y || !bytes.Equal(b1, b2) || !bytes.Equal(memBytes(tr.b, tr.mem), memBytes(tr.c, tr.mem)) {
					t.Fatalf("n=%d flags %d: differ", n, f)
				}
			}
		}
	}
}

// TestRingInitDPDK: RingInit writes the same header bytes as rte_ring_init
// for every flag combination, HTS/RTS included; invalid inputs fail on both.
func TestRingInitDPDK(t *testing.T) {
	requireDPDK(t)
	a, b := mmapMem(t, 4096), mmapMem(t, 4096)
	for flags := uint32(0); flags <= ringFMask; flags++ {
		// count 0: rte_ring_init accepts it (POWEROF2(0)) and makes a ring of
		// size 0 that no call can use; RingInit refuses it.
		counts := []uint32{0, 1, 8, 13, 64}
		if flags&RingExactSz == 0 {
			counts = counts[1:]
			if _, err := RingInit(b, "init", 0, flags); !errors.Is(err, ErrBadRing) {
				t.Fatalf("count 0: %v", err)
			}
		}
		for _, count := range counts {
			ea := dpdkref.RingInit(a, "init", count, flags)
			_, eb := RingInit(b, "init", count, flags)
			if (ea == nil) != (eb == nil) {
				t.Fatalf("flags %#x count %d: C %v, Go %v", flags, count, ea, eb)
			}
			if ea == nil && !bytes.Equal(memBytes(a, ringHeaderSize), memBytes(b, ringHeaderSize)) {
				t.Fatalf("flags %#x count %d: headers differ", flags, count)
			}
		}
	}
}

// enqueue8 runs the pointer enqueue kernel of a Ring method chosen by flags
// (kSingle, kFixed, kGeneric as callFlags makes them).
func enqueue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32 {
	p, n := unsafe.SliceData(objs), len(objs)
	switch flags {
	case kSingle | kFixed:
		return spEnqueueBulk8(r, p, n)
	case kFixed:
		return mpEnqueueBulk8(r, p, n)
	case kGeneric | kFixed:
		return enqueueBulk8(r, p, n)
	case kSingle:
		return spEnqueueBurst8(r, p, n)
	case 0:
		return mpEnqueueBurst8(r, p, n)
	case kGeneric:
		return enqueueBurst8(r, p, n)
	}
	panic("enqueue8: bad flags")
}

// dequeue8 is the dequeue counterpart of enqueue8.
func dequeue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32 {
	p, n := unsafe.SliceData(objs), len(objs)
	switch flags {
	case kSingle | kFixed:
		return scDequeueBulk8(r, p, n)
	case kFixed:
		return mcDequeueBulk8(r, p, n)
	case kGeneric | kFixed:
		return dequeueBulk8(r, p, n)
	case kSingle:
		return scDequeueBurst8(r, p, n)
	case 0:
		return mcDequeueBurst8(r, p, n)
	case kGeneric:
		return dequeueBurst8(r, p, n)
	}
	panic("dequeue8: bad flags")
}
