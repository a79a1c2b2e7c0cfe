package daemon

/*
#include <stdlib.h>
#include "dp.h"
*/
import "C"

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/ctrlproto/mrconf"
)

// request is one rte_mp request being served.
type request struct {
	msg  *C.struct_rte_mp_msg
	peer *C.char
	name string
	fds  []int // received fds, owned by the handler until handed on
}

// mrGoAction is the rte_mp action callback for every mrzcpd message (EAL's
// mp handle thread calls it through dp.c). It copies the request out of
// EAL's buffers and queues it for the control goroutine (ctlqueue.go), so
// EAL's thread is free to read the secondaries' replies to the memory syncs
// that serving it may start. Every request is answered.
//
//export mrGoAction
func mrGoAction(msg *C.struct_rte_mp_msg, peer *C.char) C.int {
	d := current.Load()
	r := newRequest(msg, peer)
	if d == nil || d.stopping.Load() || !d.ctl.push(r) {
		r.closeFds()
		r.replyStatus(mrENOTREG, "mrzcpd is shutting down")
		r.free()
		return 0
	}
	return 0
}

// serve runs one control request on the control goroutine. It always replies.
func (d *daemon) serve(r *request) {
	if d.stopping.Load() {
		r.closeFds()
		r.replyStatus(mrENOTREG, "mrzcpd is shutting down")
		return
	}
	switch r.name {
	case msgRegister:
		d.register(r)
	case msgDereg:
		d.deregister(r)
	case msgOpen:
		d.vdevOpen(r)
	case msgFds:
		d.vdevFds(r)
	case msgClose:
		d.vdevClose(r)
	default:
		r.closeFds()
		r.replyStatus(mrEINVAL, "unknown action "+r.name)
	}
}

func (r *request) closeFds() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}

func (r *request) param(size uintptr) (unsafe.Pointer, error) {
	if uintptr(r.msg.len_param) != size {
		return nil, fmt.Errorf("%s: request of %d bytes, want %d (ABI version %d?)", r.name, r.msg.len_param, size, abiVersion)
	}
	return unsafe.Pointer(&r.msg.param[0]), nil
}

func (r *request) reply(p unsafe.Pointer, size uintptr, fds []int) error {
	var cfds [mpMaxFds]C.int
	for i, fd := range fds {
		cfds[i] = C.int(fd)
	}
	ret := C.mr_reply(r.msg, p, C.int(size), &cfds[0], C.int(len(fds)), r.peer)
	if ret != 0 {
		return fmt.Errorf("%s: reply to %s: %w", r.name, C.GoString(r.peer), unix.Errno(-ret))
	}
	return nil
}

func (r *request) replyStatus(code int32, text string) error {
	var rep C.struct_mr_msg_status_rep
	rep.errcode = C.int32_t(code)
	setCstr(&rep.strerr[0], strerrMax, text)
	return r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), nil)
}

// refuse logs and answers a failed request.
func (d *daemon) refuse(r *request, code int32, text string, send func(code int32, text string) error) {
	d.log.Printf("%s from %s refused: %s: %s", r.name, C.GoString(r.peer), errName(code), text)
	r.closeFds()
	if err := send(code, text); err != nil {
		d.log.Printf("%v", err)
	}
}

