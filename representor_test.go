package marsio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/internal/trace"
	"golang.org/x/sys/unix"
)

// Issue 10 end to end, in network namespaces the test makes:
//
//	nsPeer: veth end B (10.99.0.2)  <-veth->  root: veth end A, mrzcpd's
//	net_af_packet port, the app  ->  nsApp: the app's representor TAP
//	(10.99.0.1)
//
// The app gives every packet it receives to the kernel (ToKernel); the
// kernel's answers leave through the representor, the control stream and
// the daemon. ARP for 10.99.0.1 is answered by the library.

// echoRequestIP builds an IPv4 ICMP echo request src→dst with id 0x6d73.
func echoRequestIP(src, dst netip.Addr, seq byte) []byte {
	p := make([]byte, 20+10)
	p[0], p[8], p[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:16], src.AsSlice())
	copy(p[16:20], dst.AsSlice())
	binary.BigEndian.PutUint16(p[10:], testenv.Checksum(p[:20]))
	m := p[20:]
	m[0], m[4], m[5], m[7], m[8], m[9] = 8, 0x6d, 0x73, seq, 'g', 'm'
	binary.BigEndian.PutUint16(m[2:], testenv.Checksum(m))
	return p
}

// isEchoReply reports an IPv4 ICMP echo reply with id 0x6d73 in frame.
func isEchoReply(f []byte) bool {
	if len(f) < 14+20+8 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[14+9] != 1 {
		return false
	}
	ihl := int(f[14]&15) * 4
	m := f[14+ihl:]
	return len(m) >= 8 && m[0] == 0 && m[4] == 0x6d && m[5] == 0x73
}

var repSeq atomic.Int32

const repConfig = `
[eal]
memory=256
[pool:MZ0]
size=4095
[port:p0]
devargs=net_af_packet0,iface=%s
mtu=1400
[vdev:vxe0]
port=p0
rx_streams_max=2
tx_streams_max=2
addrs=10.99.0.1/24
representor=1
representor_name=%s
`

