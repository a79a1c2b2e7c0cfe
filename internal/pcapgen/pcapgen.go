// Package pcapgen generates deterministic test traffic: many flows, each
// with packets in both directions, over every encapsulation the flow hash
// understands (plain IPv4/IPv6 TCP/UDP/SCTP, VLAN, QinQ, IP-in-IP, GRE,
// NVGRE, VXLAN, GTP-U, IPv6 extension headers, fragments) plus malformed and
// truncated packets. tools/mrpcapgen writes its output to pcap files; tests
// call Generate directly.
//
// The same Config (including Seed) always gives the same packets.
package pcapgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// Kind is a family of packets (an encapsulation, or a kind of damage).
type Kind uint8

// Packet kinds. Every flow has one kind.
const (
	Plain4    Kind = iota // Ethernet, IPv4, TCP/UDP/SCTP
	Plain6                // Ethernet, IPv6, TCP/UDP/SCTP
	VLAN                  // one 802.1Q tag
	QinQ                  // two tags: 0x88a8 or 0x9100 outer, 0x8100 inner
	IPIP                  // 4in4, 6in4, 4in6, 6in6
	GRE                   // GRE (optionally with checksum, key, sequence) carrying IP
	NVGRE                 // GRE with key, protocol 0x6558, inner Ethernet
	VXLAN                 // UDP 4789, inner Ethernet (sometimes VLAN-tagged)
	GTPU                  // UDP 2152, G-PDU, sometimes with extension headers
	V6Ext                 // IPv6 with hop-by-hop, routing, destination options
	Frag                  // IPv4 or IPv6 fragments, first and non-first
	Malformed             // non-IP, bad versions, bad IHL, broken tunnels, junk
	Truncated             // packets of the other kinds cut short
	numKinds
)

var kindNames = [numKinds]string{"plain4", "plain6", "vlan", "qinq", "ipip", "gre", "nvgre", "vxlan", "gtpu", "v6ext", "frag", "malformed", "truncated"}

// String returns the kind's name as used in -mix.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// AllKinds returns every kind.
func AllKinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// ErrMix is matched (errors.Is) by errors about an unknown -mix name.
var ErrMix = errors.New("unknown packet kind")

// ParseMix parses a comma-separated list of kind names; "all" or "" means
// every kind.
func ParseMix(s string) ([]Kind, error) {
	if s == "" || s == "all" {
		return AllKinds(), nil
	}
	var ks []Kind
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := false
		for i, n := range kindNames {
			if f == n {
				ks = append(ks, Kind(i))
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("mix %q: %w (want %s)", f, ErrMix, strings.Join(kindNames[:], ","))
		}
	}
	return ks, nil
}

// Config says what to generate.
type Config struct {
	Seed    uint64 // same seed, same packets
	Flows   int    // number of flows (at least 1)
	Packets int    // total number of packets (at least Flows is sensible)
	Mix     []Kind // kinds, assigned to flows round-robin; empty means all
}

// Packet is one generated frame.
type Packet struct {
	Data []byte
	Flow int  // index of its flow
	Dir  int  // 0: a to b, 1: b to a
	Kind Kind // the flow's kind
	// Symmetric is true when the packet is a well-formed member of its flow:
	// it and any other Symmetric packet of the same flow must hash equal in
	// every distribution mode, whatever their directions.
	Symmetric bool
	// Tunnel is true when the packet carries an inner IP packet that the
	// inner distribution modes use.
	Tunnel bool
	// Inner is the tuple of the only IP header, or of the inner one of a
	// tunnel; Outer is the tunnel's outer tuple (zero when not tunnelled).
	// Both are meaningful only when Symmetric.
	Inner, Outer Tuple
}

// Tuple is the addresses and ports of one IP header as sent.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Ports            bool // the ports are present and usable (not a fragment, a protocol with ports)
}

