package fastpath

import (
	"fmt"
	"math/bits"
	"unsafe"
)

// Offsets used by the kernels (and by ring_amd64.s through go_asm.h).
const (
	ringProdHead = ringOffProd + htOffHead
	ringProdTail = ringOffProd + htOffTail
	ringProdSync = ringOffProd + htOffSyncType
	ringConsHead = ringOffCons + htOffHead
	ringConsTail = ringOffCons + htOffTail
	ringConsSync = ringOffCons + htOffSyncType
)

// Kernel flags: kSingle selects the single-producer/consumer path and is
// numerically RTE_RING_SYNC_ST, so a ring's own sync_type can be passed as is;
// kFixed is RTE_RING_QUEUE_FIXED (bulk: all or nothing).
const (
	kSingle  = 1
	kFixed   = 2
	kGeneric = 4 // Ring methods only: use the ring's own sync type
)

// SyncType is a ring end's synchronisation mode (enum rte_ring_sync_type).
type SyncType uint32

// Ring sync types, values as in DPDK.
const (
	SyncMT    SyncType = syncMT    // multi-thread safe (default)
	SyncST    SyncType = syncST    // single thread only
	SyncMTRTS SyncType = syncMTRTS // multi-thread relaxed tail sync
	SyncMTHTS SyncType = syncMTHTS // multi-thread head/tail sync
)

func (s SyncType) String() string {
	switch s {
	case SyncMT:
		return "MT"
	case SyncST:
		return "ST"
	case SyncMTRTS:
		return "MT_RTS"
	case SyncMTHTS:
		return "MT_HTS"
	}
	return fmt.Sprintf("SyncType(%d)", uint32(s))
}

// Ring creation flags (RING_F_*), as accepted by RingInit.
const (
	RingSPEnq    = ringFSPEnq
	RingSCDeq    = ringFSCDeq
	RingExactSz  = ringFExactSz
	RingMPRTSEnq = ringFMPRTSEnq
	RingMCRTSDeq = ringFMCRTSDeq
	RingMPHTSEnq = ringFMPHTSEnq
	RingMCHTSDeq = ringFMCHTSDeq
)

// Ring is a handle on a DPDK rte_ring (22.11 layout) living in memory that Go
// does not manage: a hugepage segment mapped from a primary, or memory a test
// mapped itself. The handle is a plain pointer; copying it is free. A Ring is
// valid only while that memory stays mapped.
//
// Elements are either pointer-sized ([]uintptr, the rte_ring_* calls) or of a
// fixed size that is a multiple of 4 bytes ([]byte, the *Elem calls, like
// rte_ring_*_elem). The element size is not stored in the ring: every user of
// a ring must agree on it, as in DPDK.
type Ring struct{ p unsafe.Pointer }