func TestRepresentorNetns(t *testing.T) {
	if isolate(t) {
		return
	}
	testenv.RequireNetAdmin(t)
	nsPeer, nsApp := testenv.NewNetns(t, "marsio"), testenv.NewNetns(t, "marsio")
	n := os.Getpid()%10000*10 + int(repSeq.Add(1))%10
	va, vb, rep := fmt.Sprintf("gmva%d", n), fmt.Sprintf("gmvb%d", n), fmt.Sprintf("gmrep%d", n)
	testenv.IP(t, "", "link", "add", va, "type", "veth", "peer", "name", vb)
	t.Cleanup(func() { exec.Command("ip", "link", "del", va).Run() })
	testenv.IP(t, "", "link", "set", vb, "netns", nsPeer)
	testenv.IP(t, "", "link", "set", va, "up")
	testenv.IP(t, nsPeer, "addr", "add", "10.99.0.2/24", "dev", vb)
	testenv.IP(t, nsPeer, "link", "set", vb, "up")
	// veth leaves TCP checksums to "hardware" (CHECKSUM_PARTIAL): what
	// af_packet captures would carry half-done checksums that the TAP's
	// kernel drops. Make the peer compute them.
	if out, err := exec.Command("ip", "netns", "exec", nsPeer, "ethtool", "-K", vb, "tx", "off").CombinedOutput(); err != nil {
		testenv.Skip(t, "needs ethtool to switch off veth checksum offload (apt-get install ethtool): %v: %s", err, out)
	}
	peerIP, ourIP := netip.MustParseAddr("10.99.0.2"), netip.MustParseAddr("10.99.0.1")
	var peerMAC net.HardwareAddr
	if err := testenv.InNetns(nsPeer, func() error {
		ifc, err := net.InterfaceByName(vb)
		if err == nil {
			peerMAC = ifc.HardwareAddr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(repConfig, va, rep)})

	// A malformed static neighbour file fails Init, naming file and line.
	table := filepath.Join(d.RunDir, "mrneigh.table")
	os.WriteFile(table, []byte("# ok\n10.99.0.9 02:00:00:00:00\n"), 0o644)
	bad, err := New(WithStatusDir(d.RunDir))
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Init("repapp")
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "mrneigh.table:2") {
		t.Fatalf("bad mrneigh.table: %v", err)
	}
	bad.Close()
	os.WriteFile(table, []byte("10.99.0.9 02:00:00:00:00:09 vxe0\n"), 0o644)

	i := attachApp(t, d, "repapp", WithThreads(1))

	// The failed opens below leave nothing behind: no interface, fd or
	// goroutine; the vdev stays free for the open that follows them.
	fds0, gs0 := testenv.OpenFDs(), runtime.NumGoroutine()

	// No CAP_NET_ADMIN: capabilities are per thread, dropped from
	// InNetns's locked thread only (it is discarded afterwards).
	err = testenv.InNetns(nsApp, func() error {
		if err := testenv.DropNetAdmin(); err != nil {
			return err
		}
		_, err := i.OpenDevice("vxe0", 1, 1)
		return err
	})
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Fatalf("representor without CAP_NET_ADMIN: %v", err)
	}
	t.Logf("without CAP_NET_ADMIN: %v", err)

	// Name clash: an interface called like the representor exists.
	testenv.IP(t, nsApp, "link", "add", rep, "type", "veth", "peer", "name", "gmclash")
	err = testenv.InNetns(nsApp, func() error { _, err := i.OpenDevice("vxe0", 1, 1); return err })
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("name clash: %v", err)
	}
	testenv.IP(t, nsApp, "link", "del", rep)
	// Address in use on another interface of the namespace.
	testenv.IP(t, nsApp, "link", "add", "gmdummy", "type", "veth", "peer", "name", "gmdummy2")
	testenv.IP(t, nsApp, "addr", "add", "10.99.0.1/32", "dev", "gmdummy")
	err = testenv.InNetns(nsApp, func() error { _, err := i.OpenDevice("vxe0", 1, 1); return err })
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("address in use: %v", err)
	}
	testenv.IP(t, nsApp, "link", "del", "gmdummy")
	if out := testenv.IP(t, nsApp, "-o", "link"); strings.Count(out, "\n") != 1 || !strings.Contains(out, ": lo:") {
		t.Fatalf("failed opens left interfaces behind:\n%s", out)
	}
	if leaked := testenv.FDsOpenedSince(fds0, 2*time.Second); len(leaked) > 0 {
		t.Errorf("failed opens leaked fds: %s", strings.Join(leaked, ", "))
	}
	if n := testenv.GoroutinesAfter(gs0, 2*time.Second); n > gs0 {
		t.Fatalf("failed opens left goroutines: %d, %d before", n, gs0)
	}

	// The peer sees our gratuitous ARPs (neigh_gratuitous_arps=3) once
	// the open succeeds.
	garps := watchGratuitous(t, nsPeer, vb, ourIP)

	var dev *Device
	if err := testenv.InNetns(nsApp, func() (err error) { dev, err = i.OpenDevice("vxe0", 1, 1); return err }); err != nil {
		t.Fatal(err)
	}
	if dev.Representor() != rep {
		t.Fatalf("representor %q", dev.Representor())
	}
	if out := testenv.IP(t, nsApp, "-br", "addr", "show", rep); !strings.Contains(out, "10.99.0.1/24") || !strings.Contains(out, "UP") && !strings.Contains(out, "UNKNOWN") {
		t.Fatalf("representor: %s", out)
	}
	if out := testenv.IP(t, nsApp, "-br", "link", "show", rep); !strings.Contains(out, dev.MAC().String()) {
		t.Fatalf("representor MAC, want %v: %s", dev.MAC(), out)
	}
	// The port's mtu=1400 (not the TAP's default 1500) reaches the representor.
	if out := testenv.IP(t, nsApp, "-o", "link", "show", rep); dev.MTU() != 1400 || !strings.Contains(out, " mtu 1400 ") {
		t.Fatalf("representor MTU, want %d: %s", dev.MTU(), out)
	}
	if mac, ok := dev.Neighbour(netip.MustParseAddr("10.99.0.9")); !ok || mac.String() != "02:00:00:00:00:09" {
		t.Fatalf("static neighbour: %v %v", mac, ok)
	}

	// TCP server in nsApp on the representor's address.
	var ln net.Listener
	if err := testenv.InNetns(nsApp, func() (err error) { ln, err = net.Listen("tcp4", "10.99.0.1:7777"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()

	// The app: everything received goes to the kernel; cmds run on the
	// dataplane thread.
	ctx, cancel := context.WithCancel(context.Background())
	cmds := make(chan func(*Thread), 4)
	var echoReplies atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		th, err := i.ThreadInit()
		if err != nil {
			t.Error(err)
			return
		}
		defer th.Release()
		bufs := make([]Buffer, 32)
		for ctx.Err() == nil {
			select {
			case f := <-cmds:
				f(th)
			default:
			}
			n, err := th.RecvBurst(dev, bufs)
			if err != nil {
				t.Error(err)
				return
			}
			if n == 0 {
				th.PollWait(ctx, 10*time.Millisecond, dev)
				continue
			}
			for _, b := range bufs[:n] {
				if isEchoReply(b.Data()) {
					echoReplies.Add(1)
				}
				if err := th.ToKernel(dev, b); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	// Bad ARP from the peer: a truncated frame and a reply claiming our
	// address from the peer's MAC are counted and ignored (not learned,
	// not shown to the representor's kernel); the data path keeps running
	// (the ping below).
	arp := make([]byte, 42)
	copy(arp[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(arp[6:12], peerMAC)
	arp[12], arp[13] = 0x08, 0x06
	copy(arp[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 2})
	copy(arp[22:28], peerMAC)
	copy(arp[28:32], ourIP.AsSlice())
	copy(arp[38:42], ourIP.AsSlice())
	st0 := dev.NeighbourStats()
	if err := testenv.NewRawSender(t, nsPeer, vb).Send(arp[:24], arp); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := dev.NeighbourStats()
		if st.ARPTruncated == st0.ARPTruncated+1 && st.ARPSpoofed == st0.ARPSpoofed+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("truncated and spoofed ARP: before %+v after %+v", st0, st)
		}
	}
	if mac, ok := dev.Neighbour(ourIP); ok {
		t.Fatalf("spoofed ARP learned: %v", mac)
	}

	if err := testenv.InNetns(nsPeer, func() error { return testenv.Ping(ourIP, 3) }); err != nil {
		t.Fatalf("ping through daemon, app and TAP: %v\n%+v", err, dev.NeighbourStats())
	}
	if err := testenv.InNetns(nsPeer, func() error {
		c, err := net.DialTimeout("tcp4", "10.99.0.1:7777", 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := bytes.Repeat([]byte("gomarsio "), 1000)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if !bytes.Equal(got, msg) {
			return errors.New("tcp echo differs")
		}
		return nil
	}); err != nil {
		t.Fatalf("tcp through the representor: %v\n%+v", err, dev.NeighbourStats())
	}
	// ARP filled the table with the peer's MAC.
	if mac, ok := dev.Neighbour(peerIP); !ok || mac.String() != peerMAC.String() {
		t.Fatalf("learned %v %v, want %v", mac, ok, peerMAC)
	}

	// The send helper: an echo request to the peer carries its MAC (else
	// its kernel would not answer); an unresolved next hop is dropped and
	// ARPed for.
	type res struct {
		sent bool
		err  error
	}
	sendTo := func(nh netip.Addr) res {
		r := make(chan res, 1)
		cmds <- func(th *Thread) {
			b := make([]Buffer, 1)
			if err := th.Alloc(dev, b); err != nil {
				r <- res{err: err}
				return
			}
			p := echoRequestIP(ourIP, nh, 1)
			room, _ := b[0].Append(len(p))
			copy(room, p)
			ok, err := th.SendIP(dev, b[0], nh)
			r <- res{ok, err}
		}
		return <-r
	}
	// With tracing on, SendIP records app-tx for what it sends and a
	// drop (reason unresolved) for what it drops.
	tf, err := trace.ParseFilter("proto=icmp")
	if err != nil {
		t.Fatal(err)
	}
	tctl := i.tr.Control(int(dev.index))
	tring := i.tr.AppRing(i.Slot(), 0)
	i.tr.Read(tring, nil)
	tctl.Set(tf, 1)
	before := echoReplies.Load()
	if r := sendTo(peerIP); !r.sent || r.err != nil {
		t.Fatalf("SendIP to the peer: %+v", r)
	}
	for deadline := time.Now().Add(5 * time.Second); echoReplies.Load() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no echo reply to SendIP's packet")
		}
	}
	st0 = dev.NeighbourStats()
	if r := sendTo(netip.MustParseAddr("10.99.0.77")); r.sent || r.err != nil {
		t.Fatalf("SendIP to an unknown next hop: %+v", r)
	}
	st := dev.NeighbourStats()
	if st.Unresolved != st0.Unresolved+1 || st.ARPRequests != st0.ARPRequests+1 {
		t.Fatalf("unresolved send: before %+v after %+v", st0, st)
	}
	t.Logf("stats %+v", st)
	tctl.Off()
	var sentEv, dropEv int
	for _, r := range i.tr.Read(tring, nil) {
		_, dst := r.Tuple.Addrs()
		switch {
		case r.Stage == trace.AppTx && r.Tuple.Proto == 1 && dst == peerIP:
			sentEv++
		case r.Stage == trace.Drop && r.Reason == trace.DropUnresolved && r.Tuple.Proto == 1 && dst == netip.MustParseAddr("10.99.0.77"):
			dropEv++
		}
		t.Logf("trace: %s", r.String())
	}
	if sentEv != 1 || dropEv != 1 {
		t.Fatalf("SendIP's trace events: %d app-tx to the peer, %d unresolved drops; want 1 and 1", sentEv, dropEv)
	}

	// Counted separately: what the kernel sent out of the representor
	// (and the library's ARP) went on the control stream, the vdev's last
	// tx stream in the daemon's status; the thread's own stream carries
	// only SendIP's one packet.
	if st.FromKernel == 0 || st.ToKernel == 0 || st.CtlSent == 0 || st.CtlDrops != 0 {
		t.Fatalf("representor counters: %+v", st)
	}
	ds, ok := d.WaitStatus(t, 5*time.Second, func(s *monit.Daemon) bool {
		return len(s.Vdevs) == 1 && len(s.Vdevs[0].Tx) == 2 && s.Vdevs[0].Tx[1].App.Pkts >= st.CtlSent
	})
	if !ok || ds.Vdevs[0].Tx[0].App.Pkts != 1 {
		t.Fatalf("daemon's tx streams of vxe0, want [1 (SendIP), >= %d (control)]: %+v", st.CtlSent, ds)
	}

	for deadline := time.Now().Add(5 * time.Second); garps.Load() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d gratuitous ARPs for %v seen by the peer, want 3", garps.Load(), ourIP)
		}
	}

	cancel()
	wg.Wait()
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "-n", nsApp, "link", "show", rep).CombinedOutput(); err == nil {
		t.Fatalf("representor still there after Close: %s", out)
	}
	if n := garps.Load(); n != 3 {
		t.Fatalf("%d gratuitous ARPs, want 3", n)
	}
}