// Generate returns cfg.Packets packets over cfg.Flows flows. Packets of one
// flow alternate direction (0, 1, 0, …); flows are interleaved round-robin.
func Generate(cfg Config) ([]Packet, error) {
	if cfg.Flows < 1 {
		return nil, fmt.Errorf("flows %d: need at least 1", cfg.Flows)
	}
	if cfg.Packets < 0 {
		return nil, fmt.Errorf("packets %d: negative", cfg.Packets)
	}
	mix := cfg.Mix
	if len(mix) == 0 {
		mix = AllKinds()
	}
	for _, k := range mix {
		if k >= numKinds {
			return nil, fmt.Errorf("kind %d: %w", k, ErrMix)
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	flows := make([]*flow, cfg.Flows)
	for i := range flows {
		flows[i] = newFlow(rng, mix[i%len(mix)])
	}
	pkts := make([]Packet, 0, cfg.Packets)
	seq := make([]int, cfg.Flows)
	for i := 0; i < cfg.Packets; i++ {
		fi := i % cfg.Flows
		f := flows[fi]
		dir := seq[fi] & 1
		data, sym := f.packet(rng, dir, seq[fi])
		seq[fi]++
		in, out := f.tuples(dir)
		pkts = append(pkts, Packet{Data: data, Flow: fi, Dir: dir, Kind: f.kind, Symmetric: sym, Tunnel: f.tunnel(), Inner: in, Outer: out})
	}
	return pkts, nil
}

// flow is one bidirectional conversation: endpoints a and b.
type flow struct {
	kind       Kind
	v6         bool // inner (or only) IP version 6
	outerV6    bool // tunnel outer IP version 6
	proto      uint8
	a4, b4     [4]byte
	a6, b6     [16]byte
	pa, pb     uint16
	oa4, ob4   [4]byte // tunnel endpoints
	oa6, ob6   [16]byte
	vlan       [2]uint16
	tpid       uint16 // QinQ outer TPID
	greFlags   uint16
	greKey     uint32
	vni        uint32
	udpSrc     uint16 // tunnel UDP source port (same in both directions)
	teid       uint32
	gtpExt     int  // number of GTP-U extension headers
	innerVLAN  bool // VXLAN inner frame tagged
	damage     int  // Malformed: which damage
	truncOf    Kind // Truncated: kind of the original
	fragStride int
}

func (f *flow) tunnel() bool {
	switch f.kind {
	case IPIP, GRE, NVGRE, VXLAN, GTPU:
		return true
	}
	return false
}

func randAddr4(rng *rand.Rand) (a [4]byte) {
	binary.BigEndian.PutUint32(a[:], rng.Uint32())
	a[0] = 10 + byte(rng.IntN(200)) // avoid 0.x and multicast
	return a
}

func randAddr6(rng *rand.Rand) (a [16]byte) {
	binary.BigEndian.PutUint64(a[:], 0x20010db8<<32|rng.Uint64()&0xffffffff)
	binary.BigEndian.PutUint64(a[8:], rng.Uint64())
	return a
}

func newFlow(rng *rand.Rand, k Kind) *flow {
	f := &flow{kind: k}
	f.a4, f.b4 = randAddr4(rng), randAddr4(rng)
	f.a6, f.b6 = randAddr6(rng), randAddr6(rng)
	if rng.IntN(8) == 0 { // same high half: ordering decided by the low half
		copy(f.b6[:8], f.a6[:8])
	}
	f.oa4, f.ob4 = randAddr4(rng), randAddr4(rng)
	f.oa6, f.ob6 = randAddr6(rng), randAddr6(rng)
	f.pa, f.pb = uint16(1024+rng.IntN(60000)), uint16(1+rng.IntN(65535))
	switch rng.IntN(5) {
	case 0, 1:
		f.proto = protoTCP
	case 2, 3:
		f.proto = protoUDP
	default:
		f.proto = protoSCTP
	}
	f.v6 = rng.IntN(2) == 0
	f.outerV6 = rng.IntN(2) == 0
	f.vlan = [2]uint16{uint16(1 + rng.IntN(4094)), uint16(1 + rng.IntN(4094))}
	f.tpid = 0x88a8
	if rng.IntN(3) == 0 {
		f.tpid = 0x9100
	}
	gf := rng.IntN(8) // C (0x8000), K (0x2000), S (0x1000) in any combination; R clear
	f.greFlags = uint16(gf&1)<<15 | uint16(gf>>1&1)<<13 | uint16(gf>>2&1)<<12
	f.greKey = rng.Uint32()
	f.vni = rng.Uint32() & 0xffffff
	f.udpSrc = uint16(49152 + rng.IntN(16384))
	f.teid = rng.Uint32()
	f.gtpExt = rng.IntN(3)
	f.innerVLAN = rng.IntN(3) == 0
	f.damage = rng.IntN(numDamages)
	f.truncOf = Kind(rng.IntN(int(Malformed)))
	f.fragStride = 1 + rng.IntN(100)
	switch k {
	case Plain4, VLAN:
		f.v6 = false
	case Plain6, V6Ext:
		f.v6 = true
	}
	return f
}

// Protocol numbers and ports.
const (
	protoHopByHop = 0
	protoIPIP     = 4
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6     = 41
	protoRouting  = 43
	protoFragment = 44
	protoGRE      = 47
	protoDstOpts  = 60
	protoSCTP     = 132

	etherIPv4 = 0x0800
	etherIPv6 = 0x86DD
	etherARP  = 0x0806
	etherTEB  = 0x6558

	portVXLAN = 4789
	portGTPU  = 2152
)

// tuples returns the inner (or only) and outer tuples in direction dir.
func (f *flow) tuples(dir int) (in, out Tuple) {
	if f.v6 {
		s, d := f.inner6(dir)
		in.Src, in.Dst = netip.AddrFrom16(s), netip.AddrFrom16(d)
	} else {
		s, d := f.inner4(dir)
		in.Src, in.Dst = netip.AddrFrom4(s), netip.AddrFrom4(d)
	}
	in.SrcPort, in.DstPort = f.ports(dir)
	in.Ports = f.kind != Frag
	if !f.tunnel() {
		return in, Tuple{}
	}
	if f.outerV6 {
		out.Src, out.Dst = netip.AddrFrom16(f.oa6), netip.AddrFrom16(f.ob6)
	} else {
		out.Src, out.Dst = netip.AddrFrom4(f.oa4), netip.AddrFrom4(f.ob4)
	}
	if dir == 1 {
		out.Src, out.Dst = out.Dst, out.Src
	}
	switch f.kind {
	case VXLAN:
		out.SrcPort, out.DstPort, out.Ports = f.udpSrc, portVXLAN, true
	case GTPU:
		out.SrcPort, out.DstPort, out.Ports = portGTPU, portGTPU, true
	}
	return in, out
}

// inner4 returns the IPv4 (src, dst) in direction dir.
func (f *flow) inner4(dir int) ([4]byte, [4]byte) {
	if dir == 0 {
		return f.a4, f.b4
	}
	return f.b4, f.a4
}

// inner6 returns the IPv6 (src, dst) in direction dir.
func (f *flow) inner6(dir int) ([16]byte, [16]byte) {
	if dir == 0 {
		return f.a6, f.b6
	}
	return f.b6, f.a6
}

// ports returns the (source, destination) ports in direction dir.
func (f *flow) ports(dir int) (uint16, uint16) {
	if dir == 0 {
		return f.pa, f.pb
	}
	return f.pb, f.pa
}

// l4 returns an L4 header and payload of the flow's protocol.
func (f *flow) l4(rng *rand.Rand, dir int) []byte {
	sp, dp := f.ports(dir)
	pay := make([]byte, rng.IntN(64))
	for i := range pay {
		pay[i] = byte(rng.Uint32())
	}
	var h []byte
	switch f.proto {
	case protoTCP:
		h = make([]byte, 20)
		binary.BigEndian.PutUint32(h[4:], rng.Uint32())
		h[12] = 5 << 4
		h[13] = 0x18 // PSH ACK
		binary.BigEndian.PutUint16(h[14:], 65535)
	case protoUDP:
		h = make([]byte, 8)
		binary.BigEndian.PutUint16(h[4:], uint16(8+len(pay)))
	default: // SCTP common header and one DATA chunk carrying the payload
		pay = pay[:len(pay)&^3]
		h = make([]byte, 12+16)
		binary.BigEndian.PutUint32(h[4:], rng.Uint32())
		h[12], h[13] = 0, 3 // DATA, beginning and end of a message
		binary.BigEndian.PutUint16(h[14:], uint16(16+len(pay)))
		binary.BigEndian.PutUint32(h[16:], rng.Uint32()) // TSN
	}
	binary.BigEndian.PutUint16(h[0:], sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	return append(h, pay...)
}

// innerIP returns the flow's inner (or only) IP packet in direction dir.
func (f *flow) innerIP(rng *rand.Rand, dir int) ([]byte, uint16) {
	l4 := f.l4(rng, dir)
	if f.v6 {
		s, d := f.inner6(dir)
		return ipv6(s, d, f.proto, nil, l4), etherIPv6
	}
	s, d := f.inner4(dir)
	return ipv4(s, d, f.proto, 0, false, l4), etherIPv4
}

// outerIP wraps payload in the flow's tunnel outer IP header.
func (f *flow) outerIP(dir int, proto uint8, payload []byte) ([]byte, uint16) {
	if f.outerV6 {
		s, d := f.oa6, f.ob6
		if dir == 1 {
			s, d = d, s
		}
		return ipv6(s, d, proto, nil, payload), etherIPv6
	}
	s, d := f.oa4, f.ob4
	if dir == 1 {
		s, d = d, s
	}
	return ipv4(s, d, proto, 0, false, payload), etherIPv4
}

// packet builds the seq-th packet of the flow, in direction dir.
func (f *flow) packet(rng *rand.Rand, dir, seq int) (data []byte, symmetric bool) {
	switch f.kind {
	case Plain4, Plain6:
		ip, et := f.innerIP(rng, dir)
		return eth(dir, nil, et, ip), true
	case VLAN:
		ip, et := f.innerIP(rng, dir)
		return eth(dir, []tag{{0x8100, f.vlan[0]}}, et, ip), true
	case QinQ:
		ip, et := f.innerIP(rng, dir)
		return eth(dir, []tag{{f.tpid, f.vlan[0]}, {0x8100, f.vlan[1]}}, et, ip), true
	case IPIP:
		in, et := f.innerIP(rng, dir)
		proto := uint8(protoIPIP)
		if et == etherIPv6 {
			proto = protoIPv6
		}
		out, oet := f.outerIP(dir, proto, in)
		return eth(dir, nil, oet, out), true
	case GRE:
		in, et := f.innerIP(rng, dir)
		out, oet := f.outerIP(dir, protoGRE, append(greHdr(f.greFlags, et, f.greKey, uint32(seq)), in...))
		return eth(dir, nil, oet, out), true
	case NVGRE:
		in, et := f.innerIP(rng, dir)
		frame := eth(dir, nil, et, in)
		key := f.vni<<8 | uint32(rng.IntN(256)) // VSID and FlowID
		out, oet := f.outerIP(dir, protoGRE, append(greHdr(0x2000, etherTEB, key, 0), frame...))
		return eth(dir, nil, oet, out), true
	case VXLAN:
		in, et := f.innerIP(rng, dir)
		var tags []tag
		if f.innerVLAN {
			tags = []tag{{0x8100, f.vlan[1]}}
		}
		frame := eth(dir, tags, et, in)
		vx := make([]byte, 8)
		vx[0] = 0x08
		binary.BigEndian.PutUint32(vx[4:], f.vni<<8)
		udp := udpHdr(f.udpSrc, portVXLAN, append(vx, frame...))
		out, oet := f.outerIP(dir, protoUDP, udp)
		return eth(dir, nil, oet, out), true
	case GTPU:
		in, _ := f.innerIP(rng, dir)
		g := gtpuHdr(f.teid+uint32(dir), uint16(seq), f.gtpExt, in)
		udp := udpHdr(portGTPU, portGTPU, g)
		out, oet := f.outerIP(dir, protoUDP, udp)
		return eth(dir, nil, oet, out), true
	case V6Ext:
		s, d := f.inner6(dir)
		l4 := f.l4(rng, dir)
		exts := []ext{{protoHopByHop, 0}, {protoRouting, 1}, {protoDstOpts, rng.IntN(3)}}
		if seq%2 == 1 {
			exts = exts[:1+rng.IntN(3)]
		}
		return eth(dir, nil, etherIPv6, ipv6(s, d, f.proto, exts, l4)), true
	case Frag:
		return f.fragment(rng, dir, seq), true
	case Malformed:
		return f.malformed(rng, dir), false
	case Truncated:
		g := *f
		g.kind = f.truncOf
		full, _ := g.packet(rng, dir, seq)
		return full[:rng.IntN(len(full))], false
	}
	panic("pcapgen: unknown kind")
}

// fragment returns a first fragment (MF set, with the L4 header) on even
// sequence numbers and a non-first fragment (offset > 0) on odd ones.
func (f *flow) fragment(rng *rand.Rand, dir, seq int) []byte {
	l4 := f.l4(rng, dir)
	first := seq%2 == 0
	off := 0
	if !first {
		off = f.fragStride + seq // in 8-byte units
	}
	last := !first && rng.IntN(2) == 0
	if f.v6 {
		s, d := f.inner6(dir)
		fo := uint16(off << 3)
		if !last {
			fo |= 1
		}
		fh := ext{protoFragment, int(fo)}
		return eth(dir, nil, etherIPv6, ipv6(s, d, f.proto, []ext{fh}, l4))
	}
	s, d := f.inner4(dir)
	return eth(dir, nil, etherIPv4, ipv4(s, d, f.proto, off, !last, l4))
}

// Kinds of damage of Malformed packets.
const (
	dmgARP = iota
	dmgShortEth
	dmgIPv4BadVersion
	dmgIPv4BadIHL
	dmgIPv6BadVersion
	dmgVLANTruncated
	dmgGREVersion1
	dmgGTPZeroExt
	dmgVXLANShortInner
	dmgJunk
	dmgIPv4Options
	numDamages
)

func (f *flow) malformed(rng *rand.Rand, dir int) []byte {
	switch f.damage {
	case dmgARP:
		arp := make([]byte, 28)
		binary.BigEndian.PutUint16(arp[0:], 1)
		binary.BigEndian.PutUint16(arp[2:], etherIPv4)
		arp[4], arp[5] = 6, 4
		binary.BigEndian.PutUint16(arp[6:], 1)
		copy(arp[14:], f.a4[:])
		copy(arp[24:], f.b4[:])
		return eth(dir, nil, etherARP, arp)
	case dmgShortEth:
		return eth(dir, nil, etherIPv4, nil)[:rng.IntN(14)]
	case dmgIPv4BadVersion:
		ip, _ := f.innerIP(rng, dir)
		if len(ip) > 0 && !f.v6 {
			ip[0] = 0x65
		}
		return eth(dir, nil, etherIPv4, ip)
	case dmgIPv4BadIHL:
		s, d := f.inner4(dir)
		ip := ipv4(s, d, f.proto, 0, false, f.l4(rng, dir))
		ip[0] = 0x40 | byte(rng.IntN(5))
		return eth(dir, nil, etherIPv4, ip)
	case dmgIPv6BadVersion:
		s, d := f.inner6(dir)
		ip := ipv6(s, d, f.proto, nil, f.l4(rng, dir))
		ip[0] = 0x40
		return eth(dir, nil, etherIPv6, ip)
	case dmgVLANTruncated:
		return eth(dir, []tag{{0x8100, 1}}, etherIPv4, nil)[:14+rng.IntN(4)]
	case dmgGREVersion1:
		in, et := f.innerIP(rng, dir)
		out, oet := f.outerIP(dir, protoGRE, append(greHdr(1, et, 0, 0), in...))
		return eth(dir, nil, oet, out)
	case dmgGTPZeroExt:
		in, _ := f.innerIP(rng, dir)
		g := gtpuHdr(f.teid, 1, 1, in)
		g[8+4] = 0 // first extension header length 0
		out, oet := f.outerIP(dir, protoUDP, udpHdr(portGTPU, portGTPU, g))
		return eth(dir, nil, oet, out)
	case dmgVXLANShortInner:
		vx := make([]byte, 8+rng.IntN(20))
		vx[0] = 0x08
		out, oet := f.outerIP(dir, protoUDP, udpHdr(f.udpSrc, portVXLAN, vx))
		return eth(dir, nil, oet, out)
	case dmgIPv4Options: // valid, but with options: IHL > 5
		s, d := f.inner4(dir)
		ip := ipv4opts(s, d, f.proto, 1+rng.IntN(10), f.l4(rng, dir))
		return eth(dir, nil, etherIPv4, ip)
	}
	junk := make([]byte, rng.IntN(200))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	if len(junk) > 13 && rng.IntN(2) == 0 {
		binary.BigEndian.PutUint16(junk[12:], []uint16{etherIPv4, etherIPv6, 0x8100, 0x88a8}[rng.IntN(4)])
	}
	return junk
}

// tag is one VLAN tag.
type tag struct{ tpid, vid uint16 }

// eth returns an Ethernet frame; the MAC addresses swap with the direction.
func eth(dir int, tags []tag, et uint16, payload []byte) []byte {
	b := make([]byte, 0, 14+4*len(tags)+len(payload))
	ma := []byte{0x02, 0, 0, 0, 0, 0xaa}
	mb := []byte{0x02, 0, 0, 0, 0, 0xbb}
	if dir == 1 {
		ma, mb = mb, ma
	}
	b = append(b, mb...) // destination
	b = append(b, ma...) // source
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t.tpid)
		b = binary.BigEndian.AppendUint16(b, t.vid)
	}
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, payload...)
}

