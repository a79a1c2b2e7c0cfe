package shm

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// lockTimeout bounds waiting for a reader lock in shared memory.
const lockTimeout = time.Second

// Memzone describes one rte_memzone of the primary.
type Memzone struct {
	Name       string
	Addr       uintptr // start of the zone (in mapped hugepage memory)
	Len        uintptr
	Iova       uint64
	HugepageSz uint64
	SocketID   int
	Flags      uint32
}

// Memzones lists the primary's memzones (the "memzone" fbarray).
func (h *Handle) Memzones() ([]Memzone, error) {
	var out []Memzone
	err := h.walkMemzones(func(mz Memzone) bool { out = append(out, mz); return true })
	return out, err
}

// Memzone finds a memzone by name (wrapped ErrNotFound if there is none).
func (h *Handle) Memzone(name string) (Memzone, error) {
	var found *Memzone
	err := h.walkMemzones(func(mz Memzone) bool {
		if mz.Name == name {
			found = &mz
			return false
		}
		return true
	})
	if err != nil {
		return Memzone{}, err
	}
	if found == nil {
		return Memzone{}, fmt.Errorf("shm: memzone %q: %w", name, ErrNotFound)
	}
	return *found, nil
}

func (h *Handle) walkMemzones(fn func(Memzone) bool) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.detached {
		return ErrDetached
	}
	if err := rwlockReadLock(h.cfg+dpdk.OffsetofMemConfigMlock, lockTimeout); err != nil {
		return fmt.Errorf("shm: memzone lock: %w", err)
	}
	defer rwlockReadUnlock(h.cfg + dpdk.OffsetofMemConfigMlock)
	arr := h.cfg + dpdk.OffsetofMemConfigMemzones
	_, n, eltSz, data, err := fbarray(arr)
	if err != nil {
		return err
	}
	if eltSz != dpdk.SizeofMemzone {
		return fmt.Errorf("shm: memzone fbarray element size %d, want %d: %w", eltSz, dpdk.SizeofMemzone, ErrCorrupt)
	}
	mask := data + eltSz*n + usedMaskData
	for w := uintptr(0); w < (n+63)/64; w++ {
		word := atomic.LoadUint64((*uint64)(ptr(mask + w*8)))
		for word != 0 {
			b := uintptr(trailingZeros(word))
			word &= word - 1
			i := w*64 + b
			if i >= n {
				break
			}
			e := data + i*eltSz
			mz := Memzone{
				Name:       cstring(e+dpdk.OffsetofMemzoneName, dpdk.RTE_MEMZONE_NAMESIZE),
				Iova:       ld64(e + dpdk.OffsetofMemzoneIova),
				Addr:       uintptr(ld64(e + dpdk.OffsetofMemzoneAddr)),
				Len:        uintptr(ld64(e + dpdk.OffsetofMemzoneLen)),
				HugepageSz: ld64(e + dpdk.OffsetofMemzoneHugepageSz),
				SocketID:   int(int32(ld32(e + dpdk.OffsetofMemzoneSocketId))),
				Flags:      ld32(e + dpdk.OffsetofMemzoneFlags),
			}
			if !fn(mz) {
				return nil
			}
		}
	}
	return nil
}

// Tailq names of the lists EAL keeps objects on.
const (
	TailqRing    = "RTE_RING"
	TailqMempool = "RTE_MEMPOOL"
)

// maxTailq bounds a tailq walk so a corrupted (cyclic) list cannot hang us.
const maxTailq = 1 << 16

// Tailq returns the data pointers of the named tailq (e.g. TailqRing), in
// list order, each checked to lie in mapped memory.
func (h *Handle) Tailq(name string) ([]uintptr, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.detached {
		return nil, ErrDetached
	}
	if err := rwlockReadLock(h.cfg+dpdk.OffsetofMemConfigQlock, lockTimeout); err != nil {
		return nil, fmt.Errorf("shm: tailq lock: %w", err)
	}
	defer rwlockReadUnlock(h.cfg + dpdk.OffsetofMemConfigQlock)
	for i := uintptr(0); i < dpdk.RTE_MAX_TAILQ; i++ {
		head := h.cfg + dpdk.OffsetofMemConfigTailqHead + i*dpdk.SizeofTailqHead
		if cstring(head+dpdk.OffsetofTailqHeadName, dpdk.RTE_TAILQ_NAMESIZE) != name {
			continue
		}
		var out []uintptr
		e := uintptr(ld64(head + dpdk.OffsetofTailqHeadTailqHead)) // tqh_first
		for e != 0 {
			if len(out) == maxTailq {
				return nil, fmt.Errorf("shm: tailq %s longer than %d (cycle?): %w", name, maxTailq, ErrCorrupt)
			}
			if !h.containsLocked(e, dpdk.SizeofTailqEntry) {
				return nil, fmt.Errorf("shm: tailq %s entry %#x: %w", name, e, ErrBadAddress)
			}
			out = append(out, uintptr(ld64(e+dpdk.OffsetofTailqEntryData)))
			e = uintptr(ld64(e + dpdk.OffsetofTailqEntryNext)) // tqe_next
		}
		return out, nil
	}
	return nil, fmt.Errorf("shm: tailq %s: %w", name, ErrNotFound)
}