// watchGratuitous counts, until the test ends, the gratuitous ARP requests
// announcing ip (sender = target = ip, broadcast) that arrive on ifname in
// namespace ns, through a packet socket opened there.
func watchGratuitous(t *testing.T, ns, ifname string, ip netip.Addr) *atomic.Int32 {
	t.Helper()
	const ethPARP = 0x0806
	proto := int(ethPARP>>8 | ethPARP&0xff<<8) // network order
	fd := -1
	if err := testenv.InNetns(ns, func() error {
		ifc, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifc.Index})
	}); err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		t.Fatalf("packet socket on %s: %v", ifname, err)
	}
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	var n atomic.Int32
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 128)
		a := ip.As4()
		for {
			select {
			case <-stop:
				return
			default:
			}
			l, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil || l < 42 {
				continue
			}
			f := buf[:l]
			if bytes.Equal(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) &&
				binary.BigEndian.Uint16(f[20:]) == 1 && bytes.Equal(f[28:32], a[:]) && bytes.Equal(f[38:42], a[:]) {
				n.Add(1)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; unix.Close(fd) })
	return &n
}

const repCrashConfig = `
[eal]
memory=256
[pool:MZ0]
size=4095
[port:n0]
devargs=net_null0
[vdev:vxe0]
port=n0
rx_streams_max=2
tx_streams_max=2
addrs=10.98.0.1/24
representor=1
representor_name=%s
`