// RingAt validates the rte_ring header at addr and returns a handle on it.
// It checks alignment, that size is a power of two not above RTE_RING_SZ_MASK,
// mask == size-1, capacity <= mask (== mask unless RING_F_EXACT_SZ), that the
// flags are known and the sync types are known (MT, ST, MT_RTS, MT_HTS).
func RingAt(addr uintptr) (Ring, error) {
	if addr == 0 {
		return Ring{}, fmt.Errorf("ring: %w", ErrNilPointer)
	}
	if addr%64 != 0 {
		return Ring{}, fmt.Errorf("ring at %#x: not cache-line aligned: %w", addr, ErrBadRing)
	}
	p := ptrAt(addr)
	flags := ld32(p, ringOffFlags)
	size := ld32(p, ringOffSize)
	mask := ld32(p, ringOffMask)
	capacity := ld32(p, ringOffCapacity)
	switch {
	case flags&^ringFMask != 0:
		return Ring{}, fmt.Errorf("ring at %#x: unknown flags %#x: %w", addr, flags, ErrBadRing)
	case size == 0 || size&(size-1) != 0 || size > ringSzMask:
		return Ring{}, fmt.Errorf("ring at %#x: size %d is not a power of two <= %d: %w", addr, size, ringSzMask, ErrBadRing)
	case mask != size-1:
		return Ring{}, fmt.Errorf("ring at %#x: mask %#x != size-1 (size %d): %w", addr, mask, size, ErrBadRing)
	case capacity > mask || (flags&ringFExactSz == 0 && capacity != mask):
		return Ring{}, fmt.Errorf("ring at %#x: capacity %d does not fit size %d (flags %#x): %w", addr, capacity, size, flags, ErrBadRing)
	}
	if _, ok := cstring(unsafe.Add(p, ringOffName), ringNameSize); !ok {
		return Ring{}, fmt.Errorf("ring at %#x: name not NUL-terminated: %w", addr, ErrBadRing)
	}
	ps, cs := SyncType(ld32(p, ringProdSync)), SyncType(ld32(p, ringConsSync))
	for _, s := range [2]SyncType{ps, cs} {
		switch s {
		case SyncMT, SyncST, SyncMTRTS, SyncMTHTS:
		default:
			return Ring{}, fmt.Errorf("ring at %#x: unknown sync type %d: %w: %w", addr, uint32(s), ErrSyncUnsupported, ErrBadRing)
		}
	}
	return Ring{p}, nil
}

// RingMemSize returns the bytes needed for a ring of count elements of esize
// bytes, as rte_ring_get_memsize_elem: count must be a power of two unless
// RING_F_EXACT_SZ is in flags, esize a positive multiple of 4.
func RingMemSize(count uint32, esize int, flags uint32) (int, error) {
	if esize <= 0 || esize%4 != 0 {
		return 0, fmt.Errorf("ring mem size: element size %d not a positive multiple of 4: %w", esize, ErrBadRing)
	}
	if flags&ringFExactSz != 0 {
		if count >= ringSzMask {
			return 0, fmt.Errorf("ring mem size: count %d too large: %w", count, ErrBadRing)
		}
		count = 1 << bits.Len32(count) // rte_align32pow2(count + 1)
	}
	if count == 0 || count&(count-1) != 0 || count > ringSzMask {
		return 0, fmt.Errorf("ring mem size: count %d is not a power of two: %w", count, ErrBadRing)
	}
	sz := ringHeaderSize + int(count)*esize
	return (sz + 63) &^ 63, nil
}

