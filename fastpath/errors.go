package fastpath

import "errors"

// Sentinel errors. Every error returned by this package wraps one of these,
// so callers test them with errors.Is; the message carries the details
// (address, observed value).
var (
	// ErrNilPointer: a nil or zero address was passed where an object in
	// shared memory was expected.
	ErrNilPointer = errors.New("fastpath: nil pointer")
	// ErrBadRing: the memory does not hold a valid rte_ring header.
	ErrBadRing = errors.New("fastpath: not a valid rte_ring")
	// ErrSyncUnsupported: the ring uses a synchronisation mode this package
	// does not implement (MT, ST, MT_HTS and MT_RTS are implemented); it
	// refuses the ring rather than corrupt it.
	ErrSyncUnsupported = errors.New("fastpath: ring sync type not supported")
	// ErrNotRingPool: the mempool is not backed by an rte_ring named "MP_<pool>".
	ErrNotRingPool = errors.New("fastpath: mempool is not ring-based")
	// ErrBadMempool: the memory does not hold a plausible rte_mempool.
	ErrBadMempool = errors.New("fastpath: not a valid rte_mempool")
	// ErrBadCache: a mempool cache header is inconsistent (len beyond its array, size too large).
	ErrBadCache = errors.New("fastpath: invalid mempool cache")
	// ErrNoBufs: the pool cannot satisfy the request; nothing was taken.
	ErrNoBufs = errors.New("fastpath: not enough objects in mempool")
	// ErrAbandoned: the pool's ring lies in memory declared dead with
	// AbandonMemory; nothing usable was taken (see AbandonMemory).
	ErrAbandoned = errors.New("fastpath: mempool memory abandoned (peer dead)")
	// ErrDoubleFree: an mbuf whose reference count is already 0 was freed.
	ErrDoubleFree = errors.New("fastpath: mbuf freed twice (refcnt 0)")
	// ErrExtBufCallback: the last reference to an external buffer with a C
	// free callback was dropped; Go cannot run the callback, so the mbuf was
	// not returned and the buffer is still owned by whoever attached it.
	ErrExtBufCallback = errors.New("fastpath: external buffer needs its C free callback")
	// ErrNoHeadroom: a prepend asked for more bytes than the headroom holds.
	ErrNoHeadroom = errors.New("fastpath: not enough headroom")
	// ErrNoTailroom: an append asked for more bytes than the tailroom holds.
	ErrNoTailroom = errors.New("fastpath: not enough tailroom")
	// ErrTooLong: an adj/trim asked to remove more bytes than the segment holds.
	ErrTooLong = errors.New("fastpath: length exceeds data")
	// ErrChainTooLong: chaining would exceed RTE_MBUF_MAX_NB_SEGS segments.
	ErrChainTooLong = errors.New("fastpath: mbuf chain too long")
	// ErrNotDirect: the operation needs a direct mbuf that is not shared
	// (refcnt 1, not indirect or external).
	ErrNotDirect = errors.New("fastpath: mbuf is not direct")
)
