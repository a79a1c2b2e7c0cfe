package marsio

import (
	"sync/atomic"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/trace"
)

// RecvBurst receives up to len(bufs) packets from the thread's rx stream of
// d, zero-copy, and returns how many it stored in bufs
// (marsio_recv_burst). The buffers are the caller's until it sends or
// frees them. An empty stream returns 0 and nil; PollWait then decides
// whether to sleep.
func (t *Thread) RecvBurst(d *Device, bufs []Buffer) (int, error) {
	// Between Thread.enter and Thread.leave like every fast-path call
	// (quiesce.go), written out at each return rather than in a wrapper:
	// one call less per burst.
	if d == nil { // refused before entering: a call must not panic inside (quiesce.go)
		return 0, errNilDev
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return 0, err
		}
	}
	var err error
	switch {
	case d.closed.Load():
		err = errDevClosed
	case d.inst != t.inst:
		err = errForeignDev
	case t.id >= len(d.rx):
		err = errNoStream
	}
	if err != nil {
		t.leave()
		return 0, err
	}
	s := &d.rx[t.id]
	n := s.ring.SCDequeueBurst(asWords(bufs))
	if n == 0 {
		t.idle++
		t.leave()
		return 0, nil
	}
	t.idle = 0
	var bytes uint64
	for _, b := range bufs[:n] {
		bytes += uint64(b.m.PktLen())
	}
	// W: app only (this thread); the status goroutine reads them atomically.
	c := &s.st.App
	fastpath.CounterAdd(&c.Pkts, uint64(n))
	fastpath.CounterAdd(&c.Bytes, bytes)
	if traceCompiled && d.tc.On() {
		t.traceBurst(d, bufs[:n], trace.AppRx)
	}
	if d.nb != nil {
		// The vdev has addresses: ARP/ND is the library's.
		n = t.neighInput(d, bufs[:n])
	}
	t.leave()
	return n, nil
}

// SendBurst hands bufs to the daemon on the thread's tx stream of d
// (marsio_send_burst) and returns how many the stream took. Every buffer
// passes to the library either way: those the stream had no room for are
// freed and counted as drops. The caller must not touch any of bufs
// afterwards.
func (t *Thread) SendBurst(d *Device, bufs []Buffer) (int, error) {
	if d == nil { // refused before entering: a call must not panic inside (quiesce.go)
		return 0, errNilDev
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return 0, err
		}
	}
	var err error
	switch {
	case d.closed.Load():
		err = errDevClosed
	case d.inst != t.inst:
		err = errForeignDev
	case t.id >= len(d.tx):
		err = errNoStream
	}
	if err != nil {
		t.leave()
		return 0, err
	}
	if traceCompiled && d.tc.On() {
		t.traceBurst(d, bufs, trace.AppTx)
	}
	n := t.enqueue(d, &d.tx[t.id], asWords(bufs))
	t.leave()
	return n, nil
}

// enqueue puts objs on a tx stream, frees what did not fit and counts.
func (t *Thread) enqueue(d *Device, s *txStream, objs []uintptr) int {
	if len(objs) == 0 {
		return 0
	}
	// Sum the bytes before the enqueue: once enqueued the daemon owns them.
	var bytes uint64
	for _, p := range objs {
		bytes += uint64(*(*uint32)(ptrAt(p + mbufPktLen)))
	}
	var n int
	if d.sharedTx {
		n = s.ring.MPEnqueueBurst(objs)
	} else {
		n = s.ring.SPEnqueueBurst(objs)
	}
	c := &s.st.App
	if n < len(objs) {
		for _, p := range objs[n:] {
			bytes -= uint64(*(*uint32)(ptrAt(p + mbufPktLen)))
		}
		t.traceTxFull(d, objs[n:]) // before the free: the events read the packets
		t.freeWords(objs[n:])
		if d.sharedTx {
			atomic.AddUint64(&c.Drops, uint64(len(objs)-n))
		} else {
			fastpath.CounterAdd(&c.Drops, uint64(len(objs)-n))
		}
	}
	if d.sharedTx {
		atomic.AddUint64(&c.Pkts, uint64(n))
		atomic.AddUint64(&c.Bytes, bytes)
	} else {
		// W: app only (this thread). A release store (plain MOV on amd64),
		// not sync/atomic's XCHG, which would stall on the ring stores just
		// made (mrbench e2e profile: most of enqueue's time at small bursts).
		fastpath.CounterAdd(&c.Pkts, uint64(n))
		fastpath.CounterAdd(&c.Bytes, bytes)
	}
	return n
}