// RingInit initialises an rte_ring header at addr (rte_ring_init): name,
// flags, sync types, size/mask/capacity, indices zero, RTS head-tail distance
// capacity/8. The caller provides at least RingMemSize bytes, 64-byte aligned;
// the slots are not cleared.
func RingInit(addr uintptr, name string, count uint32, flags uint32) (Ring, error) {
	if addr == 0 {
		return Ring{}, fmt.Errorf("ring init: %w", ErrNilPointer)
	}
	if addr%64 != 0 {
		return Ring{}, fmt.Errorf("ring init at %#x: not cache-line aligned: %w", addr, ErrBadRing)
	}
	if flags&^ringFMask != 0 {
		return Ring{}, fmt.Errorf("ring init %q: unknown flags %#x: %w", name, flags, ErrBadRing)
	}
	if len(name) >= ringNameSize {
		return Ring{}, fmt.Errorf("ring init %q: name longer than %d bytes: %w", name, ringNameSize-1, ErrBadRing)
	}
	syncOf := func(st, rts, hts uint32) (SyncType, bool) {
		switch flags & (st | rts | hts) {
		case 0:
			return SyncMT, true
		case st:
			return SyncST, true
		case rts:
			return SyncMTRTS, true
		case hts:
			return SyncMTHTS, true
		}
		return 0, false
	}
	ps, ok1 := syncOf(ringFSPEnq, ringFMPRTSEnq, ringFMPHTSEnq)
	cs, ok2 := syncOf(ringFSCDeq, ringFMCRTSDeq, ringFMCHTSDeq)
	if !ok1 || !ok2 {
		return Ring{}, fmt.Errorf("ring init %q: conflicting sync flags %#x: %w", name, flags, ErrBadRing)
	}
	var size, capacity uint32
	if flags&ringFExactSz != 0 {
		if count >= ringSzMask {
			return Ring{}, fmt.Errorf("ring init %q: count %d too large: %w", name, count, ErrBadRing)
		}
		size, capacity = 1<<bits.Len32(count), count
	} else {
		if count == 0 || count&(count-1) != 0 || count > ringSzMask {
			return Ring{}, fmt.Errorf("ring init %q: count %d is not a power of two: %w", name, count, ErrBadRing)
		}
		size, capacity = count, count-1
	}
	p := ptrAt(addr)
	clear(unsafe.Slice((*byte)(p), ringHeaderSize))
	copy(unsafe.Slice((*byte)(p), ringNameSize), name)
	st32(p, ringOffFlags, flags)
	st32(p, ringProdSync, uint32(ps))
	st32(p, ringConsSync, uint32(cs))
	st32(p, ringOffSize, size)
	st32(p, ringOffMask, size-1)
	st32(p, ringOffCapacity, capacity)
	// rte_ring_set_prod/cons_htd_max(r, capacity / HTD_MAX_DEF).
	if ps == SyncMTRTS {
		st32(p, ringOffProd+rtsOffHtdMax, capacity/ringHtdMaxDef)
	}
	if cs == SyncMTRTS {
		st32(p, ringOffCons+rtsOffHtdMax, capacity/ringHtdMaxDef)
	}
	return Ring{p}, nil
}

// Addr returns the ring's address.
func (r Ring) Addr() uintptr { return uintptr(r.p) }

// IsZero reports whether r is the zero Ring (no ring).
func (r Ring) IsZero() bool { return r.p == nil }

// Name returns the ring's name.
func (r Ring) Name() string { s, _ := cstring(unsafe.Add(r.p, ringOffName), ringNameSize); return s }

// Flags returns the flags the ring was created with (RING_F_*).
func (r Ring) Flags() uint32 { return ld32(r.p, ringOffFlags) }

// Size returns the number of slots (a power of two).
func (r Ring) Size() int { return int(ld32(r.p, ringOffSize)) }

// Capacity returns how many elements the ring can hold.
func (r Ring) Capacity() int { return int(ld32(r.p, ringOffCapacity)) }

// ProdSync returns the producer's sync type.
func (r Ring) ProdSync() SyncType { return SyncType(ld32(r.p, ringProdSync)) }

// ConsSync returns the consumer's sync type.
func (r Ring) ConsSync() SyncType { return SyncType(ld32(r.p, ringConsSync)) }

// Count returns the number of elements in the ring (rte_ring_count). Under
// concurrent use it is a snapshot.
func (r Ring) Count() int {
	pt := loadAcq32(r.p, ringProdTail)
	ct := loadAcq32(r.p, ringConsTail)
	count := (pt - ct) & ld32(r.p, ringOffMask)
	if c := ld32(r.p, ringOffCapacity); count > c {
		return int(c)
	}
	return int(count)
}

// FreeCount returns the number of free slots (rte_ring_free_count).
func (r Ring) FreeCount() int { return r.Capacity() - r.Count() }

// Empty reports whether the ring holds no element (rte_ring_empty).
func (r Ring) Empty() bool {
	return loadAcq32(r.p, ringProdTail) == loadAcq32(r.p, ringConsTail)
}

// Full reports whether the ring is full (rte_ring_full).
func (r Ring) Full() bool { return r.FreeCount() == 0 }

// clampN limits a request to what a uint32 count can say; any request above
// RTE_RING_SZ_MASK exceeds every ring's capacity.
func clampN(n int) uint32 {
	if n > ringSzMask {
		return ringSzMask
	}
	return uint32(n)
}

func ptrs(objs []uintptr) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(objs)) }

