package neigh

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/tap"
	"github.com/gomarsio/marsio/internal/testenv"
)

// The kernel on one side of a TAP, a Port on the other: the kernel's own
// ARP (triggered by pinging from inside a namespace) fills our table, our
// replies fill the kernel's, and the send helper's frames carry the
// kernel interface's MAC.

// echoPacket turns the IPv4 echo request in frame (to ip) into the reply
// IP packet at out[14:] and returns the frame length and the requester.
func echoPacket(frame, out []byte, ip netip.Addr) (int, netip.Addr) {
	if len(frame) < 14+20+8 || binary.BigEndian.Uint16(frame[12:]) != EtherTypeIPv4 {
		return 0, netip.Addr{}
	}
	p := frame[14:]
	ihl := int(p[0]&15) * 4
	if p[9] != 1 || ihl < 20 || len(p) < ihl+8 || netip.AddrFrom4([4]byte(p[16:20])) != ip || p[ihl] != 8 {
		return 0, netip.Addr{}
	}
	n := copy(out, frame)
	o := out[14:n]
	copy(o[12:16], p[16:20])
	copy(o[16:20], p[12:16])
	o[8], o[10], o[11] = 64, 0, 0
	binary.BigEndian.PutUint16(o[10:], testenv.Checksum(o[:ihl]))
	o[ihl], o[ihl+2], o[ihl+3] = 0, 0, 0
	binary.BigEndian.PutUint16(o[ihl+2:], testenv.Checksum(o[ihl:]))
	clear(out[:14]) // header room for Output
	return n, netip.AddrFrom4([4]byte(p[12:16]))
}