// Ring describes an rte_ring of the primary.
type Ring struct {
	Name     string
	Addr     uintptr // the struct rte_ring
	Flags    uint32  // RING_F_*
	Size     uint32
	Mask     uint32
	Capacity uint32
	ProdSync uint32 // rte_ring_sync_type of the producer (0 MT, 1 ST, 2 MT_RTS, 3 MT_HTS)
	ConsSync uint32
}

// Sync type names (enum rte_ring_sync_type).
var syncNames = [...]string{"MP/MC", "SP/SC", "MT_RTS", "MT_HTS"}

// SyncName names a sync type word.
func SyncName(t uint32) string {
	if int(t) < len(syncNames) {
		return syncNames[t]
	}
	return fmt.Sprintf("unknown(%d)", t)
}

// Count returns the number of objects in the ring now (rte_ring_count).
func (r Ring) Count() uint32 {
	prodTail := ldAcq32(r.Addr + dpdk.OffsetofRingProd + dpdk.OffsetofRingHeadtailTail)
	consTail := ldAcq32(r.Addr + dpdk.OffsetofRingCons + dpdk.OffsetofRingHeadtailTail)
	c := (prodTail - consTail) & r.Mask
	return min(c, r.Capacity)
}

// Free returns the free room in the ring now (rte_ring_free_count).
func (r Ring) Free() uint32 { return r.Capacity - r.Count() }

func (h *Handle) ringAt(a uintptr) (Ring, error) {
	if !h.Contains(a, dpdk.SizeofRing) {
		return Ring{}, fmt.Errorf("shm: ring at %#x: %w", a, ErrBadAddress)
	}
	r := Ring{
		Name:     cstring(a+dpdk.OffsetofRingName, dpdk.RTE_RING_NAMESIZE),
		Addr:     a,
		Flags:    ld32(a + dpdk.OffsetofRingFlags),
		Size:     ld32(a + dpdk.OffsetofRingSize),
		Mask:     ld32(a + dpdk.OffsetofRingMask),
		Capacity: ld32(a + dpdk.OffsetofRingCapacity),
		ProdSync: ld32(a + dpdk.OffsetofRingProd + dpdk.OffsetofRingHeadtailSyncType),
		ConsSync: ld32(a + dpdk.OffsetofRingCons + dpdk.OffsetofRingHeadtailSyncType),
	}
	if r.Size == 0 || r.Size&(r.Size-1) != 0 || r.Mask != r.Size-1 || r.Capacity > r.Mask {
		return Ring{}, fmt.Errorf("shm: ring %q at %#x: size %d mask %#x capacity %d: %w",
			r.Name, a, r.Size, r.Mask, r.Capacity, ErrCorrupt)
	}
	// Objects follow the header: 8-byte pointers unless RING_F_EXACT_SZ
	// elements of another size; check at least the pointer-sized span.
	if !h.Contains(a, dpdk.SizeofRing+uintptr(r.Size)*8) {
		return Ring{}, fmt.Errorf("shm: ring %q slots at %#x: %w", r.Name, a, ErrBadAddress)
	}
	return r, nil
}