// Pointer-sized elements. Each call mirrors the DPDK 22.11 inline function of
// the same name (rte_ring_sp_enqueue_bulk → SPEnqueueBulk, …). Bulk calls move
// all n or nothing and return n or 0; burst calls move as many as possible and
// return that number. The generic calls (EnqueueBulk, DequeueBurst, …) honour
// the ring's own sync type, read on every call like DPDK. On an HTS or RTS
// ring end every call, explicit SP/MP/SC/MC ones included, runs that end's
// own (multi-thread safe) protocol instead of corrupting it. A call that
// waits behind another thread's reservation returns 0 (false) if the ring's
// memory is abandoned meanwhile (AbandonMemory); what it copied is lost.

// SPEnqueueBulk enqueues all of objs or none (single producer).
func (r Ring) SPEnqueueBulk(objs []uintptr) int {
	return int(spEnqueueBulk8(r.p, unsafe.SliceData(objs), len(objs)))
}

// MPEnqueueBulk enqueues all of objs or none (multi-producer safe).
func (r Ring) MPEnqueueBulk(objs []uintptr) int {
	return int(mpEnqueueBulk8(r.p, unsafe.SliceData(objs), len(objs)))
}

// EnqueueBulk enqueues all of objs or none, following the ring's producer sync type.
func (r Ring) EnqueueBulk(objs []uintptr) int {
	return int(enqueueBulk8(r.p, unsafe.SliceData(objs), len(objs)))
}

// SPEnqueueBurst enqueues as many of objs as fit (single producer).
func (r Ring) SPEnqueueBurst(objs []uintptr) int {
	return int(spEnqueueBurst8(r.p, unsafe.SliceData(objs), len(objs)))
}

// MPEnqueueBurst enqueues as many of objs as fit (multi-producer safe).
func (r Ring) MPEnqueueBurst(objs []uintptr) int {
	return int(mpEnqueueBurst8(r.p, unsafe.SliceData(objs), len(objs)))
}

// EnqueueBurst enqueues as many of objs as fit, following the ring's producer sync type.
func (r Ring) EnqueueBurst(objs []uintptr) int {
	return int(enqueueBurst8(r.p, unsafe.SliceData(objs), len(objs)))
}

// SCDequeueBulk fills all of objs or dequeues nothing (single consumer).
func (r Ring) SCDequeueBulk(objs []uintptr) int {
	return int(scDequeueBulk8(r.p, unsafe.SliceData(objs), len(objs)))
}

// MCDequeueBulk fills all of objs or dequeues nothing (multi-consumer safe).
func (r Ring) MCDequeueBulk(objs []uintptr) int {
	return int(mcDequeueBulk8(r.p, unsafe.SliceData(objs), len(objs)))
}

// DequeueBulk fills all of objs or nothing, following the ring's consumer sync type.
func (r Ring) DequeueBulk(objs []uintptr) int {
	return int(dequeueBulk8(r.p, unsafe.SliceData(objs), len(objs)))
}

// SCDequeueBurst dequeues up to len(objs) elements (single consumer).
func (r Ring) SCDequeueBurst(objs []uintptr) int {
	return int(scDequeueBurst8(r.p, unsafe.SliceData(objs), len(objs)))
}

// MCDequeueBurst dequeues up to len(objs) elements (multi-consumer safe).
func (r Ring) MCDequeueBurst(objs []uintptr) int {
	return int(mcDequeueBurst8(r.p, unsafe.SliceData(objs), len(objs)))
}

// DequeueBurst dequeues up to len(objs) elements, following the ring's consumer sync type.
func (r Ring) DequeueBurst(objs []uintptr) int {
	return int(dequeueBurst8(r.p, unsafe.SliceData(objs), len(objs)))
}

// Single pointer-sized elements (rte_ring_sp_enqueue, rte_ring_sc_dequeue,
// …): one object per call with no slice, one assembly call. The burst and
// bulk calls above take the same kernel when given exactly one element.
// Sync types are honoured as by the burst calls.

