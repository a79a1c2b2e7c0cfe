package marsio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/neigh"
	"github.com/gomarsio/marsio/internal/tap"
	"github.com/gomarsio/marsio/internal/trace"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Issue 10: the TAP representor and the neighbour table of a vdev.
//
// A vdev whose [vdev:] section has addrs or representor=1 gets, when the
// application opens it, one more tx stream than asked for: the control
// stream (the daemon's tx stream number TxStreams()), used only by the
// library — ARP/ND replies and requests, gratuitous ARPs and everything
// the kernel transmits out of the representor — with multi-producer
// enqueues, so it never touches a dataplane thread's own stream. Its
// counters are the last tx stream of the vdev instance in the daemon's
// status file.

var (
	errNoRep   = &Error{Op: "to kernel", Msg: "device has no representor", Hint: "set representor=1 in the vdev's [vdev:] section", Err: ErrInvalid}
	errNoNeigh = &Error{Op: "send ip", Msg: "device has no addresses", Hint: "set addrs= in the vdev's [vdev:] section", Err: ErrInvalid}
	errNoRoom  = &Error{Op: "send ip", Msg: "no headroom for the Ethernet header (14 bytes)", Err: ErrInvalid}
)

// vdevLib is what the library reads from the global config for its vdevs
// (mrconf.Vdev's addrs and representor keys) and the static neighbours.
type vdevLib struct {
	vdevs  map[string]mrconf.Vdev
	static []neigh.StaticEntry
	ncfg   neigh.Config
}

// loadVdevLib reads the [vdev:] sections of the global config (when it is
// a file) and mrneigh.table beside it. A bad neighbour file fails Init with
// the file, line and reason.
func loadVdevLib(globalPath string, svc ServiceConfig) (vdevLib, error) {
	const op = "init"
	l := vdevLib{vdevs: map[string]mrconf.Vdev{}, ncfg: neigh.Config{
		MaxEntries:     svc.NeighMaxEntries,
		Timeout:        svc.NeighTimeout,
		ARPInterval:    svc.NeighARPInterval,
		GratuitousARPs: svc.NeighGratuitousARPs,
	}}
	if st, err := os.Stat(globalPath); err != nil || !st.Mode().IsRegular() {
		return l, nil
	}
	c, err := mrconf.Load(globalPath)
	if err != nil {
		return l, wrapf(op, ErrConfig, "fix the file named above", err, "load vdev configuration")
	}
	for _, v := range c.Vdevs {
		l.vdevs[v.Devsym] = v
	}
	if l.static, err = neigh.LoadStatic(neigh.StaticPath(globalPath)); err != nil {
		return l, wrapf(op, ErrConfig, "fix the line named above", err, "load static neighbours")
	}
	return l, nil
}

// repSetup is the per-device state of issue 10.
type repSetup struct {
	nb   *neigh.Port // nil: RecvBurst does not look at frames
	rep  *tap.Tap    // nil: no representor
	ctl  *txStream   // the library's control tx stream
	stop chan struct{}
	wg   sync.WaitGroup

	ctlSent, ctlDrops atomic.Uint64
}

// wantsCtl reports whether opening devsym needs the control stream.
func (i *Instance) wantsCtl(devsym string) (mrconf.Vdev, bool) {
	v, ok := i.lib.vdevs[devsym]
	return v, ok && (len(v.Addrs) > 0 || v.Representor)
}

