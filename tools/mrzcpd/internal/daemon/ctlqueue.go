package daemon

/*
#include <stdlib.h>
#include <string.h>
#include "dp.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Control requests are served on one goroutine of their own, never on EAL's
// mp handle thread. Serving a request can make the primary's heap grow or
// shrink (rings, memzones, app zones), and DPDK 22.11 then asks every
// secondary to sync its mappings with rte_mp_request_sync
// (malloc_mp.c request_sync) — whose replies only the mp handle thread reads.
// Served on that thread, each sync would wait out MP_TIMEOUT_S (5 s), the
// allocation would fail and roll back (another 5 s), and every other app's
// request would queue behind it: an open after a close could miss the app's
// 30 s timeout. rte_mp_reply may be called from any thread.

// ctlQueue hands requests from the rte_mp callback to the control goroutine,
// in arrival order.
type ctlQueue struct {
	mu     sync.Mutex
	ch     chan *request
	closed bool
	done   chan struct{}
}

// start runs the control goroutine; it serves until stop.
func (q *ctlQueue) start(d *daemon) {
	q.ch = make(chan *request, 256)
	q.done = make(chan struct{})
	go func() {
		defer close(q.done)
		for r := range q.ch {
			d.serve(r)
			r.free()
		}
	}()
}

// push queues r; false when the queue is stopped (or was never started) or
// full (the caller refuses the request).
func (q *ctlQueue) push(r *request) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.ch == nil {
		return false
	}
	select {
	case q.ch <- r:
		return true
	default:
		return false
	}
}

// stop serves what is queued, then returns once the goroutine has ended. Call
// it after the actions are unregistered.
func (q *ctlQueue) stop() {
	q.mu.Lock()
	if q.closed || q.ch == nil {
		q.closed = true
		q.mu.Unlock()
		return
	}
	q.closed = true
	close(q.ch)
	q.mu.Unlock()
	<-q.done
}

// newRequest copies an rte_mp request and its peer's socket path out of
// EAL's buffers, which are valid only during the callback. The received fds
// pass to the request.
func newRequest(msg *C.struct_rte_mp_msg, peer *C.char) *request {
	m := (*C.struct_rte_mp_msg)(C.malloc(C.sizeof_struct_rte_mp_msg))
	*m = *msg
	r := &request{msg: m, peer: C.strdup(peer), name: C.GoString(&m.name[0])}
	for i := 0; i < int(m.num_fds) && i < mpMaxFds; i++ {
		r.fds = append(r.fds, int(m.fds[i]))
	}
	return r
}

// free releases the copies newRequest made.
func (r *request) free() {
	C.free(unsafe.Pointer(r.msg))
	C.free(unsafe.Pointer(r.peer))
	r.msg, r.peer = nil, nil
}
