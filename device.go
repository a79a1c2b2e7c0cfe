package marsio

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/neigh"
	"github.com/gomarsio/marsio/internal/trace"
)

// Device is an opened virtual device (a vdev of the daemon): N receive and
// N transmit streams, stream k owned by dataplane thread k.
type Device struct {
	inst     *Instance
	name     string
	index    uint32
	desc     *abiVdevDesc
	vdi      *abiVdevInstance
	rx       []rxStream
	tx       []txStream
	pool     int // index into inst.pools: where this vdev's buffers come from
	mac      net.HardwareAddr
	mtu      int
	sharedTx bool
	x        *repSetup      // addrs/representor (issue 10); nil when neither
	nb       *neigh.Port    // x.nb: RecvBurst's one branch
	tc       *trace.Control // the vdev's trace control (never nil once bound)
	closed   atomic.Bool
}

type rxStream struct {
	ring fastpath.Ring
	st   *abiRxStream
	fd   int // eventfd the daemon writes when the stream is sleeping
}

type txStream struct {
	ring fastpath.Ring
	st   *abiTxStream
}

// DeviceOption configures OpenDevice.
type DeviceOption func(*Device)

// SharedTx makes every transmit on the device safe for several threads on
// one stream (multi-producer enqueue, one atomic per burst). Needed by
// Thread.SendBurstFlow, which picks the stream by flow hash.
func SharedTx() DeviceOption { return func(d *Device) { d.sharedTx = true } }

// OpenDevice opens the daemon's vdev devsym with rxStreams receive and
// txStreams transmit streams (marsio_open_device). Threads with an id at or
// above a stream count get ErrInvalid from that direction's calls.
func (i *Instance) OpenDevice(devsym string, rxStreams, txStreams int, opts ...DeviceOption) (*Device, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	d, err := i.openDevice(devsym, rxStreams, txStreams, opts)
	return d, i.fail(err)
}

func (i *Instance) openDevice(devsym string, nrx, ntx int, opts []DeviceOption) (*Device, error) {
	op := "open " + devsym
	if err := i.check(op); err != nil {
		return nil, err
	}
	if err := validSymbol(op, "devsym", devsym); err != nil {
		return nil, err
	}
	if nrx < 0 || nrx > abiMaxStreams || ntx < 0 || ntx > abiMaxStreams || nrx+ntx == 0 {
		return nil, errorf(op, ErrInvalid, "", "%d rx and %d tx streams: want 0..%d each, not both 0", nrx, ntx, abiMaxStreams)
	}
	if _, dup := i.devices[devsym]; dup {
		return nil, errorf(op, ErrBusy, "look it up with Instance.Device", "already open in this instance")
	}
	vc, extra := i.wantsCtl(devsym)
	ntxAsk := ntx
	if extra {
		ntxAsk++ // the library's control stream (neighbour.go)
	}
	rep, fds, err := i.openVdev(devsym, nrx, ntxAsk)
	if err != nil {
		if extra && errors.Is(err, ErrInvalid) {
			err = fmt.Errorf("%w (one more tx stream than asked is the library's, for ARP and the representor: ask for at most tx_streams_max-1)", err)
		}
		return nil, err
	}
	d := &Device{inst: i, name: devsym, index: rep.VdevIndex}
	for _, o := range opts {
		o(d)
	}
	if err := d.bind(rep, fds, nrx, ntxAsk); err != nil {
		closeFds(fds)
		i.closeVdev(rep.VdevIndex)
		return nil, err
	}
	if extra {
		ctl := &d.tx[ntx]
		d.tx = d.tx[:ntx:ntx]
		if err := d.setupExtras(vc, ctl); err != nil {
			d.release(true)
			return nil, err
		}
	}
	// Each thread's epoll watches the eventfd of its own rx stream.
	for k, s := range d.rx {
		if k >= len(i.threads) {
			break
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(s.fd)}
		if err := unix.EpollCtl(i.threads[k].epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			d.release(true)
			return nil, errorf(op, ErrNoSpace, "", "add rx eventfd of stream %d to thread %d's epoll: %v", k, k, err)
		}
	}
	i.devices[devsym] = d
	i.devOrder = append(i.devOrder, d)
	return d, nil
}