func TestKernelARP(t *testing.T) {
	ns := newNetns(t)
	kernelIP := netip.MustParseAddr("198.18.0.1")
	var tp *tap.Tap
	if err := inNetns(ns, func() (err error) {
		tp, err = tap.Create(tap.Config{DevSym: "gmneigh", AppSym: "gmtest",
			Addrs: []netip.Prefix{netip.PrefixFrom(kernelIP, 24)}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close() })
	kernelMAC, err := MACFrom(tp.MAC())
	if err != nil {
		t.Fatal(err)
	}
	table, err := NewTable(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	port, err := NewPort("vdev_neigh", ourMAC, []netip.Prefix{netip.PrefixFrom(ourIP, 24)}, table, nil)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var echoDst []MAC // destination MACs of the echo replies we sent
	reply := make([]byte, 2048)
	out := make([]byte, 2048)
	req := make([]byte, 128)
	err = tp.StartReader(func(frame []byte) {
		consumed, n := port.Input(frame, reply)
		if n > 0 {
			if err := tp.WriteToKernel(reply[:n]); err != nil {
				t.Error(err)
			}
		}
		if consumed {
			return
		}
		n, from := echoPacket(frame, out, ourIP)
		if n == 0 {
			return
		}
		if ok, rn := port.Output(out[:n], from, req); ok {
			mu.Lock()
			echoDst = append(echoDst, MAC(out[0:6]))
			mu.Unlock()
			tp.WriteToKernel(out[:n])
		} else if rn > 0 {
			tp.WriteToKernel(req[:rn])
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	// 1. The kernel pings us: its ARP request fills our table, our ARP
	// reply fills its table, the echo replies go out with its MAC.
	if err := inNetns(ns, func() error { return testenv.Ping(ourIP, 3) }); err != nil {
		t.Fatalf("ping %v through the TAP: %v", ourIP, err)
	}
	if m, ok := table.Resolve(kernelIP); !ok || m != kernelMAC {
		t.Errorf("table: %v is at %v (%v), want the TAP's %v", kernelIP, m, ok, kernelMAC)
	}
	mu.Lock()
	if len(echoDst) != 3 {
		t.Errorf("%d echo replies sent, want 3", len(echoDst))
	}
	for _, m := range echoDst {
		if m != kernelMAC {
			t.Errorf("echo reply sent to %v, want %v", m, kernelMAC)
		}
	}
	mu.Unlock()
	if out := mustIP(t, ns, "neigh", "show", ourIP.String()); !strings.Contains(out, ourMAC.String()) {
		t.Errorf("kernel's neighbour entry for %v: %q, want lladdr %v", ourIP, out, ourMAC)
	}

	// 2. We resolve a new next hop: Output's ARP request reaches the
	// kernel, whose reply the reader feeds back into the table.
	second := netip.MustParseAddr("198.18.0.3")
	mustIP(t, ns, "addr", "add", second.String()+"/24", "dev", tp.Name())
	frame := make([]byte, 14+20)
	frame[14] = 0x45
	ok, n := port.Output(frame, second, req)
	if ok || n == 0 {
		t.Fatalf("Output to unresolved %v = %v %d", second, ok, n)
	}
	if err := tp.WriteToKernel(req[:n]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !port.PrepareFrame(frame, second) {
		if time.Now().After(deadline) {
			t.Fatalf("%v never resolved; table %v, stats %+v", second, table.Entries(), port.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if MAC(frame[0:6]) != kernelMAC || MAC(frame[6:12]) != ourMAC || binary.BigEndian.Uint16(frame[12:]) != EtherTypeIPv4 {
		t.Errorf("prepared header % x, want dst %v src %v type 0800", frame[:14], kernelMAC, ourMAC)
	}
	t.Logf("port %+v", port.Stats())
	t.Logf("table %+v: %v", table.Stats(), table.Entries())
	t.Logf("tap %+v", tp.Stats())
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKernelND is TestKernelARP for IPv6: the kernel's neighbour
// solicitation (triggered by a UDP datagram from inside the namespace) is
// answered, and our solicitation resolves the kernel's address.
func TestKernelND(t *testing.T) {
	ns := newNetns(t)
	var tp *tap.Tap
	if err := inNetns(ns, func() (err error) {
		tp, err = tap.Create(tap.Config{DevSym: "gmneigh6", AppSym: "gmtest",
			Addrs: []netip.Prefix{netip.PrefixFrom(peerIP6, 64)}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close() })
	kernelMAC, _ := MACFrom(tp.MAC())
	table, _ := NewTable(DefaultConfig())
	port, err := NewPort("vdev_neigh6", ourMAC, []netip.Prefix{netip.PrefixFrom(ourIP6, 64)}, table, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 256)
	if err := tp.StartReader(func(frame []byte) {
		if _, n := port.Input(frame, reply); n > 0 {
			tp.WriteToKernel(reply[:n])
		}
	}); err != nil {
		t.Fatal(err)
	}

	// Kernel -> us: a datagram to our address makes the kernel solicit.
	if err := inNetns(ns, func() error {
		c, err := net.Dial("udp6", netip.AddrPortFrom(ourIP6, 9).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("gomarsio"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(mustIP(t, ns, "-6", "neigh", "show", ourIP6.String()), ourMAC.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("kernel never learned %v: %q; port %+v", ourIP6, mustIP(t, ns, "-6", "neigh", "show"), port.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if m, ok := table.Resolve(peerIP6); !ok || m != kernelMAC {
		t.Errorf("solicitor not learned: %v %v", m, ok)
	}

	// Us -> kernel: our solicitation for a second kernel address.
	second := netip.MustParseAddr("fd00:6d72::3")
	mustIP(t, ns, "addr", "add", second.String()+"/64", "dev", tp.Name(), "nodad")
	frame := make([]byte, 14+40)
	frame[14] = 0x60
	req := make([]byte, 128)
	ok, n := port.Output(frame, second, req)
	if ok || n == 0 {
		t.Fatalf("Output = %v %d", ok, n)
	}
	if err := tp.WriteToKernel(req[:n]); err != nil {
		t.Fatal(err)
	}
	// The kernel joins the new address's solicited-node group from a work
	// queue, a moment after "ip addr add" returns: until then it drops our
	// solicitation, so ask again, as the send path would after ARPInterval.
	for i := 1; !port.PrepareFrame(frame, second); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%v never resolved; stats %+v", second, port.Stats())
		}
		time.Sleep(5 * time.Millisecond)
		if i%20 == 0 {
			n, _ := port.Request(req, second)
			tp.WriteToKernel(req[:n])
		}
	}
	if MAC(frame[0:6]) != kernelMAC || binary.BigEndian.Uint16(frame[12:]) != EtherTypeIPv6 {
		t.Errorf("header % x", frame[:14])
	}
	t.Logf("port %+v", port.Stats())
}