func (d *daemon) register(r *request) {
	var rep C.struct_mr_msg_register_rep
	send := func(code int32, text string) error {
		rep.errcode = C.int32_t(code)
		setCstr(&rep.strerr[0], strerrMax, text)
		return r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), nil)
	}
	if uintptr(r.msg.len_param) >= 4 {
		if v := *(*uint32)(unsafe.Pointer(&r.msg.param[0])); v != abiVersion {
			d.refuse(r, mrEABI, fmt.Sprintf("ABI version %d, daemon has %d", v, abiVersion), send)
			return
		}
	}
	p, err := r.param(C.sizeof_struct_mr_msg_register_req)
	if err != nil {
		d.refuse(r, mrEINVAL, err.Error(), send)
		return
	}
	req := (*C.struct_mr_msg_register_req)(p)
	appsym := cstr(&req.appsym[0], symbolMax)
	pid := int(req.pid)
	switch {
	case len(r.fds) != 1:
		d.refuse(r, mrEINVAL, fmt.Sprintf("needs exactly one fd (the liveness socketpair end), got %d", len(r.fds)), send)
		return
	case !mrconf.ValidSymbol(appsym):
		d.refuse(r, mrEINVAL, fmt.Sprintf("appsym %q: must be 1..63 characters of [A-Za-z0-9_.-]", appsym), send)
		return
	case pid <= 0:
		d.refuse(r, mrEINVAL, fmt.Sprintf("pid %d", pid), send)
		return
	case req.nr_threads < 1 || req.nr_threads > maxThreads:
		d.refuse(r, mrEINVAL, fmt.Sprintf("nr_threads %d: must be 1..%d", req.nr_threads, maxThreads), send)
		return
	case req.cache_size > mrconf.MaxMempoolCache:
		d.refuse(r, mrEINVAL, fmt.Sprintf("cache_size %d: must be <= %d", req.cache_size, mrconf.MaxMempoolCache), send)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	slot := -1
	for i, a := range d.apps {
		if a == nil {
			if slot < 0 {
				slot = i
			}
			continue
		}
		if a.appsym == appsym {
			if monit.ProcessAlive(a.pid) {
				d.refuse(r, mrEBUSY, fmt.Sprintf("appsym %q is already registered by live pid %d (slot %d)", appsym, a.pid, a.slot), send)
				return
			}
			// Its hang-up has not been processed yet: reclaim now.
			d.teardownApp(a, "re-registered after its process died", true)
			if slot < 0 || a.slot < slot {
				slot = a.slot
			}
		}
	}
	if slot < 0 {
		d.refuse(r, mrENOSLOT, fmt.Sprintf("all %d application slots are in use", maxApps), send)
		return
	}
	zone := C.mr_app_zone_create(C.uint32_t(slot), req.nr_threads, d.root.nr_pools, req.cache_size)
	if zone == nil {
		d.refuse(r, mrENOMEM, "app zone: "+C.GoString(C.mr_strerror_last()), send)
		return
	}
	d.gens[slot]++
	a := &appState{slot: slot, appsym: appsym, pid: pid, generation: d.gens[slot], zone: zone, vdevs: map[int]bool{}}
	s := &d.root.apps[slot]
	s.pid = C.int32_t(pid)
	s.generation = C.uint64_t(a.generation)
	s.register_ns = C.uint64_t(time.Now().UnixNano())
	s.zone = C.uint64_t(uintptr(unsafe.Pointer(zone)))
	setCstr(&s.appsym[0], len(s.appsym), appsym)
	setCstr(&s.monit_file[0], len(s.monit_file), cstr(&req.monit_file[0], len(req.monit_file)))
	s.nr_threads = req.nr_threads
	s.cache_size = req.cache_size
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.state)), appActive) // published
	unix.SetNonblock(r.fds[0], true)
	a.sock = os.NewFile(uintptr(r.fds[0]), "liveness:"+appsym)
	r.fds = nil
	d.apps[slot] = a

	rep.errcode = mrOK
	rep.slot = C.uint32_t(slot)
	rep.generation = C.uint64_t(a.generation)
	rep.root = C.uint64_t(uintptr(unsafe.Pointer(d.root)))
	rep.zone = C.uint64_t(uintptr(unsafe.Pointer(zone)))
	if err := r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), nil); err != nil {
		d.log.Printf("register %s (pid %d): %v: peer gone, rolling back", appsym, pid, err)
		d.teardownApp(a, "peer vanished during registration", true)
		return
	}
	d.log.Printf("app %s registered: pid %d, slot %d, generation %d, %d threads, cache %d",
		appsym, pid, slot, a.generation, req.nr_threads, req.cache_size)
	go d.watch(a)
}

// watch waits for the app's socketpair end to hang up.
func (d *daemon) watch(a *appState) {
	buf := make([]byte, 64)
	for {
		_, err := a.sock.Read(buf)
		if err == nil {
			continue // the app may send anything; only the hang-up counts
		}
		if err != io.EOF && !isHangup(err) {
			// Closed by us (deregister/shutdown) or a real error: either way done.
			d.mu.Lock()
			done := a.done
			d.mu.Unlock()
			if done {
				return
			}
		}
		break
	}
	d.noteGone(a.appsym, a.pid)
	d.mu.Lock()
	defer d.mu.Unlock()
	if a.done || d.stopping.Load() {
		return
	}
	d.teardownApp(a, "liveness socket hang-up (app exited or crashed)", true)
}

func isHangup(err error) bool {
	return err == syscall.ECONNRESET || err == syscall.EPIPE
}

