// Package dpdkref is the test-only reference harness: it runs DPDK 22.11's
// own C code (rings, mempools, mbufs) in-process through cgo, so tests and
// tools/mrbench can compare package fastpath with it on the same memory.
//
// EAL is initialised once per process on first use with --no-huge (anonymous
// memory: no hugepages needed), --no-pci, --no-shconf, -l 0 and a file
// prefix of its own; Cleanup tears it down. The EAL main thread is a
// dedicated, locked OS thread that does nothing after init, so every other
// C call runs on a non-EAL thread: rte_lcore_id() is LCORE_ID_ANY there and
// rte_mempool's per-lcore caches are never used implicitly (the results are
// deterministic). The benchmark loops run on their own registered threads.
//
// Only tests and tools/mrbench import this package; the library never does.
package dpdkref

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -O3 -Wno-deprecated-declarations
#include <stdlib.h>
#include "dpdkref.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// ErrEAL reports that EAL could not be initialised in this process.
var ErrEAL = errors.New("dpdkref: EAL init failed")

var (
	initOnce sync.Once
	initErr  error
	prefix   string
	names    atomic.Uint64
)

// Init initialises EAL (once). Tests call it through testenv-like helpers and
// skip or fail on error.
func Init() error {
	initOnce.Do(func() {
		removeStale()
		prefix = fmt.Sprintf("gmref%d", os.Getpid())
		args := []string{"gmref", "--no-huge", "--no-pci", "--no-shconf", "-l", "0", "-m", "512",
			"--file-prefix", prefix, "--log-level=*:error", "--no-telemetry"}
		done := make(chan error)
		go func() {
			// The EAL main thread stays locked and idle forever (see the
			// package doc); rte_eal_init pins it to lcore 0's CPU, which
			// we undo so it does not constrain the scheduler.
			runtime.LockOSThread()
			argv := make([]*C.char, len(args))
			for i, a := range args {
				argv[i] = C.CString(a)
			}
			rc := C.ref_eal_init(C.int(len(argv)), &argv[0])
			C.ref_unpin_self()
			if rc < 0 {
				e := C.ref_errno()
				done <- fmt.Errorf("%w: rte_eal_init: %s (%d)", ErrEAL, C.GoString(C.ref_strerror(e)), int(e))
				return
			}
			done <- nil
			select {}
		}()
		initErr = <-done
		if initErr == nil && C.GoString(C.ref_best_mempool_ops()) == "" {
			initErr = fmt.Errorf("%w: no default mempool ops", ErrEAL)
		}
	})
	return initErr
}

// Cleanup releases EAL and removes its runtime directory. Call it from
// TestMain after m.Run.
func Cleanup() {
	if prefix == "" {
		return
	}
	if initErr == nil {
		C.ref_eal_cleanup()
	}
	os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
	if m, _ := filepath.Glob(filepath.Join("/dev/hugepages", prefix+"map_*")); len(m) > 0 {
		for _, f := range m {
			os.Remove(f)
		}
	}
}

// removeStale removes runtime directories of earlier harness processes that
// died without Cleanup (a crashed test, a killed fuzz worker): only
// /var/run/dpdk/gmref<pid> whose pid no longer exists.
func removeStale() {
	dirs, _ := filepath.Glob("/var/run/dpdk/gmref*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "gmref"))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			os.RemoveAll(d)
		}
	}
}

// Unique returns a fresh object name with the given prefix (DPDK names are
// global per process).
func Unique(p string) string { return fmt.Sprintf("%s%d", p, names.Add(1)) }

func errnoErr(what string) error {
	e := C.ref_errno()
	return fmt.Errorf("dpdkref: %s: %s (%d)", what, C.GoString(C.ref_strerror(e)), int(e))
}

// Ring modes for the reference calls (match fastpath.ModeDefault/Single/Multi).
const (
	ModeDefault = 0
	ModeSingle  = 1
	ModeMulti   = 2
)

// RingCreate creates an rte_ring (rte_ring_create) and returns its address.
func RingCreate(name string, count, flags uint32) (uintptr, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	r := C.ref_ring_create(cs, C.uint(count), C.uint(flags))
	if r == nil {
		return 0, errnoErr("rte_ring_create " + name)
	}
	return uintptr(r), nil
}

// RingCreateElem creates an rte_ring of esize-byte elements.
func RingCreateElem(name string, esize, count, flags uint32) (uintptr, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	r := C.ref_ring_create_elem(cs, C.uint(esize), C.uint(count), C.uint(flags))
	if r == nil {
		return 0, errnoErr("rte_ring_create_elem " + name)
	}
	return uintptr(r), nil
}

// RingInit runs rte_ring_init on caller-provided memory at mem.
func RingInit(mem uintptr, name string, count, flags uint32) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	if rc := C.ref_ring_init(ptr(mem), cs, C.uint(count), C.uint(flags)); rc != 0 {
		return fmt.Errorf("dpdkref: rte_ring_init: %d", int(rc))
	}
	return nil
}