func csum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// ipv4 returns an IPv4 packet; fragOff is in 8-byte units.
func ipv4(src, dst [4]byte, proto uint8, fragOff int, mf bool, payload []byte) []byte {
	return ipv4full(src, dst, proto, fragOff, mf, 0, payload)
}

// ipv4opts returns an IPv4 packet with optWords 4-byte words of NOP options.
func ipv4opts(src, dst [4]byte, proto uint8, optWords int, payload []byte) []byte {
	return ipv4full(src, dst, proto, 0, false, optWords, payload)
}

// ipv4full returns an IPv4 packet with every header option of ipv4 and
// ipv4opts.
func ipv4full(src, dst [4]byte, proto uint8, fragOff int, mf bool, optWords int, payload []byte) []byte {
	hl := 20 + 4*optWords
	b := make([]byte, hl, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	fo := uint16(fragOff & 0x1fff)
	if mf {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], fo)
	b[8] = 64
	b[9] = proto
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	for i := 20; i < hl; i++ {
		b[i] = 1 // NOP
	}
	binary.BigEndian.PutUint16(b[10:], csum(b[:hl]))
	return append(b, payload...)
}

// ext is one IPv6 extension header: its type and a parameter (for options
// headers the number of extra 8-byte units; for a fragment header the
// offset/flags word).
type ext struct {
	typ   uint8
	param int
}