// lookupApp finds the live app of a request; d.mu held.
func (d *daemon) lookupApp(slot uint32, pid int32, gen uint64, checkPid bool) (*appState, string) {
	if slot >= maxApps || d.apps[slot] == nil || d.apps[slot].done {
		return nil, fmt.Sprintf("slot %d is not registered", slot)
	}
	a := d.apps[slot]
	if a.generation != gen {
		return nil, fmt.Sprintf("slot %d generation %d is stale (now %d)", slot, gen, a.generation)
	}
	if checkPid && int(pid) != a.pid {
		return nil, fmt.Sprintf("slot %d belongs to pid %d, not %d", slot, a.pid, pid)
	}
	return a, ""
}

func (d *daemon) deregister(r *request) {
	send := func(code int32, text string) error { return r.replyStatus(code, text) }
	p, err := r.param(C.sizeof_struct_mr_msg_deregister_req)
	if err != nil {
		d.refuse(r, mrEINVAL, err.Error(), send)
		return
	}
	r.closeFds()
	req := (*C.struct_mr_msg_deregister_req)(p)
	d.mu.Lock()
	a, why := d.lookupApp(uint32(req.slot), int32(req.pid), uint64(req.generation), true)
	if a == nil {
		d.mu.Unlock()
		d.refuse(r, mrENOTREG, why, send)
		return
	}
	d.teardownApp(a, "deregistered", true)
	d.mu.Unlock()
	if err := r.replyStatus(mrOK, ""); err != nil {
		d.log.Printf("%v", err)
	}
}

func (d *daemon) vdevOpen(r *request) {
	var rep C.struct_mr_msg_vdev_open_rep
	send := func(code int32, text string) error {
		rep.errcode = C.int32_t(code)
		setCstr(&rep.strerr[0], strerrMax, text)
		return r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), nil)
	}
	p, err := r.param(C.sizeof_struct_mr_msg_vdev_open_req)
	if err != nil {
		d.refuse(r, mrEINVAL, err.Error(), send)
		return
	}
	r.closeFds()
	req := (*C.struct_mr_msg_vdev_open_req)(p)
	devsym := cstr(&req.devsym[0], symbolMax)
	setCstr(&rep.devsym[0], symbolMax, devsym)
	d.mu.Lock()
	defer d.mu.Unlock()
	a, why := d.lookupApp(uint32(req.slot), int32(req.pid), uint64(req.generation), true)
	if a == nil {
		d.refuse(r, mrENOTREG, why, send)
		return
	}
	var v *vdevState
	for _, x := range d.vdevs {
		if x.cfg.Devsym == devsym {
			v = x
		}
	}
	nrx, ntx := uint32(req.nr_rxstream), uint32(req.nr_txstream)
	switch {
	case v == nil:
		d.refuse(r, mrENODEV, fmt.Sprintf("no vdev %q in %s", devsym, d.cfg.Path), send)
		return
	case !v.cfg.Allows(a.appsym):
		d.refuse(r, mrEDENIED, fmt.Sprintf("app %q may not open %q (config %s: [vdev:%s] apps=%v)", a.appsym, devsym, d.cfg.Path, devsym, v.cfg.Apps), send)
		return
	case !v.port.started:
		d.refuse(r, mrENODEV, fmt.Sprintf("vdev %q: %v", devsym, v.port.err), send)
		return
	case v.owner >= 0:
		holder := d.apps[v.owner]
		d.refuse(r, mrEBUSY, fmt.Sprintf("vdev %q is already open by %s (pid %d)", devsym, holder.appsym, holder.pid), send)
		return
	case nrx < 1 || nrx > v.cfg.RxStreamsMax:
		d.refuse(r, mrEINVAL, fmt.Sprintf("vdev %q: %d rx streams, must be 1..%d", devsym, nrx, v.cfg.RxStreamsMax), send)
		return
	case ntx > v.cfg.TxStreamsMax:
		d.refuse(r, mrEINVAL, fmt.Sprintf("vdev %q: %d tx streams, must be 0..%d", devsym, ntx, v.cfg.TxStreamsMax), send)
		return
	}
	eb := newErrBuf()
	defer eb.free()
	inst := C.mr_vdev_instance_create(C.uint32_t(v.idx), C.uint32_t(a.slot), C.uint64_t(a.generation),
		C.uint32_t(nrx), C.uint32_t(ntx), C.uint32_t(v.cfg.RingSize), eb.p, errBufLen)
	if inst == nil {
		d.refuse(r, mrENOMEM, fmt.Sprintf("vdev %q: %s", devsym, eb), send)
		return
	}
	efds := make([]int, nrx)
	cfds := (*C.int)(C.malloc(C.size_t(maxStreams) * C.size_t(unsafe.Sizeof(C.int(0)))))
	cf := unsafe.Slice(cfds, maxStreams)
	for i := range cf {
		cf[i] = -1
	}
	for i := range efds {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			for _, f := range efds[:i] {
				unix.Close(f)
			}
			C.free(unsafe.Pointer(cfds))
			C.mr_vdev_instance_free(inst, nil)
			d.refuse(r, mrENOMEM, fmt.Sprintf("vdev %q: eventfd: %v", devsym, err), send)
			return
		}
		efds[i] = fd
		cf[i] = C.int(fd)
	}
	v.owner, v.efds, v.inst = a.slot, efds, inst
	a.vdevs[v.idx] = true
	v.desc.owner_slot = C.uint32_t(a.slot)
	v.desc.state = vdevOpen
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&v.desc.instance)), uint64(uintptr(unsafe.Pointer(inst)))) // published
	v.active.Store(&active{inst: inst, efds: cfds, nrx: nrx, ntx: ntx})

	rep.errcode = mrOK
	rep.vdev_index = C.uint32_t(v.idx)
	rep.nr_rxstream = C.uint32_t(nrx)
	rep.nr_txstream = C.uint32_t(ntx)
	rep.instance = C.uint64_t(uintptr(unsafe.Pointer(inst)))
	first := efds[:min(len(efds), fdsPerMsg)]
	if err := r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), first); err != nil {
		d.log.Printf("open %s by %s: %v: peer gone, closing it again", devsym, a.appsym, err)
		d.closeVdev(v, nil)
		delete(a.vdevs, v.idx)
		return
	}
	d.log.Printf("app %s opened vdev %s: %d rx / %d tx streams, ring size %d", a.appsym, devsym, nrx, ntx, v.cfg.RingSize)
}

