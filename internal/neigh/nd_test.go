package neigh

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// ndFrame builds an NS/NA from mac/src like a peer would.
func ndFrame(t *testing.T, mac MAC, dstMAC MAC, src, dst netip.Addr, typ byte, flags uint32, target netip.Addr, opt byte) []byte {
	t.Helper()
	tb, _ := mustTable(t, Config{})
	peer, err := NewPort("peer", mac, nil, tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]byte, ndFrameLen)
	if _, err := peer.buildND(f, dstMAC, src, dst, typ, flags, target, opt); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNDSolicitationForUs(t *testing.T) {
	p, _ := newPort(t)
	ns := ndFrame(t, peerMAC, MAC{0x33, 0x33, 0xff, 0, 0, 2}, peerIP6, netip.MustParseAddr("ff02::1:ff00:2"), ndSolicit, 0, ourIP6, optSrcLL)
	reply := make([]byte, 128)
	c, n := p.Input(ns, reply)
	if !c || n != ndFrameLen {
		t.Fatalf("Input = %v %d", c, n)
	}
	r := reply[:n]
	ip := r[ethHdrLen:]
	icmp := ip[ipv6HdrLen:]
	if MAC(r[0:6]) != peerMAC || MAC(r[6:12]) != ourMAC || ip[7] != 255 || icmp[0] != ndAdvert ||
		netip.AddrFrom16([16]byte(ip[8:24])) != ourIP6 || netip.AddrFrom16([16]byte(ip[24:40])) != peerIP6 ||
		netip.AddrFrom16([16]byte(icmp[8:24])) != ourIP6 || binary.BigEndian.Uint32(icmp[4:]) != naSolicited|naOverride ||
		icmp[24] != optTgtLL || MAC(icmp[26:32]) != ourMAC {
		t.Errorf("advertisement % x", r)
	}
	if icmpv6Checksum(ourIP6, peerIP6, icmp) != 0 {
		t.Error("bad checksum in our advertisement")
	}
	if m, ok := p.Table().Resolve(peerIP6); !ok || m != peerMAC {
		t.Errorf("solicitor not learned: %v %v", m, ok)
	}
	// Duplicate address detection (source ::) is defended to all nodes.
	dad := ndFrame(t, peerMAC, MAC{0x33, 0x33, 0xff, 0, 0, 2}, netip.IPv6Unspecified(), netip.MustParseAddr("ff02::1:ff00:2"), ndSolicit, 0, ourIP6, 0)
	if _, n := p.Input(dad, reply); n == 0 || MAC(reply[0:6]) != allNodesMAC {
		t.Errorf("DAD not defended: % x", reply[:n])
	}
}

func TestNDAdvertAndOutput(t *testing.T) {
	p, _ := newPort(t)
	frame := make([]byte, 14+40)
	frame[14] = 0x60
	req := make([]byte, 128)
	ok, n := p.Output(frame, peerIP6, req)
	if ok || n != ndFrameLen {
		t.Fatalf("Output = %v %d", ok, n)
	}
	r := req[:n]
	if !bytes.Equal(r[0:6], []byte{0x33, 0x33, 0xff, 0, 0, 1}) ||
		netip.AddrFrom16([16]byte(r[38:54])) != netip.MustParseAddr("ff02::1:ff00:1") || r[54] != ndSolicit ||
		icmpv6Checksum(ourIP6, netip.MustParseAddr("ff02::1:ff00:1"), r[54:]) != 0 {
		t.Errorf("solicitation % x", r)
	}
	na := ndFrame(t, peerMAC, ourMAC, peerIP6, ourIP6, ndAdvert, naSolicited|naOverride, peerIP6, optTgtLL)
	if c, n := p.Input(na, req); !c || n != 0 {
		t.Fatalf("NA: %v %d", c, n)
	}
	if ok, _ := p.Output(frame, peerIP6, req); !ok || MAC(frame[0:6]) != peerMAC {
		t.Fatalf("not resolved after the advertisement: % x", frame[:14])
	}
	// Unsolicited NA for an unknown address: refresh only.
	x := netip.MustParseAddr("fd00:6d72::9")
	p.Input(ndFrame(t, peerMAC, allNodesMAC, x, allNodes, ndAdvert, naOverride, x, optTgtLL), req)
	if _, ok := p.Table().Resolve(x); ok {
		t.Error("unsolicited NA created an entry")
	}
}

func TestNDBadAndSpoofed(t *testing.T) {
	p, _ := newPort(t)
	reply := make([]byte, 128)
	spoof := MAC{2, 0xba, 0xd0, 0, 0, 1}
	na := ndFrame(t, spoof, allNodesMAC, ourIP6, allNodes, ndAdvert, naOverride, ourIP6, optTgtLL)
	if c, n := p.Input(na, reply); !c || n != 0 {
		t.Fatalf("spoofed NA: %v %d", c, n)
	}
	good := ndFrame(t, peerMAC, ourMAC, peerIP6, ourIP6, ndSolicit, 0, ourIP6, optSrcLL)
	mut := func(i int, v byte) []byte { f := bytes.Clone(good); f[i] = v; return f }
	for _, f := range [][]byte{
		mut(ethHdrLen+7, 64),  // hop limit not 255
		mut(ethHdrLen+43, 0),  // checksum
		mut(ethHdrLen+41, 1),  // code
		mut(ethHdrLen+65, 0),  // option length 0
		mut(ethHdrLen+5, 200), // payload length beyond the frame
	} {
		if c, n := p.Input(f, reply); !c || n != 0 {
			t.Fatalf("bad NS: %v %d", c, n)
		}
	}
	if p.Table().Len() != 0 {
		t.Errorf("bad frames learned: %v", p.Table().Entries())
	}
	st := p.Stats()
	if st.NDSpoofed != 1 || st.NDMalformed != 5 || st.NDAdverts != 0 {
		t.Errorf("stats %+v", st)
	}
	// Other ICMPv6 (an echo request) is not consumed.
	echo := bytes.Clone(good)
	echo[ethHdrLen+40] = 128
	if c, _ := p.Input(echo, reply); c {
		t.Error("ICMPv6 echo consumed")
	}
}
