package fastpath

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Abandoned memory: the way out of a ring wait whose peer is dead.
//
// A multi-producer (or multi-consumer) ring end publishes its tail in
// reservation order: a thread that reserved [old, new) waits until the tail
// reaches old, i.e. until every earlier reservation is published. HTS and
// RTS ends wait likewise for the head/tail distance another thread holds. If
// the thread holding an earlier reservation is killed (kill -9 of the DPDK
// primary between its head CAS and its tail store), the tail never moves
// again and every later producer on that end waits forever, exactly as in
// DPDK. Nothing in the ring can tell a dead peer from a descheduled one, so
// the caller who knows — package marsio, when the daemon's liveness socket
// hangs up — declares the peer's memory dead with AbandonMemory.
//
// Every wait on another party (the MP/MC tail waits of the assembly kernels
// and of the Go twins, the HTS head wait, the RTS head wait) spins for a
// while, then leaves the spin loop for Go (stallWait, or the HTS/RTS loops
// in ring_hts.go): there it checks whether the ring lies in abandoned memory
// and gives up if so, else yields (runtime.Gosched, so the goroutine can be
// preempted, the garbage collector can stop the world and the goroutine
// watching the peer can run; and sched_yield, so a descheduled peer in
// another process gets the CPU) and spins again. The check costs nothing on
// the fast path: it is reached only after stallSpins failed looks at the
// tail.

// memRange is one abandoned address range [lo, hi).
type memRange struct{ lo, hi uintptr }

var (
	// abandonedRanges is the current set, an immutable slice replaced as a
	// whole (copy on write) under abandonMu; readers load it without locks.
	abandonedRanges atomic.Pointer[[]*memRange]
	abandonMu       sync.Mutex
)

// AbandonMemory declares [lo, hi) the memory of a dead peer (for example
// every mapping of a DPDK primary that has exited). From then on, a ring
// wait on a ring whose header lies in it — a multi-producer or
// multi-consumer tail that a dead producer or consumer will never publish,
// an HTS or RTS head it holds — gives up instead of waiting forever, within
// a few microseconds of its next look:
//
//   - Ring enqueue and dequeue calls (bulk, burst, single, sized elements,
//     every sync type) return 0 objects moved (false for the single-object
//     calls). Objects written into an abandoned ring are lost with it;
//     objects a dequeue has already copied out of it (the slice's contents
//     after a 0 return, the obj of a single dequeue) must not be used.
//   - Mempool.GetBulk (and AllocMbuf/AllocMbufs) returns an error matching
//     ErrAbandoned when the pool's ring is abandoned; the cache passed is
//     left empty (its objects belonged to the dead pool). Mempool.PutBulk,
//     Flush and the mbuf frees just return: the objects are lost.
//
// Calls that do not need to wait are not affected: with the peer dead, an
// operation that finds the tail where it expects it still completes. A ring
// in memory that is not abandoned is waited for as DPDK does, however long
// its peer takes (a live but descheduled peer is always waited for).
//
// The returned release undoes this declaration (once; later calls do
// nothing). Call it once the range is unmapped, before anything is mapped
// there again, so that a new ring at the same address is waited for
// normally. Several ranges may be abandoned at once (several mappings,
// several instances); overlapping or repeated declarations are independent.
// AbandonMemory and release are safe for concurrent use with each other and
// with every ring and mempool call. An empty range (hi <= lo) abandons
// nothing.
func AbandonMemory(lo, hi uintptr) (release func()) {
	if hi <= lo {
		return func() {}
	}
	e := &memRange{lo, hi}
	abandonMu.Lock()
	var next []*memRange
	if cur := abandonedRanges.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, e)
	abandonedRanges.Store(&next)
	abandonMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			abandonMu.Lock()
			defer abandonMu.Unlock()
			cur := abandonedRanges.Load()
			var next []*memRange
			for _, x := range *cur {
				if x != e {
					next = append(next, x)
				}
			}
			if len(next) == 0 {
				abandonedRanges.Store(nil)
				return
			}
			abandonedRanges.Store(&next)
		})
	}
}

// Abandoned reports whether addr lies in memory declared dead with
// AbandonMemory (and not yet released). A ring call that returned 0 on a
// ring at addr while Abandoned(addr) is true may have given up a wait.
func Abandoned(addr uintptr) bool {
	cur := abandonedRanges.Load()
	if cur == nil {
		return false
	}
	for _, x := range *cur {
		if addr >= x.lo && addr < x.hi {
			return true
		}
	}
	return false
}

// abandoned is Abandoned for a ring pointer.
func abandoned(r unsafe.Pointer) bool { return Abandoned(uintptr(r)) }

// stallSpins is how many times a wait looks at the word it waits on between
// two trips to the scheduler (the assembly kernels spin as many times with
// PAUSE before they hand over to stallWait).
const stallSpins = 1024

// stallWaits counts the tail waits that reached stallWait (tests report it
// to show that the stall paths ran).
var stallWaits atomic.Uint64

// stallYield gives the processor away from a wait that has spun stallSpins
// times: to other goroutines (and the garbage collector) through the Go
// scheduler, which also works for a LockOSThread'ed caller (its P goes to
// another thread while it is descheduled), and to other processes' threads
// through the kernel, since the peer we wait for may be a descheduled thread
// of the DPDK primary.
func stallYield() {
	runtime.Gosched()
	osYield()
}

// stallWait is the slow part of an MP/MC tail wait (__rte_ring_update_tail
// after the spin in rte_wait_until_equal_32): the caller reserved [old,
// old+cnt) on the ring end whose tail is at r+tail and has copied its
// elements; stallWait waits until the tail reaches old and publishes
// old+cnt (R0 for a producer, R1 for a consumer: sync/atomic's store is a
// release), and returns cnt. If the ring lies in abandoned memory it gives
// up and returns 0, the tail untouched. The assembly kernels tail-call it
// (through enqueueStall8 and its siblings) after stallSpins spins, the Go
// twins after theirs.
func stallWait(r unsafe.Pointer, tail uintptr, old, cnt uint32) uint32 {
	t := (*uint32)(unsafe.Add(r, tail))
	stallWaits.Add(1)
	for {
		if abandoned(r) {
			return 0
		}
		stallYield()
		for i := 0; i < stallSpins; i++ {
			if atomic.LoadUint32(t) == old {
				// R0 (producer, pairs with A1) or R1 (consumer, pairs
				// with A0): sync/atomic's store is a release (an XCHG on
				// amd64). The slot copies were made before it on this
				// goroutine, possibly by the kernel on another thread
				// before a Gosched moved us: the scheduler's hand-off is
				// a full barrier, so they still precede this store for
				// every observer.
				atomic.StoreUint32(t, old+cnt)
				return cnt
			}
		}
	}
}