func (d *daemon) vdevFds(r *request) {
	var rep C.struct_mr_msg_vdev_fds_rep
	send := func(code int32, text string) error {
		rep.errcode = C.int32_t(code)
		return r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), nil)
	}
	p, err := r.param(C.sizeof_struct_mr_msg_vdev_fds_req)
	if err != nil {
		d.refuse(r, mrEINVAL, err.Error(), send)
		return
	}
	r.closeFds()
	req := (*C.struct_mr_msg_vdev_fds_req)(p)
	d.mu.Lock()
	defer d.mu.Unlock()
	vi := int(req.vdev_index)
	if vi >= len(d.vdevs) || d.vdevs[vi].owner != int(req.slot) || d.apps[req.slot] == nil {
		d.refuse(r, mrENOTREG, fmt.Sprintf("vdev %d is not open by slot %d", vi, req.slot), send)
		return
	}
	v := d.vdevs[vi]
	first := int(req.first)
	if first >= len(v.efds) {
		d.refuse(r, mrEINVAL, fmt.Sprintf("first %d: the vdev has %d rx streams", first, len(v.efds)), send)
		return
	}
	fds := v.efds[first:min(len(v.efds), first+fdsPerMsg)]
	rep.errcode = mrOK
	rep.first = C.uint32_t(first)
	rep.count = C.uint32_t(len(fds))
	if err := r.reply(unsafe.Pointer(&rep), unsafe.Sizeof(rep), fds); err != nil {
		d.log.Printf("%v", err)
	}
}

func (d *daemon) vdevClose(r *request) {
	send := func(code int32, text string) error { return r.replyStatus(code, text) }
	p, err := r.param(C.sizeof_struct_mr_msg_vdev_close_req)
	if err != nil {
		d.refuse(r, mrEINVAL, err.Error(), send)
		return
	}
	r.closeFds()
	req := (*C.struct_mr_msg_vdev_close_req)(p)
	d.mu.Lock()
	a, why := d.lookupApp(uint32(req.slot), 0, uint64(req.generation), false)
	if a == nil {
		d.mu.Unlock()
		d.refuse(r, mrENOTREG, why, send)
		return
	}
	vi := int(req.vdev_index)
	if vi >= len(d.vdevs) || d.vdevs[vi].owner != a.slot {
		d.mu.Unlock()
		d.refuse(r, mrEINVAL, fmt.Sprintf("vdev %d is not open by %s", vi, a.appsym), send)
		return
	}
	var st C.struct_mr_reclaim_stats
	d.closeVdev(d.vdevs[vi], &st)
	delete(a.vdevs, vi)
	d.mu.Unlock()
	d.log.Printf("app %s closed vdev %s (%d rx / %d tx packets left in its rings freed)",
		a.appsym, d.vdevs[vi].cfg.Devsym, st.from_rx_rings, st.from_tx_rings)
	if err := r.replyStatus(mrOK, ""); err != nil {
		d.log.Printf("%v", err)
	}
}