// setupExtras builds the neighbour port and the representor of d. On error
// nothing is left behind.
func (d *Device) setupExtras(v mrconf.Vdev, ctl *txStream) error {
	i := d.inst
	op := "open " + d.name
	x := &repSetup{ctl: ctl, stop: make(chan struct{})}
	mac, err := neigh.MACFrom(d.mac)
	if err != nil {
		return wrapf(op, ErrInvalid, "", err, "vdev MAC")
	}
	if len(v.Addrs) > 0 {
		t, err := neigh.NewTable(i.lib.ncfg)
		if err != nil {
			return wrapf(op, ErrConfig, "check neigh_* in [service]", err, "neighbour table")
		}
		if _, err := t.AddStaticEntries(i.lib.static, d.name); err != nil {
			return wrapf(op, ErrConfig, "the static file has more entries for this vdev than neigh_max_entries", err, "static neighbours")
		}
		if x.nb, err = neigh.NewPort(d.name, mac, v.Addrs, t, slog.Default().With("vdev", d.name)); err != nil {
			return wrapf(op, ErrConfig, "check addrs= of [vdev:"+d.name+"]", err, "neighbour port")
		}
	}
	// d.x is set before the representor's reader starts: it calls
	// fromKernel as soon as the kernel sends (the interface is up). On
	// error it is cleared again.
	d.x = x
	if v.Representor {
		if err := addrsFree(v.RepresentorAddrs); err != nil {
			d.x = nil
			return wrapf(op, ErrBusy, "remove the address from the other interface or change representor_addrs", err, "representor")
		}
		x.rep, err = tap.Create(tap.Config{DevSym: d.name, Name: v.RepresentorName, AppSym: i.appsym,
			MAC: d.mac, MTU: d.mtu, Addrs: v.RepresentorAddrs})
		if err != nil {
			d.x = nil
			s, hint := ErrInvalid, ""
			switch {
			case errors.Is(err, tap.ErrPermission):
				s, hint = ErrDenied, "the application needs CAP_NET_ADMIN for representor=1"
			case errors.Is(err, tap.ErrNameClash):
				s, hint = ErrBusy, "set representor_name= or remove the other interface"
			case errors.Is(err, tap.ErrNoTun):
				s, hint = ErrNoSpace, "modprobe tun"
			}
			return wrapf(op, s, hint, err, "representor")
		}
		if err := x.rep.StartReader(d.fromKernel); err != nil {
			d.x = nil
			x.rep.Close()
			return wrapf(op, ErrInvalid, "", err, "representor reader")
		}
	}
	d.nb = x.nb
	if x.nb != nil && i.lib.ncfg.GratuitousARPs > 0 {
		x.wg.Add(1)
		go d.announce(i.lib.ncfg.GratuitousARPs, i.lib.ncfg.ARPInterval)
	}
	return nil
}

// addrsFree fails when one of addrs is already assigned to an interface of
// the calling thread's network namespace.
func addrsFree(addrs []netip.Prefix) error {
	if len(addrs) == 0 {
		return nil
	}
	have, err := net.InterfaceAddrs()
	if err != nil {
		return nil // cannot tell: let the kernel decide
	}
	for _, a := range addrs {
		for _, h := range have {
			if n, ok := h.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a.Addr() {
					return fmt.Errorf("address %v already in use on this host", a.Addr())
				}
			}
		}
	}
	return nil
}

// stopExtras stops the announcer and removes the representor. Callers
// hold inst.mu; it runs before the vdev instance is released.
func (d *Device) stopExtras() {
	x := d.x
	if x == nil {
		return
	}
	close(x.stop)
	x.wg.Wait()
	if x.rep != nil {
		x.rep.Close()
	}
}

// announce sends n gratuitous ARPs (unsolicited NAs for IPv6) per address,
// ARPInterval apart.
func (d *Device) announce(n int, every time.Duration) {
	x := d.x
	defer x.wg.Done()
	var buf [128]byte
	for k := 0; k < n; k++ {
		if k > 0 {
			select {
			case <-x.stop:
				return
			case <-time.After(every):
			}
		}
		for _, a := range x.nb.Addrs() {
			if l, err := x.nb.Gratuitous(buf[:], a.Addr()); err == nil {
				d.ctlSend(buf[:l])
			}
		}
	}
}

// fromKernel is the representor's reader: a frame the kernel transmitted
// leaves through the vdev on the control stream. The kernel's own ARP
// replies and neighbour advertisements are dropped when the library answers
// for the vdev's addresses (else peers get every answer twice).
func (d *Device) fromKernel(frame []byte) {
	if d.x.nb != nil && isNeighAnswer(frame) {
		return
	}
	d.ctlSend(frame)
}

// isNeighAnswer reports an ARP reply or an ICMPv6 neighbour advertisement.
func isNeighAnswer(f []byte) bool {
	if len(f) < 14 {
		return false
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case neigh.EtherTypeARP:
		return len(f) >= 22 && binary.BigEndian.Uint16(f[20:]) == 2
	case neigh.EtherTypeIPv6:
		return len(f) >= 55 && f[20] == 58 && f[54] == 136
	}
	return false
}