// ipv6 returns an IPv6 packet with the given extension headers.
func ipv6(src, dst [16]byte, proto uint8, exts []ext, payload []byte) []byte {
	var eh []byte
	for i, e := range exts {
		next := proto
		if i+1 < len(exts) {
			next = exts[i+1].typ
		}
		switch e.typ {
		case protoFragment:
			h := make([]byte, 8)
			h[0] = next
			binary.BigEndian.PutUint16(h[2:], uint16(e.param))
			binary.BigEndian.PutUint32(h[4:], 0xabcd)
			eh = append(eh, h...)
		case protoRouting:
			h := make([]byte, 8+8*e.param)
			h[0], h[1] = next, byte(e.param&^1)
			h = h[:8+8*(e.param&^1)]
			h[2] = 0 // type 0, segments left 0, no addresses listed
			eh = append(eh, h...)
		default: // hop-by-hop, destination options: PadN
			h := make([]byte, 8+8*e.param)
			h[0], h[1] = next, byte(e.param)
			h[2], h[3] = 1, byte(len(h)-4)
			eh = append(eh, h...)
		}
	}
	first := proto
	if len(exts) > 0 {
		first = exts[0].typ
	}
	b := make([]byte, 40, 40+len(eh)+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(eh)+len(payload)))
	b[6] = first
	b[7] = 64
	copy(b[8:], src[:])
	copy(b[24:], dst[:])
	b = append(b, eh...)
	return append(b, payload...)
}

