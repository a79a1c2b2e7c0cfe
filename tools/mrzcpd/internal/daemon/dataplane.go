package daemon

/*
#include <stdlib.h>
#include "dp.h"
*/
import "C"

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath/flowhash"
)

// parseCPUList parses an EAL -l list such as "0-2,5" (mrconf validated it).
func parseCPUList(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, found := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if found {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			continue
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}

// worker is one dataplane thread: a goroutine locked to its OS thread (not
// registered with EAL, see runWorker), polling the ports of its
// vdevs: rx burst → flow hash (flowhash, the same code the library uses) →
// the app's rx stream rings; the app's tx stream rings → tx burst. One cgo
// call per burst step.
type worker struct {
	id    int
	vdevs []*vdevState
	burst int
	// epoch advances once per loop; closeVdev waits for it to move so that
	// no worker still uses an instance it is about to free.
	epoch atomic.Uint64
	stop  atomic.Bool
	// stalled: the watchdog found its epoch stuck (watchdog.go); nobody
	// waits for it any more.
	stalled atomic.Bool
	done    chan struct{}
	lcore   int
	cpu     int // pinned CPU, -1 = not pinned
}

func (d *daemon) startWorkers() {
	n := int(d.cfg.Service.Workers)
	var withPort []*vdevState
	for _, v := range d.vdevs {
		if v.port.started {
			withPort = append(withPort, v)
		}
	}
	if n > len(withPort) && len(withPort) > 0 {
		n = len(withPort)
	}
	if n < 1 {
		n = 1
	}
	// With more than one CPU in [eal] lcores, the first is EAL's main
	// lcore and the workers are pinned to the others, round-robin.
	cpus := parseCPUList(d.cfg.EAL.Lcores)
	for i := 0; i < n; i++ {
		w := &worker{id: i, burst: int(d.cfg.Service.Burst), done: make(chan struct{}), cpu: -1}
		if len(cpus) > 1 {
			w.cpu = cpus[1+i%(len(cpus)-1)]
		}
		d.workers = append(d.workers, w)
	}
	for i, v := range withPort {
		w := d.workers[i%n]
		w.vdevs = append(w.vdevs, v)
	}
	var wg sync.WaitGroup
	for _, w := range d.workers {
		wg.Add(1)
		go d.runWorker(w, &wg)
	}
	wg.Wait() // registered (or failed)
}

// stopWorkers stops the workers and waits until they have ended, but not
// for stalled ones, nor for any longer than the stall timeout
// (quiesceDefault with the watchdog off): one that does not end by then is
// marked stalled and left behind.
func (d *daemon) stopWorkers() {
	for _, w := range d.workers {
		w.stop.Store(true)
	}
	bound := d.opts.StallTimeout
	if bound <= 0 {
		bound = quiesceDefault
	}
	deadline := time.After(bound)
	for _, w := range d.workers {
		if w.stalled.Load() {
			continue
		}
		select {
		case <-w.done:
		case <-deadline:
			w.stalled.Store(true)
			d.log.Printf("ERROR: worker %d did not stop within %v (stalled): left behind", w.id, bound)
		}
	}
}

// anyStalled reports whether a worker is marked stalled: by the watchdog
// (which marks them before it reports the stall, so d.stalled() implies
// this), or by a bounded wait that gave up on it.
func (d *daemon) anyStalled() bool {
	for _, w := range d.workers {
		if w.stalled.Load() {
			return true
		}
	}
	return false
}

// quiesceDefault bounds quiesce when the watchdog is off.
const quiesceDefault = 10 * time.Second

// quiesce waits until every worker has started a new loop since the call:
// a pointer it unpublished before the call is no longer in use. It never
// waits forever: false when a worker is stalled (marked by the watchdog,
// or still on the same loop after the stall timeout — quiesceDefault with
// the watchdog off); the caller must then leave what the pointer names
// alone (unfreed), the worker may still be using it.
func (d *daemon) quiesce() bool {
	type mark struct {
		w *worker
		e uint64
	}
	bound := d.opts.StallTimeout
	if bound <= 0 {
		bound = quiesceDefault
	}
	deadline := time.Now().Add(bound)
	marks := make([]mark, len(d.workers))
	for i, w := range d.workers {
		marks[i] = mark{w, w.epoch.Load()}
	}
	ok := true
	for _, m := range marks {
		for m.w.epoch.Load() == m.e {
			select {
			case <-m.w.done:
				goto next
			default:
			}
			if m.w.stalled.Load() || time.Now().After(deadline) {
				d.log.Printf("ERROR: worker %d stuck on loop %d for %v or more (stalled): not waiting for it", m.w.id, m.e, bound)
				ok = false
				goto next
			}
			time.Sleep(20 * time.Microsecond)
		}
	next:
	}
	return ok
}

func (d *daemon) runWorker(w *worker, started *sync.WaitGroup) {
	defer close(w.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Not rte_thread_register: in 22.11 it calls rte_mp_disable()
	// (eal_common_thread.c), which would lock every application (a
	// secondary) out. So workers are non-EAL threads (lcore id
	// LCORE_ID_ANY): mempool get/put from them go straight to the pool's
	// ring, without DPDK's per-lcore cache.
	w.lcore = -1
	if w.cpu >= 0 {
		var set unix.CPUSet
		set.Set(w.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			d.log.Printf("worker %d: pin to CPU %d: %v", w.id, w.cpu, err)
		}
	}
	started.Done()
	burst := w.burst
	if burst > maxBurst {
		burst = maxBurst
	}
	pkts := (**C.struct_rte_mbuf)(C.calloc(maxBurst, C.size_t(unsafe.Sizeof(uintptr(0)))))
	caddrs := (*C.uintptr_t)(C.calloc(maxBurst, 8))
	clens := (*C.uint16_t)(C.calloc(maxBurst, 2))
	cstreams := (*C.uint32_t)(C.calloc(maxBurst, 4))
	defer func() {
		C.free(unsafe.Pointer(pkts))
		C.free(unsafe.Pointer(caddrs))
		C.free(unsafe.Pointer(clens))
		C.free(unsafe.Pointer(cstreams))
	}()
	addrs := unsafe.Slice((*uintptr)(unsafe.Pointer(caddrs)), maxBurst)
	lens := unsafe.Slice((*uint16)(unsafe.Pointer(clens)), maxBurst)
	streams := unsafe.Slice((*uint32)(unsafe.Pointer(cstreams)), maxBurst)
	hashes := make([]uint32, maxBurst)
	mbufs := unsafe.Slice((*uintptr)(unsafe.Pointer(pkts)), maxBurst)
	h := d.hasher
	idle := 0
	for !w.stop.Load() {
		work := 0
		for _, v := range w.vdevs {
			port := C.uint16_t(v.port.id)
			if v.cfg.HoldRx && v.active.Load() == nil {
				continue
			}
			for q := 0; q < int(v.port.cfg.RxQueues); q++ {
				n := int(C.mr_rx(port, C.uint16_t(q), pkts, caddrs, clens, C.uint16_t(burst)))
				if n == 0 {
					continue
				}
				work += n
				act := v.active.Load()
				if act == nil {
					if tc := d.traceOn(v); tc != nil {
						d.traceRx(w, v, tc, addrs[:n], lens[:n], nil, nil)
					}
					C.mr_drop_noapp(v.desc, pkts, C.uint16_t(n))
					continue
				}
				h.HashBurstAddrs(addrs[:n], lens[:n], hashes[:n])
				for i, x := range hashes[:n] {
					streams[i] = flowhash.Distribute(x, act.nrx)
					// hash.rss = the flow hash (Buffer.Hash, trace events):
					// the mbuf's first cache line, which mr_rx just read.
					*(*uint32)(unsafe.Add(ptrOf(uint64(mbufs[i])), mbufRSSOff)) = x
				}
				tc := d.traceOn(v)
				if tc != nil {
					d.traceRx(w, v, tc, addrs[:n], lens[:n], hashes[:n], streams[:n])
				}
				if nref := C.mr_deliver(v.desc, act.inst, pkts, cstreams, C.uint16_t(n), act.efds, d.refusedBuf(w, tc)); nref > 0 {
					d.traceRefused(w, v, int(nref), lens[:n], hashes[:n], streams[:n]) // tracing on only
				}
			}
			if act := v.active.Load(); act != nil && act.ntx > 0 {
				if tc := d.traceOn(v); tc != nil {
					work += d.traceTx(w, v, tc, act, burst, pkts, caddrs, clens, cstreams)
				} else {
					work += int(C.mr_tx_drain(v.desc, act.inst, port, 0, C.uint16_t(burst)))
				}
			}
		}
		w.epoch.Add(1)
		// Back off when idle so an idle daemon does not burn a core.
		if work == 0 {
			idle++
			if idle > 2048 {
				time.Sleep(100 * time.Microsecond)
			} else if idle > 256 {
				runtime.Gosched()
			}
		} else {
			idle = 0
		}
	}
}