// ctlSend copies frame into a fresh buffer of the vdev's pool (no thread
// cache: any goroutine may call it) and enqueues it on the control stream.
// Full ring or empty pool: the frame is dropped and counted.
func (d *Device) ctlSend(frame []byte) bool {
	i := d.inst
	x := d.x
	if d.closed.Load() || i.state.Load() != stateReady {
		return false
	}
	pl := &i.pools[d.pool]
	c := &x.ctl.st.App
	if len(frame) > int(pl.dataRoom)-dpdk.RTE_PKTMBUF_HEADROOM {
		atomic.AddUint64(&c.Drops, 1)
		x.ctlDrops.Add(1)
		return false
	}
	m, err := pl.mp.AllocMbuf(fastpath.Cache{})
	if err != nil {
		atomic.AddUint64(&c.Drops, 1)
		x.ctlDrops.Add(1)
		return false
	}
	*i.ownerTag(uintptr(m)) = i.owner
	dst, err := m.Append(len(frame))
	if err != nil {
		*i.ownerTag(uintptr(m)) = 0
		pl.mp.FreeMbuf(m, fastpath.Cache{})
		atomic.AddUint64(&c.Drops, 1)
		x.ctlDrops.Add(1)
		return false
	}
	copy(dst, frame)
	one := [1]uintptr{uintptr(m)}
	if x.ctl.ring.MPEnqueueBurst(one[:]) != 1 {
		*i.ownerTag(uintptr(m)) = 0
		pl.mp.FreeMbuf(m, fastpath.Cache{})
		atomic.AddUint64(&c.Drops, 1)
		x.ctlDrops.Add(1)
		return false
	}
	atomic.AddUint64(&c.Pkts, 1)
	atomic.AddUint64(&c.Bytes, uint64(len(frame)))
	x.ctlSent.Add(1)
	return true
}

// neighInput runs the received bufs through the vdev's ARP/ND handling:
// frames it consumes are answered on the control stream, copied to the
// representor when well-formed (so the kernel's neighbour cache fills too;
// truncated, malformed and spoofed ones are only counted and logged) and
// freed; the others are compacted to the front of bufs. It returns how
// many remain.
func (t *Thread) neighInput(d *Device, bufs []Buffer) int {
	x := d.x
	var reply [128]byte
	keep, g := 0, 0
	for _, b := range bufs {
		data := b.m.Data()
		v, n := x.nb.InputVerdict(data, reply[:])
		if v == neigh.NotNeighbour {
			bufs[keep] = b
			keep++
			continue
		}
		if n > 0 {
			d.ctlSend(reply[:n])
		}
		if x.rep != nil && v == neigh.Handled {
			x.rep.WriteToKernel(data)
		}
		if g == len(t.group) {
			t.freeWords(t.group[:g])
			g = 0
		}
		t.group[g] = uintptr(b.m)
		g++
	}
	if g > 0 {
		t.freeWords(t.group[:g])
	}
	return keep
}

// ToKernel hands a received buffer to the kernel through d's representor
// (a copy of the packet, all segments) and frees it: like SendBurst, the
// buffer is the library's afterwards, whatever the result.
func (t *Thread) ToKernel(d *Device, b Buffer) error {
	if d == nil { // refused before entering (quiesce.go)
		return errNilDev
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return err
		}
	}
	err := t.toKernel(d, b)
	t.leave()
	return err
}

func (t *Thread) toKernel(d *Device, b Buffer) error {
	if d.closed.Load() {
		return errDevClosed
	}
	if d.x == nil || d.x.rep == nil {
		t.freeWords([]uintptr{uintptr(b.m)})
		return errNoRep
	}
	var err error
	if b.m.NbSegs() == 1 {
		err = d.x.rep.WriteToKernel(b.m.Data())
	} else {
		frame := make([]byte, 0, b.Len())
		for s := b.m; s != 0; s = s.Next() {
			frame = append(frame, s.Data()...)
		}
		err = d.x.rep.WriteToKernel(frame)
	}
	t.group[0] = uintptr(b.m)
	t.freeWords(t.group[:1])
	if err != nil {
		return wrapf("to kernel", ErrInvalid, "", err, "representor of %s", d.name)
	}
	return nil
}

