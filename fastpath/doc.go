// Package fastpath is gomarsio's packet fast path: DPDK 22.11 rings,
// ring-based mempools with per-thread caches, and mbufs, implemented in Go
// and amd64 assembly on memory shared with a DPDK primary, bit-compatible
// with DPDK's own inline functions.
//
// # API
//
//   - Ring (RingAt, RingInit, RingMemSize): rte_ring. Pointer-sized
//     elements with SP/MP/generic × bulk/burst enqueue and SC/MC/generic ×
//     bulk/burst dequeue, named after DPDK's calls (SPEnqueueBurst is
//     rte_ring_sp_enqueue_burst); single objects with SPEnqueue/MPEnqueue/
//     Enqueue and SCDequeue/MCDequeue/Dequeue (rte_ring_sp_enqueue, …);
//     sized elements (a multiple of 4 bytes) with EnqueueElem/DequeueElem;
//     Count, FreeCount, Empty, Full.
//   - Mempool (MempoolAt): a ring-based rte_mempool. GetBulk/PutBulk follow
//     rte_mempool_generic_get/put with a caller-owned Cache (NewCache on the
//     Go heap, InitCache/CacheAt in shared memory, with the layout of struct
//     rte_mempool_cache so the daemon can Flush a dead application's cache).
//     A cache hit (get) or fit (put) is one assembly call (mempool_amd64.s);
//     everything else continues in Go.
//   - Mbuf: the address of an rte_mbuf. Mempool.AllocMbuf/AllocMbufs
//     (rte_pktmbuf_alloc/_bulk, with rte_pktmbuf_reset), FreeMbuf/FreeSeg/
//     FreeMbufs (rte_pktmbuf_free/_seg/_bulk with rte_pktmbuf_prefree_seg:
//     reference counts, chains, indirect mbufs, pinned and external
//     buffers), accessors, a zero-copy Data view, Prepend/Append/Adj/Trim/
//     Chain.
//
// # Proof
//
// Every operation is tested against DPDK's own C (internal/dpdkref, a cgo
// harness used only by tests and tools/mrbench) on the same or twin memory:
// ring op sequences byte for byte (also as fuzz targets) across the 2^32
// index wrap, Go and C producers and consumers interleaved on one ring for
// every sync mode, mempool get/put sequences against
// rte_mempool_generic_get/put, mbufs allocated on one side and freed on the
// other. The assembly kernels have Go twins (ring_go.go) that are always
// compiled; the tests compare both, and -tags purego (or another
// architecture) ships the twins.
//
// # Memory ordering
//
// The rings mirror lib/ring/rte_ring_c11_pvt.h and rte_ring_elem_pvt.h of DPDK
// 22.11 (labels A0, A1, R0, R1 in ring_go.go and ring_amd64.s): a producer
// moves prod.head (plain store when single, CAS when multi), copies, waits
// for earlier producers (multi only), then publishes prod.tail with a release
// store; consumers mirror it. On amd64 the kernels rely on x86-TSO: a release
// store is a plain MOV and an acquire load a plain load, and a whole burst
// (head move, copy, tail publish) is one assembly call, so the Go compiler
// never sees the ordered accesses. Each Ring method has its own kernel entry
// point (flags are constants, three words are passed), and one element —
// a single-object call, or a burst or bulk of one — takes a short path of
// its own. The Go twins use sync/atomic. A waiting
// multi-producer/consumer spins with PAUSE at most 1024 times (stallSpins)
// in assembly, then leaves for Go (a tail call with the reservation in
// argument slots it no longer needs), where it yields to the Go scheduler
// and to the kernel between further rounds of spinning: the thread it waits
// for may be descheduled, and assembly is not preemptible, so a kernel
// spinning forever would keep the garbage collector from stopping the
// world.
//
// # Dead peers
//
// A DPDK primary killed between a head move and its tail store leaves the
// tail of that ring end stuck: every later multi-producer (or consumer) on
// it, and every HTS/RTS head wait behind it, would wait forever, as in
// DPDK. AbandonMemory declares an address range dead (package marsio calls
// it when the daemon's liveness socket hangs up): a ring wait on a ring in
// it gives up — the call returns 0, GetBulk returns ErrAbandoned, a put
// just returns — and objects written into or read out of that ring are
// lost and must not be used. The check is on the wait's slow path only
// (after 1024 looks at the tail), so the fast path is unchanged; a ring in
// memory that is not abandoned is waited for however long its peer takes.
// The daemon's side, whose workers sit in DPDK's C ring code, cannot give
// up that way: an application killed inside an operation on a shared pool's
// ring stalls them, and mrzcpd's stall watchdog exits it (status 3) for a
// restart that applications with re-attach follow.
//
// HTS and RTS ring ends (RING_F_MP_HTS_ENQ, RING_F_MC_RTS_DEQ, …) run their
// own protocols (rte_ring_hts_elem_pvt.h, rte_ring_rts_elem_pvt.h), in Go
// with sync/atomic (ring_hts.go). Every call on such an end, the explicit
// SP/MP/SC/MC ones included, uses that protocol (all are multi-thread safe),
// so no call can corrupt them; the pointer kernels check the sync type first
// and tail-call the Go code. A sync type RingAt does not know fails with
// both ErrSyncUnsupported and ErrBadRing.
//
// # Lifetimes and memory
//
// Ring, Mempool, Cache and Mbuf are plain pointers into memory Go does not
// manage; the garbage collector ignores them (Mbuf is an integer) and this
// package never stores a Go pointer into shared memory. They are valid while
// the memory stays mapped. An Mbuf and every []byte from Data, Prepend or
// Append are valid until the mbuf is freed or handed over (enqueued, chained
// as a tail). A Cache belongs to one thread and one pool.
//
// # Checks
//
// Always on, because they cost nothing on the fast path (no loads beyond
// what the operation needs): RingAt/MempoolAt/CacheAt validate headers once
// (alignment, size power of two, mask, capacity, flags, sync types, the
// pool's "MP_<name>" ring); every ring call reads the end's sync type and
// runs the matching protocol; bulk/burst counts are clamped to
// RTE_RING_SZ_MASK; Prepend/Append/Adj/Trim/Chain bounds (ErrNoHeadroom,
// ErrNoTailroom, ErrTooLong, ErrChainTooLong); freeing an mbuf whose
// reference count is already 0 returns ErrDoubleFree and changes nothing
// (the count is loaded anyway); an external buffer whose last reference
// would need its C free callback returns ErrExtBufCallback and stays
// attached for C to free. Element sizes that are not a positive multiple of
// 4 panic (a programming error).
//
// Only with -tags debug (they cost loads or are fatal): allocated mbufs
// must be free (refcnt 1, next NULL, nb_segs 1, as
// __rte_mbuf_raw_sanity_check) and a put that finds the pool's ring full
// (objects returned twice) panics. A second free of an mbuf that is already
// back in its pool (refcnt 1 again, as DPDK keeps free mbufs) cannot be seen
// by one load and is not detected, as in DPDK.
//
// Not checked: that an address passed as an Mbuf or a Ring lies in mapped
// shared memory (package shm validates addresses when it maps the primary),
// and that all users of a ring agree on its element size.
//
// Fast-path calls do not allocate (0 allocs/op, enforced by TestNoAllocs).
package fastpath