// bind validates the vdev instance the daemon created and takes its rings.
func (d *Device) bind(rep abiMsgVdevOpenRep, fds []int, nrx, ntx int) error {
	i := d.inst
	op := "open " + d.name
	bad := func(format string, args ...any) error {
		return errorf(op, ErrVersion, "daemon and library disagree on the ABI", format, args...)
	}
	if rep.VdevIndex >= i.root.NrVdevs {
		return bad("vdev index %d, daemon has %d", rep.VdevIndex, i.root.NrVdevs)
	}
	if int(rep.NrRxstream) != nrx || int(rep.NrTxstream) != ntx {
		return errorf(op, ErrInvalid, "ask for at most the vdev's rx_streams_max/tx_streams_max", "asked %d rx / %d tx streams, granted %d / %d", nrx, ntx, rep.NrRxstream, rep.NrTxstream)
	}
	if len(fds) != nrx {
		return bad("%d rx eventfds for %d streams", len(fds), nrx)
	}
	if !i.mem.contains(uintptr(rep.Instance), abiSizeofInstance) {
		return bad("vdev instance %#x outside shared memory", rep.Instance)
	}
	d.desc = &i.root.Vdevs[rep.VdevIndex]
	d.tc = i.traceControl(rep.VdevIndex)
	d.vdi = (*abiVdevInstance)(ptrAt(uintptr(rep.Instance)))
	if m := atomic.LoadUint32(&d.vdi.Magic); m != abiMagic {
		return bad("vdev instance magic %#x", m)
	}
	if d.vdi.AppSlot != i.slot || int(d.vdi.NrRxstream) != nrx || int(d.vdi.NrTxstream) != ntx {
		return bad("vdev instance for slot %d with %d/%d streams", d.vdi.AppSlot, d.vdi.NrRxstream, d.vdi.NrTxstream)
	}
	if int(d.desc.PoolIndex) >= len(i.pools) {
		return bad("vdev pool index %d, %d pools", d.desc.PoolIndex, len(i.pools))
	}
	d.pool = int(d.desc.PoolIndex)
	d.mac = append(net.HardwareAddr(nil), d.desc.Mac[:]...)
	d.mtu = int(d.desc.Mtu)
	ring := func(addr uint64, what string, k int) (fastpath.Ring, error) {
		if !i.mem.contains(uintptr(addr), 384) {
			return fastpath.Ring{}, bad("%s ring %d at %#x outside shared memory", what, k, addr)
		}
		r, err := fastpath.RingAt(uintptr(addr))
		if err != nil {
			return r, wrapf(op, ErrVersion, "", err, "%s ring %d", what, k)
		}
		if !i.mem.contains(uintptr(addr), uintptr(384+8*r.Size())) {
			return fastpath.Ring{}, bad("%s ring %d slots outside shared memory", what, k)
		}
		return r, nil
	}
	for k := 0; k < nrx; k++ {
		st := &d.vdi.Rx[k]
		r, err := ring(st.Ring, "rx", k)
		if err != nil {
			return err
		}
		d.rx = append(d.rx, rxStream{ring: r, st: st, fd: fds[k]})
	}
	for k := 0; k < ntx; k++ {
		st := &d.vdi.Tx[k]
		r, err := ring(st.Ring, "tx", k)
		if err != nil {
			return err
		}
		d.tx = append(d.tx, txStream{ring: r, st: st})
	}
	return nil
}

// Name returns the device symbol.
func (d *Device) Name() string { return d.name }

// RxStreams returns the number of receive streams.
func (d *Device) RxStreams() int { return len(d.rx) }

