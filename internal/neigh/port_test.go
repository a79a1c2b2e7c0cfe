package neigh

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	ourMAC  = MAC{0x02, 0x6d, 0x72, 0, 0, 1}
	peerMAC = MAC{0x02, 0x6d, 0x72, 0, 0, 2}
	ourIP   = netip.MustParseAddr("198.18.0.2")
	peerIP  = netip.MustParseAddr("198.18.0.1")
	ourIP6  = netip.MustParseAddr("fd00:6d72::2")
	peerIP6 = netip.MustParseAddr("fd00:6d72::1")
)

// logBuf is a concurrency-safe log sink for checking what was reported.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newPort(t *testing.T) (*Port, *logBuf) {
	t.Helper()
	tb, _ := mustTable(t, Config{})
	var lb logBuf
	p, err := NewPort("vdev0", ourMAC, []netip.Prefix{
		netip.PrefixFrom(ourIP, 24), netip.PrefixFrom(ourIP6, 64),
	}, tb, slog.New(slog.NewTextHandler(&lb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return p, &lb
}

// arpFrame builds an Ethernet+ARP frame (42 bytes, unpadded like the
// kernel's).
func arpFrame(dst, src MAC, op uint16, sha MAC, spa netip.Addr, tha MAC, tpa netip.Addr) []byte {
	f := make([]byte, MinFrameLen)
	buildARP(f, dst, src, op, sha, spa, tha, tpa)
	return f[:42]
}

func TestARPRequestForUs(t *testing.T) {
	p, _ := newPort(t)
	req := arpFrame(Broadcast, peerMAC, 1, peerMAC, peerIP, MAC{}, ourIP)
	reply := make([]byte, 128)
	consumed, n := p.Input(req, reply)
	if !consumed || n != MinFrameLen {
		t.Fatalf("Input = %v %d", consumed, n)
	}
	want := make([]byte, MinFrameLen)
	copy(want, arpFrame(peerMAC, ourMAC, 2, ourMAC, ourIP, peerMAC, peerIP))
	if !bytes.Equal(reply[:n], want) {
		t.Errorf("reply\n% x\nwant\n% x", reply[:n], want)
	}
	if m, ok := p.Table().Resolve(peerIP); !ok || m != peerMAC {
		t.Errorf("requester not learned: %v %v", m, ok)
	}
	if st := p.Stats(); st.ARPIn != 1 || st.ARPReplies != 1 {
		t.Errorf("stats %+v", st)
	}
	// Short reply buffer: counted, nothing written.
	if c, n := p.Input(req, make([]byte, 59)); !c || n != 0 || p.Stats().ShortBuffer != 1 {
		t.Errorf("short reply buffer: %v %d %+v", c, n, p.Stats())
	}
}

func TestARPLearning(t *testing.T) {
	p, _ := newPort(t)
	other := netip.MustParseAddr("198.18.0.3")
	otherMAC := MAC{2, 0, 0, 0, 0, 3}
	reply := make([]byte, 128)
	// A request between two other hosts: consumed, not learned (no entry).
	if c, n := p.Input(arpFrame(Broadcast, otherMAC, 1, otherMAC, other, MAC{}, peerIP), reply); !c || n != 0 {
		t.Fatalf("foreign request: %v %d", c, n)
	}
	if _, ok := p.Table().Resolve(other); ok {
		t.Fatal("learned from a foreign request")
	}
	// A reply: learned.
	p.Input(arpFrame(ourMAC, otherMAC, 2, otherMAC, other, ourMAC, ourIP), reply)
	if m, ok := p.Table().Resolve(other); !ok || m != otherMAC {
		t.Fatalf("reply not learned: %v %v", m, ok)
	}
	// Now a foreign request refreshes the existing entry.
	moved := MAC{2, 0, 0, 0, 0, 4}
	p.Input(arpFrame(Broadcast, moved, 1, moved, other, MAC{}, peerIP), reply)
	if m, _ := p.Table().Resolve(other); m != moved {
		t.Fatalf("existing entry not refreshed: %v", m)
	}
	// Gratuitous ARP creates an entry.
	g := netip.MustParseAddr("198.18.0.9")
	p.Input(arpFrame(Broadcast, otherMAC, 1, otherMAC, g, MAC{}, g), reply)
	if _, ok := p.Table().Resolve(g); !ok {
		t.Fatal("gratuitous ARP not learned")
	}
	// A probe (sender 0.0.0.0) for our address is answered, nothing learned.
	if _, n := p.Input(arpFrame(Broadcast, otherMAC, 1, otherMAC, netip.IPv4Unspecified(), MAC{}, ourIP), reply); n == 0 {
		t.Error("probe for our address not answered")
	}
	// Non-ARP frames are not consumed.
	ip := make([]byte, 60)
	binary.BigEndian.PutUint16(ip[12:], EtherTypeIPv4)
	if c, _ := p.Input(ip, reply); c {
		t.Error("IPv4 frame consumed")
	}
	if c, _ := p.Input(ip[:10], reply); c {
		t.Error("runt consumed")
	}
}

func TestARPBadAndSpoofed(t *testing.T) {
	p, lb := newPort(t)
	reply := make([]byte, 128)
	good := arpFrame(Broadcast, peerMAC, 1, peerMAC, peerIP, MAC{}, ourIP)

	for l := 14; l < 42; l += 7 {
		if c, n := p.Input(good[:l], reply); !c || n != 0 {
			t.Fatalf("truncated (%d): %v %d", l, c, n)
		}
	}
	bad := func(mut func(a []byte)) []byte {
		f := bytes.Clone(good)
		mut(f[14:])
		return f
	}
	for _, f := range [][]byte{
		bad(func(a []byte) { a[1] = 6 }),    // htype
		bad(func(a []byte) { a[2] = 0x86 }), // ptype
		bad(func(a []byte) { a[4] = 8 }),    // hlen
		bad(func(a []byte) { a[7] = 3 }),    // op (RARP)
		bad(func(a []byte) { a[8] = 1 }),    // multicast sender
	} {
		if c, n := p.Input(f, reply); !c || n != 0 {
			t.Fatalf("malformed: %v %d", c, n)
		}
	}
	// Spoofed: another MAC claims our address, in a request and a reply.
	spoof := MAC{2, 0xba, 0xd0, 0, 0, 1}
	p.Input(arpFrame(Broadcast, spoof, 1, spoof, ourIP, MAC{}, peerIP), reply)
	p.Input(arpFrame(ourMAC, spoof, 2, spoof, ourIP, ourMAC, ourIP), reply)
	// Our own frame looped back.
	p.Input(arpFrame(Broadcast, ourMAC, 1, ourMAC, ourIP, MAC{}, peerIP), reply)

	if _, ok := p.Table().Resolve(ourIP); ok || p.Table().Len() != 0 {
		t.Errorf("bad frames reached the table: %v", p.Table().Entries())
	}
	st := p.Stats()
	if st.ARPTruncated != 4 || st.ARPMalformed != 5 || st.ARPSpoofed != 2 || st.Looped != 1 || st.ARPReplies != 0 {
		t.Errorf("stats %+v", st)
	}
	log := lb.String()
	for _, want := range []string{"truncated ARP", "malformed ARP", "claiming our address"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// Rate-limited: 4 truncated frames, one message.
	if c := strings.Count(log, "truncated ARP"); c != 1 {
		t.Errorf("%d truncated messages, want 1 (rate limit)", c)
	}
}

func TestARPFullTable(t *testing.T) {
	tb, _ := mustTable(t, Config{MaxEntries: 1})
	var lb logBuf
	p, _ := NewPort("vdev0", ourMAC, []netip.Prefix{netip.PrefixFrom(ourIP, 24)}, tb, slog.New(slog.NewTextHandler(&lb, nil)))
	reply := make([]byte, 128)
	p.Input(arpFrame(ourMAC, peerMAC, 2, peerMAC, peerIP, ourMAC, ourIP), reply)
	other := netip.MustParseAddr("198.18.0.3")
	// Still answered, but not learned: counted and logged.
	if _, n := p.Input(arpFrame(Broadcast, peerMAC, 1, peerMAC, other, MAC{}, ourIP), reply); n == 0 {
		t.Error("request not answered with a full table")
	}
	if p.Stats().LearnFailed != 1 || tb.Stats().Full != 1 || !strings.Contains(lb.String(), "table full") {
		t.Errorf("full table: port %+v table %+v log %s", p.Stats(), tb.Stats(), lb.String())
	}
}

func TestOutput(t *testing.T) {
	tb, now := mustTable(t, Config{})
	p, _ := NewPort("vdev0", ourMAC, []netip.Prefix{netip.PrefixFrom(ourIP, 24), netip.MustParsePrefix("203.0.113.5/24")}, tb, nil)
	frame := make([]byte, 14+20)
	frame[14] = 0x45
	req := make([]byte, 128)
	ok, n := p.Output(frame, peerIP, req)
	if ok || n != MinFrameLen {
		t.Fatalf("unresolved Output = %v %d", ok, n)
	}
	want := make([]byte, MinFrameLen)
	copy(want, arpFrame(Broadcast, ourMAC, 1, ourMAC, ourIP, MAC{}, peerIP))
	if !bytes.Equal(req[:n], want) {
		t.Errorf("request\n% x\nwant\n% x", req[:n], want)
	}
	if !bytes.Equal(frame[:14], make([]byte, 14)) {
		t.Error("unresolved Output touched the frame")
	}
	// Within the interval: no second request.
	if ok, n := p.Output(frame, peerIP, req); ok || n != 0 {
		t.Fatalf("second Output = %v %d", ok, n)
	}
	now.Add(int64(time.Second))
	if _, n := p.Output(frame, peerIP, req); n == 0 {
		t.Fatal("no request after the interval")
	}
	// The answer arrives; Output now fills the header.
	p.Input(arpFrame(ourMAC, peerMAC, 2, peerMAC, peerIP, ourMAC, ourIP), make([]byte, 64))
	if ok, n := p.Output(frame, peerIP, req); !ok || n != 0 {
		t.Fatalf("resolved Output = %v %d", ok, n)
	}
	var hdr [14]byte
	copy(hdr[:], peerMAC[:])
	copy(hdr[6:], ourMAC[:])
	hdr[12], hdr[13] = 0x08, 0x00
	if !bytes.Equal(frame[:14], hdr[:]) {
		t.Errorf("header % x, want % x", frame[:14], hdr)
	}
	st := p.Stats()
	if st.Unresolved != 3 || st.ARPRequests != 2 || st.RequestsLimited != 1 {
		t.Errorf("stats %+v", st)
	}
	// A next hop outside our prefixes is asked from the first address of
	// its prefix, else the first address.
	if n, _ := p.Request(req, netip.MustParseAddr("203.0.113.77")); n == 0 || netip.AddrFrom4([4]byte(req[28:32])) != netip.MustParseAddr("203.0.113.5") {
		t.Errorf("source address % x", req[28:32])
	}
	// IPv6 frame: EtherType from the version nibble.
	tb.AddStatic(peerIP6, peerMAC)
	frame[14] = 0x60
	if !p.PrepareFrame(frame, peerIP6) || binary.BigEndian.Uint16(frame[12:]) != EtherTypeIPv6 {
		t.Errorf("IPv6 header % x", frame[:14])
	}
	if _, err := p.Request(req, peerIP6); !errors.Is(err, ErrBadConfig) {
		t.Errorf("IPv6 request without an IPv6 address: %v", err)
	}
}

func TestGratuitous(t *testing.T) {
	p, _ := newPort(t)
	out := make([]byte, 128)
	n, err := p.Gratuitous(out, ourIP)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, MinFrameLen)
	copy(want, arpFrame(Broadcast, ourMAC, 1, ourMAC, ourIP, MAC{}, ourIP))
	if !bytes.Equal(out[:n], want) {
		t.Errorf("gratuitous\n% x\nwant\n% x", out[:n], want)
	}
	if _, err := p.Gratuitous(out, peerIP); !errors.Is(err, ErrBadConfig) {
		t.Errorf("gratuitous for a foreign address: %v", err)
	}
	if n, err := p.Gratuitous(out, ourIP6); err != nil || n != ndFrameLen {
		t.Errorf("IPv6 announcement: %d %v", n, err)
	}
	if _, err := p.Gratuitous(out[:20], ourIP); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
}

func TestNewPortErrors(t *testing.T) {
	tb, _ := mustTable(t, Config{})
	if _, err := NewPort("x", MAC{}, nil, tb, nil); !errors.Is(err, ErrBadConfig) {
		t.Error(err)
	}
	if _, err := NewPort("x", ourMAC, nil, nil, nil); !errors.Is(err, ErrBadConfig) {
		t.Error(err)
	}
	if _, err := NewPort("x", ourMAC, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, tb, nil); !errors.Is(err, ErrBadConfig) {
		t.Error(err)
	}
}

// TestOutputFullTable: with the table full of entries that cannot be
// reclaimed, a send to a new next hop is dropped without a request (its
// answer could not be stored) and counted (Unresolved, Table Full); the
// entries in the table still resolve.
func TestOutputFullTable(t *testing.T) {
	tb, now := mustTable(t, Config{MaxEntries: 1})
	p, _ := NewPort("vdev0", ourMAC, []netip.Prefix{netip.PrefixFrom(ourIP, 24)}, tb, nil)
	if err := tb.AddStatic(peerIP, peerMAC); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 14+20)
	frame[14] = 0x45
	req := make([]byte, 128)
	other := netip.MustParseAddr("198.18.0.3")
	for k := 0; k < 3; k++ {
		if ok, n := p.Output(frame, other, req); ok || n != 0 {
			t.Fatalf("Output to a new next hop, table full: %v %d", ok, n)
		}
		now.Add(int64(time.Second))
	}
	if st, ts := p.Stats(), tb.Stats(); st.Unresolved != 3 || st.ARPRequests != 0 || ts.Full != 3 || tb.Len() != 1 {
		t.Errorf("port %+v table %+v len %d", st, ts, tb.Len())
	}
	if ok, _ := p.Output(frame, peerIP, req); !ok || MAC(frame[0:6]) != peerMAC {
		t.Errorf("the static entry no longer resolves: %v % x", ok, frame[:6])
	}
}

// TestInputVerdict: well-formed ARP/ND is Handled, bad or spoofed ARP/ND
// Ignored (not for a representor's kernel), anything else NotNeighbour;
// Input agrees on consumed and reply length.
func TestInputVerdict(t *testing.T) {
	p, _ := newPort(t)
	reply := make([]byte, 128)
	spoof := MAC{2, 0xba, 0xd0, 0, 0, 1}
	ipv4 := make([]byte, 60)
	ipv4[12], ipv4[14] = 0x08, 0x45
	req := arpFrame(Broadcast, peerMAC, 1, peerMAC, peerIP, MAC{}, ourIP)
	for _, c := range []struct {
		name  string
		frame []byte
		want  Verdict
		reply bool
	}{
		{"short", make([]byte, 10), NotNeighbour, false},
		{"ipv4", ipv4, NotNeighbour, false},
		{"request for us", req, Handled, true},
		{"reply", arpFrame(ourMAC, peerMAC, 2, peerMAC, peerIP, ourMAC, ourIP), Handled, false},
		{"truncated", req[:30], Ignored, false},
		{"malformed", func() []byte { f := bytes.Clone(req); f[14+7] = 3; return f }(), Ignored, false},
		{"spoofed", arpFrame(Broadcast, spoof, 1, spoof, ourIP, MAC{}, peerIP), Ignored, false},
		{"looped", arpFrame(Broadcast, ourMAC, 1, ourMAC, ourIP, MAC{}, peerIP), Ignored, false},
	} {
		v, n := p.InputVerdict(c.frame, reply)
		consumed, n2 := p.Input(c.frame, reply)
		if v != c.want || (n > 0) != c.reply || consumed != (v != NotNeighbour) || n2 != n {
			t.Errorf("%s: verdict %d reply %d, Input %v %d; want verdict %d reply %v", c.name, v, n, consumed, n2, c.want, c.reply)
		}
	}
}