// RingMemSize is rte_ring_get_memsize_elem.
func RingMemSize(esize, count uint32) int {
	return int(C.ref_ring_memsize_elem(C.uint(esize), C.uint(count)))
}

// RingFree is rte_ring_free.
func RingFree(r uintptr) { C.ref_ring_free(ptr(r)) }

// RingEnqueue runs the rte_ring_{sp,mp,}_enqueue_{bulk,burst}_elem selected
// by mode and bulk; it returns the count and free_space.
func RingEnqueue(r uintptr, objs unsafe.Pointer, esize, n uint32, mode int, bulk bool) (uint32, uint32) {
	var fs C.uint
	k := C.ref_ring_enq(ptr(r), objs, C.uint(esize), C.uint(n), C.int(mode), cbool(bulk), &fs)
	return uint32(k), uint32(fs)
}

// RingDequeue is the dequeue counterpart of RingEnqueue (count, available).
func RingDequeue(r uintptr, objs unsafe.Pointer, esize, n uint32, mode int, bulk bool) (uint32, uint32) {
	var av C.uint
	k := C.ref_ring_deq(ptr(r), objs, C.uint(esize), C.uint(n), C.int(mode), cbool(bulk), &av)
	return uint32(k), uint32(av)
}

// RingEnqueueOne runs rte_ring_sp_enqueue, rte_ring_mp_enqueue or
// rte_ring_enqueue (mode as RingEnqueue) and reports success.
func RingEnqueueOne(r, obj uintptr, mode int) bool {
	return C.ref_ring_enq1(ptr(r), C.uint64_t(obj), C.int(mode)) == 0
}

// RingDequeueOne runs rte_ring_sc_dequeue, rte_ring_mc_dequeue or
// rte_ring_dequeue; obj is 0 when it fails.
func RingDequeueOne(r uintptr, mode int) (obj uintptr, ok bool) {
	var o C.uint64_t
	ok = C.ref_ring_deq1(ptr(r), &o, C.int(mode)) == 0
	return uintptr(o), ok
}

// RingCount is rte_ring_count; RingFreeCount, RingEmpty, RingFull likewise.
func RingCount(r uintptr) int { return int(C.ref_ring_count(ptr(r))) }

// RingFreeCount is rte_ring_free_count.
func RingFreeCount(r uintptr) int { return int(C.ref_ring_free_count(ptr(r))) }

// RingEmpty is rte_ring_empty.
func RingEmpty(r uintptr) bool { return C.ref_ring_empty(ptr(r)) != 0 }

// RingFull is rte_ring_full.
func RingFull(r uintptr) bool { return C.ref_ring_full(ptr(r)) != 0 }

// Worker is a C pthread producing into or consuming from a ring.
type Worker struct {
	w        *C.ref_worker
	out      unsafe.Pointer // C memory for a consumer's output
	cap      uint64
	consumed unsafe.Pointer
}

// StartProducer starts a pthread that enqueues id<<40|seq for seq = 1..count
// in random bursts of 1..maxburst (bulk or burst calls, mode as RingEnqueue).
func StartProducer(r uintptr, id uint32, count uint64, maxburst uint32, mode int, bulk bool, seed uint64) *Worker {
	w := C.ref_start_producer(ptr(r), C.uint(id), C.uint64_t(count), C.uint(maxburst), C.int(mode), cbool(bulk), C.uint64_t(seed))
	if w == nil {
		panic("dpdkref: pthread_create failed")
	}
	return &Worker{w: w}
}

// Counter is a shared consumed-elements counter in C memory, updated
// atomically by C consumers and by Go consumers (Add).
type Counter struct{ p unsafe.Pointer }

// NewCounter allocates a counter (free it with Free).
func NewCounter() *Counter { return &Counter{C.calloc(1, 8)} }

// Add adds n atomically and returns the new value.
func (c *Counter) Add(n uint64) uint64 { return atomic.AddUint64((*uint64)(c.p), n) }

// Load reads the counter.
func (c *Counter) Load() uint64 { return atomic.LoadUint64((*uint64)(c.p)) }

// Free releases the counter.
func (c *Counter) Free() { C.free(c.p) }

// StartConsumer starts a pthread dequeuing until cnt reaches total,
// recording up to total values.
func StartConsumer(r uintptr, cnt *Counter, total uint64, maxburst uint32, mode int, bulk bool, seed uint64) *Worker {
	out := C.calloc(C.size_t(total+1), 8)
	w := C.ref_start_consumer(ptr(r), (*C.uint64_t)(out), C.uint64_t(total), (*C.uint64_t)(cnt.p), C.uint64_t(total), C.uint(maxburst), C.int(mode), cbool(bulk), C.uint64_t(seed))
	if w == nil {
		panic("dpdkref: pthread_create failed")
	}
	return &Worker{w: w, out: out, cap: total}
}