// closeVdev detaches the instance from the dataplane, waits until no worker
// can still use it, then frees rings, memzone and eventfds; d.mu held.
func (d *daemon) closeVdev(v *vdevState, st *C.struct_mr_reclaim_stats) {
	if v.owner < 0 {
		return
	}
	old := v.active.Swap(nil)
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&v.desc.instance)), 0)
	v.desc.state = vdevIdle
	v.desc.owner_slot = 0
	// The app's tx ring-full drops live in the instance: fold them into
	// the vdev's cumulative counter before it goes away.
	v.desc.drops.app_tx_ring_full += C.uint64_t(appTxDrops(v.inst))
	if !d.quiesce() {
		// A stalled worker may still be inside the instance: leave its
		// rings, memzone, eventfds and efds array as they are (the
		// watchdog shuts the daemon down).
		d.log.Printf("ERROR: vdev %s: a worker is stalled: its instance's rings, memzone and eventfds are left unfreed", v.cfg.Devsym)
		v.owner, v.efds, v.inst = -1, nil, nil
		return
	}
	C.mr_vdev_instance_free(v.inst, st)
	if old != nil {
		C.free(unsafe.Pointer(old.efds))
	}
	for _, fd := range v.efds {
		unix.Close(fd)
	}
	v.owner, v.efds, v.inst = -1, nil, nil
}

// teardownApp closes the app's vdevs, returns every mbuf it held and frees
// its slot; d.mu held. reclaim: flush caches and scan owner tags (always,
// except at shutdown where the pools go away anyway).
// hangUpApp tells a live app that the daemon is going, at shutdown: its
// slot shows reclaim and its socket hangs up, and nothing else. Its rings,
// caches and memzone are left alone: the app may be inside a call on them
// until it sees the hang-up (draining its rx rings here raced with its own
// dequeues: TestReattachHammer saw NULL mbufs), and the memory goes with
// the daemon anyway; the app keeps its mapping until it detaches.
func (d *daemon) hangUpApp(a *appState) {
	if a.done {
		return
	}
	a.done = true
	s := &d.root.apps[a.slot]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.state)), appReclaim)
	if a.sock != nil {
		a.sock.Close()
	}
	d.apps[a.slot] = nil
}

func (d *daemon) teardownApp(a *appState, why string, reclaim bool) {
	if a.done {
		return
	}
	a.done = true
	s := &d.root.apps[a.slot]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.state)), appReclaim)
	var st C.struct_mr_reclaim_stats
	for vi := range a.vdevs {
		d.closeVdev(d.vdevs[vi], &st)
	}
	if reclaim {
		C.mr_app_flush_caches(a.zone, C.uint32_t(a.slot), &st)
		C.mr_app_reclaim_tags(C.uint32_t(a.slot), &st)
	}
	C.mr_app_zone_free(C.uint32_t(a.slot))
	if a.sock != nil {
		a.sock.Close() // the app sees the hang-up
	}
	s.zone = 0
	s.pid = 0
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.state)), appFree)
	d.apps[a.slot] = nil
	rec := monit.Reclaim{Appsym: a.appsym, Pid: a.pid, Time: time.Now().UnixNano(),
		FromRings: uint64(st.from_rx_rings + st.from_tx_rings), FromCache: uint64(st.from_caches),
		FromTags: uint64(st.from_tags)}
	d.reclaims = append(d.reclaims, rec)
	if len(d.reclaims) > 32 {
		d.reclaims = d.reclaims[1:]
	}
	d.log.Printf("app %s (pid %d, slot %d) gone: %s; reclaimed %d mbufs from rx rings, %d from tx rings, %d from caches, %d by owner tag (%d bad cache entries skipped)",
		a.appsym, a.pid, a.slot, why, st.from_rx_rings, st.from_tx_rings, st.from_caches, st.from_tags, st.bad_objects)
}