// TxStreams returns the number of transmit streams.
func (d *Device) TxStreams() int { return len(d.tx) }

// MAC returns the port's Ethernet address (marsio_get_device_ether_addr).
func (d *Device) MAC() net.HardwareAddr { return d.mac }

// MTU returns the port's MTU as the daemon configured it.
func (d *Device) MTU() int { return d.mtu }

// StreamStats are one stream's counters as the app side sees them.
type StreamStats struct {
	Pkts, Bytes, Drops, Events uint64
}

// RxStats returns the app-side counters of rx stream k (packets and bytes
// received, sleeps taken).
func (d *Device) RxStats(k int) (StreamStats, error) {
	// Any goroutine may ask: the control lock keeps a re-attach from
	// unmapping the counters under the loads.
	d.inst.mu.Lock()
	defer d.inst.mu.Unlock()
	if err := d.inst.hotCheck(); err != nil {
		return StreamStats{}, err
	}
	if d.closed.Load() {
		return StreamStats{}, errDevClosed
	}
	if k < 0 || k >= len(d.rx) {
		return StreamStats{}, errNoStream
	}
	c := &d.rx[k].st.App
	return StreamStats{atomic.LoadUint64(&c.Pkts), atomic.LoadUint64(&c.Bytes), atomic.LoadUint64(&c.Drops), atomic.LoadUint64(&c.Events)}, nil
}

// TxStats returns the app-side counters of tx stream k (packets and bytes
// handed to the daemon, drops when the ring was full).
func (d *Device) TxStats(k int) (StreamStats, error) {
	// Any goroutine may ask: the control lock keeps a re-attach from
	// unmapping the counters under the loads.
	d.inst.mu.Lock()
	defer d.inst.mu.Unlock()
	if err := d.inst.hotCheck(); err != nil {
		return StreamStats{}, err
	}
	if d.closed.Load() {
		return StreamStats{}, errDevClosed
	}
	if k < 0 || k >= len(d.tx) {
		return StreamStats{}, errNoStream
	}
	c := &d.tx[k].st.App
	return StreamStats{atomic.LoadUint64(&c.Pkts), atomic.LoadUint64(&c.Bytes), atomic.LoadUint64(&c.Drops), atomic.LoadUint64(&c.Events)}, nil
}

// Close releases the device's streams at the daemon (vdev_instance_close;
// the C library's marsio_close_device is a stub). Buffers still in its
// rings are reclaimed by the daemon. No thread may use the device during
// or after Close; calls on it then return ErrClosed. Closing twice is a
// no-op.
func (d *Device) Close() error {
	i := d.inst
	i.mu.Lock()
	defer i.mu.Unlock()
	if d.closed.Load() {
		return nil
	}
	if err := i.check("close " + d.name); err != nil && !errors.Is(err, ErrDaemonGone) {
		return nil // the instance's Close released it
	}
	err := d.release(i.state.Load() == stateReady)
	delete(i.devices, d.name)
	for k, x := range i.devOrder {
		if x == d {
			i.devOrder = append(i.devOrder[:k], i.devOrder[k+1:]...)
			break
		}
	}
	return err
}

// release closes the device's eventfds and, when the daemon is alive, its
// instance at the daemon. Callers hold inst.mu.
func (d *Device) release(alive bool) error {
	if d.closed.Load() {
		return nil
	}
	d.stopExtras()
	if d.closed.Swap(true) {
		return nil
	}
	i := d.inst
	for k, s := range d.rx {
		if k < len(i.threads) && i.threads[k].epfd >= 0 {
			unix.EpollCtl(i.threads[k].epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
		}
		unix.Close(s.fd)
	}
	if !alive {
		return nil
	}
	return i.closeVdev(d.index)
}

// sleeping returns the address of rx stream k's sleeping flag.
func (s *rxStream) sleeping() *uint32 { return (*uint32)(unsafe.Pointer(&s.st.Sleeping)) }