// Rings lists the primary's rings (the RTE_RING tailq).
func (h *Handle) Rings() ([]Ring, error) {
	ptrs, err := h.Tailq(TailqRing)
	if err != nil {
		return nil, err
	}
	out := make([]Ring, 0, len(ptrs))
	for _, p := range ptrs {
		r, err := h.ringAt(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Ring finds a ring by name.
func (h *Handle) Ring(name string) (Ring, error) {
	rings, err := h.Rings()
	if err != nil {
		return Ring{}, err
	}
	for _, r := range rings {
		if r.Name == name {
			return r, nil
		}
	}
	return Ring{}, fmt.Errorf("shm: ring %q: %w", name, ErrNotFound)
}

// Mempool describes an rte_mempool of the primary.
type Mempool struct {
	Name            string
	Addr            uintptr // the struct rte_mempool
	Flags           uint32
	SocketID        int
	Size            uint32 // number of elements
	CacheSize       uint32 // per-lcore cache size
	EltSize         uint32
	HeaderSize      uint32
	TrailerSize     uint32
	PrivateDataSize uint32
	PopulatedSize   uint32
	PoolData        uintptr // the ops' pool (the ring for ring-based pools)
	LocalCache      uintptr // rte_mempool_cache[RTE_MAX_LCORE] (0 without cache)
	Ops             *Ring   // the pool's ring when PoolData is a ring in the RTE_RING tailq
}

// Available returns the number of free elements now, as
// rte_mempool_avail_count does: the ring's count plus every lcore cache.
// It is 0 for pools whose ops are not ring-based.
func (m Mempool) Available() uint32 {
	if m.Ops == nil {
		return 0
	}
	n := m.Ops.Count()
	if m.LocalCache != 0 && m.CacheSize != 0 {
		for i := uintptr(0); i < dpdk.RTE_MAX_LCORE; i++ {
			n += ld32(m.LocalCache + i*dpdk.SizeofMempoolCache + dpdk.OffsetofMempoolCacheLen)
		}
	}
	return min(n, m.Size)
}

// InUse returns Size - Available().
func (m Mempool) InUse() uint32 { return m.Size - m.Available() }

// Mempools lists the primary's mempools (the RTE_MEMPOOL tailq). Ops is set
// when the pool's pool_data is one of the primary's rings: the mempool ops
// index means nothing across processes, so the ring is how a ring-based pool
// is recognised.
func (h *Handle) Mempools() ([]Mempool, error) {
	ptrs, err := h.Tailq(TailqMempool)
	if err != nil {
		return nil, err
	}
	rings, err := h.Rings()
	if err != nil {
		return nil, err
	}
	out := make([]Mempool, 0, len(ptrs))
	for _, a := range ptrs {
		if !h.Contains(a, dpdk.SizeofMempool) {
			return nil, fmt.Errorf("shm: mempool at %#x: %w", a, ErrBadAddress)
		}
		m := Mempool{
			Name:            cstring(a+dpdk.OffsetofMempoolName, dpdk.RTE_MEMPOOL_NAMESIZE),
			Addr:            a,
			Flags:           ld32(a + dpdk.OffsetofMempoolFlags),
			SocketID:        int(int32(ld32(a + dpdk.OffsetofMempoolSocketId))),
			Size:            ld32(a + dpdk.OffsetofMempoolSize),
			CacheSize:       ld32(a + dpdk.OffsetofMempoolPoolCacheSize),
			EltSize:         ld32(a + dpdk.OffsetofMempoolEltSize),
			HeaderSize:      ld32(a + dpdk.OffsetofMempoolHeaderSize),
			TrailerSize:     ld32(a + dpdk.OffsetofMempoolTrailerSize),
			PrivateDataSize: ld32(a + dpdk.OffsetofMempoolPrivateDataSize),
			PopulatedSize:   ld32(a + dpdk.OffsetofMempoolPopulatedSize),
			PoolData:        uintptr(ld64(a + dpdk.OffsetofMempoolPoolData)),
			LocalCache:      uintptr(ld64(a + dpdk.OffsetofMempoolLocalCache)),
		}
		if m.LocalCache != 0 && !h.Contains(m.LocalCache, dpdk.SizeofMempoolCache*dpdk.RTE_MAX_LCORE) {
			return nil, fmt.Errorf("shm: mempool %q cache at %#x: %w", m.Name, m.LocalCache, ErrBadAddress)
		}
		for i := range rings {
			if rings[i].Addr == m.PoolData {
				r := rings[i]
				m.Ops = &r
				break
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Mempool finds a mempool by name.
func (h *Handle) Mempool(name string) (Mempool, error) {
	pools, err := h.Mempools()
	if err != nil {
		return Mempool{}, err
	}
	for _, m := range pools {
		if m.Name == name {
			return m, nil
		}
	}
	return Mempool{}, fmt.Errorf("shm: mempool %q: %w", name, ErrNotFound)
}