// Join waits for the thread and returns, for a consumer, the values it
// dequeued in order (copied to Go memory).
func (w *Worker) Join() []uint64 {
	got := uint64(C.ref_join(w.w))
	if w.out == nil {
		return nil
	}
	res := make([]uint64, got)
	copy(res, unsafe.Slice((*uint64)(w.out), got))
	C.free(w.out)
	return res
}

// PoolCreate creates an mbuf pool: rte_pktmbuf_pool_create, or
// rte_pktmbuf_pool_create_by_ops when ops is not empty.
func PoolCreate(name string, n, cache, priv, dataroom uint32, ops string) (uintptr, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var co *C.char
	if ops != "" {
		co = C.CString(ops)
		defer C.free(unsafe.Pointer(co))
	}
	mp := C.ref_pktmbuf_pool_create(cs, C.uint(n), C.uint(cache), C.uint(priv), C.uint(dataroom), co)
	if mp == nil {
		return 0, errnoErr("rte_pktmbuf_pool_create " + name)
	}
	return uintptr(mp), nil
}

// PoolCreatePinned creates a pool whose mbufs use pinned external buffers
// (rte_pktmbuf_pool_create_extbuf, RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF).
func PoolCreatePinned(name string, n, cache, dataroom, elt uint32) (uintptr, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	mp := C.ref_pktmbuf_pool_create_pinned(cs, C.uint(n), C.uint(cache), C.uint(dataroom), C.uint(elt))
	if mp == nil {
		return 0, errnoErr("rte_pktmbuf_pool_create_extbuf " + name)
	}
	return uintptr(mp), nil
}

// PoolFree is rte_mempool_free.
func PoolFree(mp uintptr) { C.ref_mempool_free(ptr(mp)) }

// BestMempoolOps is rte_mbuf_best_mempool_ops.
func BestMempoolOps() string { return C.GoString(C.ref_best_mempool_ops()) }

// PoolOpsName returns the name of the pool's ops in this process.
func PoolOpsName(mp uintptr) string { return C.GoString(C.ref_mempool_ops_name(ptr(mp))) }

// PoolAvail is rte_mempool_avail_count.
func PoolAvail(mp uintptr) int { return int(C.ref_mempool_avail(ptr(mp))) }

// CacheCreate is rte_mempool_cache_create.
func CacheCreate(size uint32) uintptr { return uintptr(C.ref_cache_create(C.uint(size))) }

// CacheFree is rte_mempool_cache_free.
func CacheFree(c uintptr) { C.ref_cache_free(ptr(c)) }

// MempoolGet is rte_mempool_generic_get (cache may be 0).
func MempoolGet(mp uintptr, objs []uintptr, cache uintptr) int {
	return int(C.ref_mempool_get(ptr(mp), pp(objs), C.uint(len(objs)), ptr(cache)))
}

// MempoolPut is rte_mempool_generic_put (cache may be 0).
func MempoolPut(mp uintptr, objs []uintptr, cache uintptr) {
	C.ref_mempool_put(ptr(mp), pp(objs), C.uint(len(objs)), ptr(cache))
}

// CacheFlush is rte_mempool_cache_flush.
func CacheFlush(cache, mp uintptr) { C.ref_cache_flush(ptr(cache), ptr(mp)) }

// PktmbufAlloc is rte_pktmbuf_alloc (0 when the pool is empty).
func PktmbufAlloc(mp uintptr) uintptr { return uintptr(C.ref_pktmbuf_alloc(ptr(mp))) }

// PktmbufAllocBulk is rte_pktmbuf_alloc_bulk.
func PktmbufAllocBulk(mp uintptr, ms []uintptr) int {
	return int(C.ref_pktmbuf_alloc_bulk(ptr(mp), pp(ms), C.uint(len(ms))))
}

// PktmbufFree is rte_pktmbuf_free (whole chain).
func PktmbufFree(m uintptr) { C.ref_pktmbuf_free(ptr(m)) }

// PktmbufFreeSeg is rte_pktmbuf_free_seg.
func PktmbufFreeSeg(m uintptr) { C.ref_pktmbuf_free_seg(ptr(m)) }

// PktmbufFreeBulk is rte_pktmbuf_free_bulk.
func PktmbufFreeBulk(ms []uintptr) { C.ref_pktmbuf_free_bulk(pp(ms), C.uint(len(ms))) }

// PktmbufReset is rte_pktmbuf_reset.
func PktmbufReset(m uintptr) { C.ref_pktmbuf_reset(ptr(m)) }

// PktmbufChain is rte_pktmbuf_chain (0 or -EOVERFLOW).
func PktmbufChain(head, tail uintptr) int { return int(C.ref_pktmbuf_chain(ptr(head), ptr(tail))) }