// SPEnqueue enqueues obj (single producer, rte_ring_sp_enqueue); false when
// the ring is full.
func (r Ring) SPEnqueue(obj uintptr) bool { return spEnqueueOne(r.p, obj) != 0 }

// MPEnqueue enqueues obj (multi-producer safe, rte_ring_mp_enqueue).
func (r Ring) MPEnqueue(obj uintptr) bool { return mpEnqueueOne(r.p, obj) != 0 }

// Enqueue enqueues obj following the ring's producer sync type
// (rte_ring_enqueue).
func (r Ring) Enqueue(obj uintptr) bool { return enqueueOne(r.p, obj) != 0 }

// SCDequeue dequeues one element (single consumer, rte_ring_sc_dequeue); ok
// is false (and obj 0) when the ring is empty.
func (r Ring) SCDequeue() (obj uintptr, ok bool) {
	obj, n := scDequeueOne(r.p)
	return obj, n != 0
}

// MCDequeue dequeues one element (multi-consumer safe, rte_ring_mc_dequeue).
func (r Ring) MCDequeue() (obj uintptr, ok bool) {
	obj, n := mcDequeueOne(r.p)
	return obj, n != 0
}

// Dequeue dequeues one element following the ring's consumer sync type
// (rte_ring_dequeue).
func (r Ring) Dequeue() (obj uintptr, ok bool) {
	obj, n := dequeueOne(r.p)
	return obj, n != 0
}

// Sized elements (rte_ring_*_elem). data holds len(data)/esize elements of
// esize bytes each; esize must be a positive multiple of 4 and divide
// len(data) (a violation is a programming error and panics). Results count
// elements.

// Ring modes for the *Elem calls.
const (
	// ModeDefault follows the ring's own sync type.
	ModeDefault = iota
	// ModeSingle is the SP/SC path.
	ModeSingle
	// ModeMulti is the MP/MC path.
	ModeMulti
)

func elemArgs(data []byte, esize int) (unsafe.Pointer, uint32) {
	if esize <= 0 || esize%4 != 0 || len(data)%esize != 0 {
		panic(fmt.Sprintf("fastpath: element size %d must be a positive multiple of 4 dividing len(data) %d", esize, len(data)))
	}
	return unsafe.Pointer(unsafe.SliceData(data)), clampN(len(data) / esize)
}

func callFlags(mode int, bulk bool) uint32 {
	f := uint32(kGeneric)
	switch mode {
	case ModeSingle:
		f = kSingle
	case ModeMulti:
		f = 0
	}
	if bulk {
		f |= kFixed
	}
	return f
}

// EnqueueElem enqueues the elements of data; bulk selects all-or-nothing
// (rte_ring_*_enqueue_bulk_elem) over burst (rte_ring_*_enqueue_burst_elem).
func (r Ring) EnqueueElem(data []byte, esize int, mode int, bulk bool) int {
	p, n := elemArgs(data, esize)
	f := callFlags(mode, bulk)
	s := ld32(r.p, ringProdSync)
	if s > syncST {
		return int(enqueueSync(r.p, p, uintptr(esize), n, s, bulk))
	}
	if f&kGeneric != 0 {
		f = f&kFixed | s
	}
	return int(enqueue(r.p, p, uintptr(esize), n, f))
}

// DequeueElem dequeues into data (see EnqueueElem).
func (r Ring) DequeueElem(data []byte, esize int, mode int, bulk bool) int {
	p, n := elemArgs(data, esize)
	f := callFlags(mode, bulk)
	s := ld32(r.p, ringConsSync)
	if s > syncST {
		return int(dequeueSync(r.p, p, uintptr(esize), n, s, bulk))
	}
	if f&kGeneric != 0 {
		f = f&kFixed | s
	}
	return int(dequeue(r.p, p, uintptr(esize), n, f))
}