// SendBurstFlow sends each buffer on the tx stream its flow hash selects
// (the seed's send with rehash): flowhash with the configured distmode and
// hashmode, then flowhash.Distribute over the device's tx streams, so a
// flow always leaves on one stream. The device must have been opened with
// SharedTx. Ownership and drops are as for SendBurst.
func (t *Thread) SendBurstFlow(d *Device, bufs []Buffer) (int, error) {
	if d == nil { // refused before entering: a call must not panic inside (quiesce.go)
		return 0, errNilDev
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return 0, err
		}
	}
	n, err := t.sendBurstFlow(d, bufs)
	t.leave()
	return n, err
}

func (t *Thread) sendBurstFlow(d *Device, bufs []Buffer) (int, error) {
	i := t.inst
	if d.closed.Load() {
		return 0, errDevClosed
	}
	if d.inst != i {
		return 0, errForeignDev
	}
	if !d.sharedTx {
		return 0, errNotShared
	}
	if len(d.tx) == 0 {
		return 0, errNoStream
	}
	sent := 0
	objs := asWords(bufs)
	for len(objs) > 0 {
		n := min(len(objs), burstMax)
		sent += t.sendFlowChunk(d, objs[:n])
		objs = objs[n:]
	}
	return sent, nil
}

func (t *Thread) sendFlowChunk(d *Device, objs []uintptr) int {
	n := len(objs)
	for k, p := range objs {
		m := fastpath.Mbuf(p)
		t.addrs[k] = m.BufAddr() + uintptr(m.DataOff())
		t.lens[k] = uint16(m.DataLen())
	}
	t.inst.hasher.HashBurstAddrs(t.addrs[:n], t.lens[:n], t.hashes[:n])
	ns := uint32(len(d.tx))
	var done uint64 // bit k: objs[k] already sent
	sent := 0
	for k := 0; k < n; k++ {
		if done&(1<<k) != 0 {
			continue
		}
		s := flowhash.Distribute(t.hashes[k], ns)
		g := 0
		for j := k; j < n; j++ {
			if done&(1<<j) == 0 && flowhash.Distribute(t.hashes[j], ns) == s {
				t.group[g] = objs[j]
				g++
				done |= 1 << j
			}
		}
		sent += t.enqueue(d, &d.tx[s], t.group[:g])
	}
	return sent
}

// Alloc fills bufs with fresh buffers from d's pool through the thread's
// cache (marsio_buff_malloc_device): all of them or, with ErrNoBuffers,
// none. Each is reset (one segment, no data, default headroom) and tagged as
// this application's.
func (t *Thread) Alloc(d *Device, bufs []Buffer) error {
	if d == nil { // refused before entering: a call must not panic inside (quiesce.go)
		return errNilDev
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return err
		}
	}
	var err error = errDevClosed
	if !d.closed.Load() {
		err = t.alloc(d.pool, asWords(bufs))
	}
	t.leave()
	return err
}

// AllocPool is Alloc from the instance's pool number pool (0 ≤ pool <
// Instance.Pools()), for buffers not tied to a device.
func (t *Thread) AllocPool(pool int, bufs []Buffer) error {
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return err
		}
	}
	var err error = errBadPool
	if pool >= 0 && pool < len(t.caches) {
		err = t.alloc(pool, asWords(bufs))
	}
	t.leave()
	return err
}

// Free returns buffers (and their chained segments) to their pools through
// the thread's caches (marsio_buff_free). A buffer that is not this
// application's — freed twice, still owned by the daemon or another
// application, or from a pool this instance does not know — is left alone
// and reported with ErrBadBuffer; the others are freed.
func (t *Thread) Free(bufs ...Buffer) error {
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return err
		}
	}
	err := t.freeWords(asWords(bufs))
	t.leave()
	return err
}

// FlowHash computes b's flow hash with the configured distmode and hashmode
// (the daemon's own definition: fastpath/flowhash), over the first segment.
// For a buffer the daemon delivered it equals b.Hash(), the value the
// daemon distributed it by.
func (t *Thread) FlowHash(b Buffer) uint32 { return t.inst.hasher.Hash(b.m.Data()) }

// FlowHashBurst stores in out[k] the flow hash of bufs[k] (as FlowHash, a
// burst at a time through flowhash's batch path); out must be at least as
// long as bufs. It allocates nothing and, like FlowHash, touches only the
// buffers' bytes, so it needs no device and may be called between any two
// calls of the thread.
func (t *Thread) FlowHashBurst(bufs []Buffer, out []uint32) {
	out = out[:len(bufs)]
	for len(bufs) > 0 {
		n := min(len(bufs), burstMax)
		for k, b := range bufs[:n] {
			t.addrs[k] = b.m.BufAddr() + uintptr(b.m.DataOff())
			t.lens[k] = uint16(b.m.DataLen())
		}
		t.inst.hasher.HashBurstAddrs(t.addrs[:n], t.lens[:n], out[:n])
		bufs, out = bufs[n:], out[n:]
	}
}

// Hasher returns the flow hasher the instance distributes with.
func (i *Instance) Hasher() flowhash.Hasher { return i.hasher }