// PktmbufClone is rte_pktmbuf_clone (indirect mbufs from mp).
func PktmbufClone(m, mp uintptr) uintptr { return uintptr(C.ref_pktmbuf_clone(ptr(m), ptr(mp))) }

// PktmbufAttach is rte_pktmbuf_attach (mi becomes indirect on m).
func PktmbufAttach(mi, m uintptr) { C.ref_pktmbuf_attach(ptr(mi), ptr(m)) }

// RefcntUpdate is rte_mbuf_refcnt_update.
func RefcntUpdate(m uintptr, v int16) uint16 {
	return uint16(C.ref_refcnt_update(ptr(m), C.int16_t(v)))
}

// PktmbufPrepend is rte_pktmbuf_prepend; it returns the new data offset
// from buf_addr, or -1 when C returned NULL.
func PktmbufPrepend(m uintptr, n uint16) int {
	return int(C.ref_pktmbuf_prepend(ptr(m), C.uint16_t(n)))
}

// PktmbufAppend is rte_pktmbuf_append (offset of the appended bytes from the
// last segment's buf_addr, or -1).
func PktmbufAppend(m uintptr, n uint16) int { return int(C.ref_pktmbuf_append(ptr(m), C.uint16_t(n))) }

// PktmbufAdj is rte_pktmbuf_adj (new data offset or -1).
func PktmbufAdj(m uintptr, n uint16) int { return int(C.ref_pktmbuf_adj(ptr(m), C.uint16_t(n))) }

// PktmbufTrim is rte_pktmbuf_trim (0 or -1).
func PktmbufTrim(m uintptr, n uint16) int { return int(C.ref_pktmbuf_trim(ptr(m), C.uint16_t(n))) }

// AttachExtbuf attaches a fresh rte_malloc'ed external buffer of n data
// bytes to m, with a C free callback (counted by ExtbufFrees).
func AttachExtbuf(m uintptr, n uint32) error {
	if rc := C.ref_attach_extbuf(ptr(m), C.uint(n)); rc != 0 {
		return fmt.Errorf("dpdkref: attach extbuf: %d", int(rc))
	}
	return nil
}

// ExtbufFrees counts calls of the external buffer free callback.
func ExtbufFrees() uint64 { return uint64(C.ref_extbuf_frees()) }

// MbufCheck is rte_mbuf_check; it returns nil or the reason.
func MbufCheck(m uintptr, isHeader bool) error {
	var reason *C.char
	if C.ref_mbuf_check(ptr(m), cbool(isHeader), &reason) != 0 {
		return errors.New("rte_mbuf_check: " + C.GoString(reason))
	}
	return nil
}

// BenchSetCPU pins the threads of later benchmark loops to cpu (-1: no pinning).
func BenchSetCPU(cpu int) { C.ref_bench_set_cpu(C.int(cpu)) }

// TscHz is rte_get_tsc_hz.
func TscHz() uint64 { return uint64(C.ref_tsc_hz()) }

// BenchRing runs burst-sized enqueue+dequeue pairs iters times on a
// registered thread and returns ns of thread CPU time per pair. mode 1:
// SP/SC, else MP/MC.
func BenchRing(r uintptr, burst uint32, iters uint64, mode int) float64 {
	return float64(C.ref_bench_ring(ptr(r), C.uint(burst), C.uint64_t(iters), C.int(mode)))
}

// BenchRingSingle runs single-object enqueue+dequeue pairs
// (rte_ring_sp_enqueue+rte_ring_sc_dequeue, or the mp/mc pair when multi)
// iters times on a registered thread and returns ns of thread CPU time per
// pair.
func BenchRingSingle(r uintptr, iters uint64, multi bool) float64 {
	mode := 3
	if multi {
		mode = 4
	}
	return float64(C.ref_bench_ring(ptr(r), 1, C.uint64_t(iters), C.int(mode)))
}

// BenchMempool runs rte_mempool_generic_get+put of n with a cache of
// cacheSize iters times and returns ns per get+put.
func BenchMempool(mp uintptr, n, cacheSize uint32, iters uint64) float64 {
	return float64(C.ref_bench_mempool(ptr(mp), C.uint(n), C.uint(cacheSize), C.uint64_t(iters)))
}

// BenchMbuf runs rte_pktmbuf_alloc_bulk+rte_pktmbuf_free_bulk of n with the
// pool's per-lcore cache iters times and returns ns per pair.
func BenchMbuf(mp uintptr, n uint32, iters uint64) float64 {
	return float64(C.ref_bench_mbuf(ptr(mp), C.uint(n), C.uint64_t(iters)))
}

func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

func pp(s []uintptr) *unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return (*unsafe.Pointer)(unsafe.Pointer(&s[0]))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