// SendIP is the send helper: b holds an IP packet (no Ethernet header)
// with at least 14 bytes of headroom; SendIP fills the Ethernet header for
// next hop nexthop from d's neighbour table and sends it on the thread's tx
// stream. It reports whether the packet was sent. An unresolved next hop
// drops the packet (the buffer is freed and counted in
// NeighbourStats().Unresolved) and, at most once per neigh_arp_interval
// per next hop, sends an ARP request (IPv6: a neighbour solicitation) on
// the control stream instead. Lock-free and allocation-free when resolved.
// Like SendBurst, b is the library's afterwards, except when an
// ErrInvalid error says it was not taken.
func (t *Thread) SendIP(d *Device, b Buffer, nexthop netip.Addr) (bool, error) {
	if d == nil { // refused before entering (quiesce.go)
		return false, errNilDev
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return false, err
		}
	}
	ok, err := t.sendIP(d, b, nexthop)
	t.leave()
	return ok, err
}

func (t *Thread) sendIP(d *Device, b Buffer, nexthop netip.Addr) (bool, error) {
	if d.closed.Load() {
		return false, errDevClosed
	}
	if d.inst != t.inst {
		return false, errForeignDev
	}
	if t.id >= len(d.tx) {
		return false, errNoStream
	}
	if d.x == nil || d.x.nb == nil {
		return false, errNoNeigh
	}
	if _, err := b.m.Prepend(14); err != nil {
		return false, errNoRoom
	}
	var req [128]byte
	frame := b.m.Data()
	ok, n := d.x.nb.Output(frame, nexthop, req[:])
	t.group[0] = uintptr(b.m)
	if ok {
		if traceCompiled && d.tc.On() {
			t.traceWords(d, t.group[:1], trace.AppTx, trace.DropNone)
		}
		return t.enqueue(d, &d.tx[t.id], t.group[:1]) == 1, nil
	}
	if traceCompiled && d.tc.On() {
		// Output left the header room as it was: give the event an
		// EtherType so it carries the packet's 5-tuple (the buffer is
		// freed next).
		binary.BigEndian.PutUint16(frame[12:], etherTypeOf(frame[14:]))
		t.traceDropWords(d, t.group[:1], trace.DropUnresolved)
	}
	t.freeWords(t.group[:1])
	if n > 0 {
		d.ctlSend(req[:n])
	}
	return false, nil
}

// etherTypeOf is the EtherType of an IP packet by its version nibble
// (0 when it is neither IPv4 nor IPv6).
func etherTypeOf(ip []byte) uint16 {
	if len(ip) > 0 {
		switch ip[0] >> 4 {
		case 4:
			return neigh.EtherTypeIPv4
		case 6:
			return neigh.EtherTypeIPv6
		}
	}
	return 0
}

// NeighbourStats are a device's ARP/ND and representor counters.
type NeighbourStats struct {
	neigh.PortStats
	Entries                      int    // live entries of the table
	TableFull                    uint64 // inserts refused for want of room
	CtlSent, CtlDrops            uint64 // frames the library sent on the control stream / dropped (ring full, no buffers, too long)
	ToKernel, ToKernelErrors     uint64
	FromKernel, FromKernelErrors uint64
}

// NeighbourStats returns the device's neighbour and representor counters
// (zero when it has neither).
func (d *Device) NeighbourStats() NeighbourStats {
	var s NeighbourStats
	x := d.x
	if x == nil {
		return s
	}
	s.CtlSent, s.CtlDrops = x.ctlSent.Load(), x.ctlDrops.Load()
	if x.nb != nil {
		s.PortStats = x.nb.Stats()
		s.Entries = x.nb.Table().Len()
		s.TableFull = x.nb.Table().Stats().Full
	}
	if x.rep != nil {
		r := x.rep.Stats()
		s.ToKernel, s.ToKernelErrors, s.FromKernel, s.FromKernelErrors = r.ToKernelPackets, r.ToKernelErrors, r.FromKernelPackets, r.FromKernelErrors
	}
	return s
}

// Neighbour resolves ip in d's neighbour table (for tools and tests).
func (d *Device) Neighbour(ip netip.Addr) (net.HardwareAddr, bool) {
	if d.x == nil || d.x.nb == nil {
		return nil, false
	}
	m, ok := d.x.nb.Table().Resolve(ip)
	if !ok {
		return nil, false
	}
	return m.HardwareAddr(), true
}

// Representor returns the name of d's representor interface, or "".
func (d *Device) Representor() string {
	if d.x == nil || d.x.rep == nil {
		return ""
	}
	return d.x.rep.Name()
}

// Addrs returns the vdev's configured addresses (addrs=).
func (d *Device) Addrs() []netip.Prefix {
	if d.x == nil || d.x.nb == nil {
		return nil
	}
	return d.x.nb.Addrs()
}