// TestRepresentorCrash: an application killed (SIGKILL) with a
// representor open leaves no interface behind; the daemon reclaims it and
// the next application opens the same vdev and representor name.
func TestRepresentorCrash(t *testing.T) {
	if dir := os.Getenv("MARSIO_TEST_REPCRASH"); dir != "" {
		// The child, run by ip netns exec in the app namespace.
		i, err := New(WithStatusDir(dir), WithThreads(1))
		if err == nil {
			err = i.Init("repcrash")
		}
		var dev *Device
		if err == nil {
			dev, err = i.OpenDevice("vxe0", 1, 1)
		}
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("ready %s\n", dev.Representor())
		time.Sleep(time.Minute) // killed before
		os.Exit(1)
	}
	if isolate(t) {
		return
	}
	testenv.RequireNetAdmin(t)
	nsApp := testenv.NewNetns(t, "marsio")
	rep := fmt.Sprintf("gmrc%d", os.Getpid()%100000)
	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(repCrashConfig, rep)})

	cmd, line := testenv.StartInNetns(t, nsApp, []string{"MARSIO_TEST_REPCRASH=" + d.RunDir}, "-test.run=^TestRepresentorCrash$")
	if name, ok := strings.CutPrefix(line, "ready "); !ok || name != rep {
		t.Fatalf("child: %q", line)
	}
	if o, err := exec.Command("ip", "-n", nsApp, "link", "show", rep).CombinedOutput(); err != nil {
		t.Fatalf("the child's representor is not there: %v %s", err, o)
	}
	if err := cmd.Process.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if o, err := exec.Command("ip", "-n", nsApp, "link", "show", rep).CombinedOutput(); err == nil {
		t.Fatalf("representor left by the killed application:\n%s", o)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(d.Log(), "app repcrash (pid"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not reclaim the killed application:\n%s", d.Log())
		}
	}

	// The next start: same vdev, same representor name, same namespace.
	i := attachApp(t, d, "repcrash", WithThreads(1))
	var dev *Device
	if err := testenv.InNetns(nsApp, func() (err error) { dev, err = i.OpenDevice("vxe0", 1, 1); return err }); err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	if dev.Representor() != rep {
		t.Fatalf("representor %q, want %q", dev.Representor(), rep)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command("ip", "-n", nsApp, "link", "show", rep).CombinedOutput(); err == nil {
		t.Fatalf("representor still there after Close: %s", o)
	}
}

// TestNoRepresentorNoNeighbour: on a vdev without representor or addrs,
// ToKernel and SendIP fail with ErrInvalid and say what to configure;
// ToKernel has freed the buffer, SendIP has not taken it.
func TestNoRepresentorNoNeighbour(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	_, dev, th := oneThreadApp(t, d, "plain", 1)
	if dev.Representor() != "" || dev.Addrs() != nil || dev.NeighbourStats() != (NeighbourStats{}) {
		t.Fatalf("plain vdev: representor %q addrs %v stats %+v", dev.Representor(), dev.Addrs(), dev.NeighbourStats())
	}
	b := make([]Buffer, 2)
	if err := th.Alloc(dev, b); err != nil {
		t.Fatal(err)
	}
	if err := th.ToKernel(dev, b[0]); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "representor=1") {
		t.Fatalf("ToKernel without a representor: %v", err)
	}
	if ok, err := th.SendIP(dev, b[1], netip.MustParseAddr("10.0.0.1")); ok || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "addrs=") {
		t.Fatalf("SendIP without addresses: %v %v", ok, err)
	}
	if err := th.Free(b[1]); err != nil {
		t.Fatalf("SendIP kept the buffer: %v", err)
	}
}