// greHdr returns a GRE header with the given C/K/S flags (or version bits).
func greHdr(flags uint16, proto uint16, key, seq uint32) []byte {
	b := binary.BigEndian.AppendUint16(nil, flags)
	b = binary.BigEndian.AppendUint16(b, proto)
	if flags&0x8000 != 0 {
		b = append(b, 0, 0, 0, 0) // checksum (not computed), reserved
	}
	if flags&0x2000 != 0 {
		b = binary.BigEndian.AppendUint32(b, key)
	}
	if flags&0x1000 != 0 {
		b = binary.BigEndian.AppendUint32(b, seq)
	}
	return b
}

// udpHdr returns a UDP header (checksum 0) followed by payload.
func udpHdr(sp, dp uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sp)
	b = binary.BigEndian.AppendUint16(b, dp)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0)
	return append(b, payload...)
}

// gtpuHdr returns a GTP-U G-PDU header with nExt PDU-session-container-like
// extension headers, followed by payload.
func gtpuHdr(teid uint32, seq uint16, nExt int, payload []byte) []byte {
	flags := byte(0x30)
	if nExt > 0 {
		flags |= 0x04 | 0x02 // E and S
	}
	b := []byte{flags, 0xff, 0, 0}
	b = binary.BigEndian.AppendUint32(b, teid)
	if nExt > 0 {
		b = binary.BigEndian.AppendUint16(b, seq)
		b = append(b, 0, 0x85) // N-PDU, next extension: PDU session container
		for i := 0; i < nExt; i++ {
			next := byte(0x85)
			if i == nExt-1 {
				next = 0
			}
			l := 1 + i // length in 4-byte units
			e := make([]byte, 4*l)
			e[0] = byte(l)
			e[1] = 0x10
			e[len(e)-1] = next
			b = append(b, e...)
		}
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-8+len(payload)))
	return append(b, payload...)
}
