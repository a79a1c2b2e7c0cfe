package flowhash

import (
	"math/bits"
	"unsafe"
)

// key is one packet's canonical key (see the package doc): n bytes (0, 8,
// 12, 32 or 36) in w, in wire order, w[i] holding bytes 8i..8i+7 as a
// little-endian word (what crc32q consumes). Bytes past n are zero. The
// layout is read by the assembly kernel (go_asm.h: key_w, key_n, key__size).
type key struct {
	w [5]uint64
	n uint32
	_ uint32
}

// Wire constants.
const (
	ethHdrLen   = 14
	maxVLANTags = 8
	maxV6Ext    = 8

	etherIPv4 = 0x0800
	etherIPv6 = 0x86DD
	etherTEB  = 0x6558 // transparent Ethernet bridging (GRE, NVGRE)
	tpid8100  = 0x8100
	tpid88a8  = 0x88a8
	tpid9100  = 0x9100

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
	protoUDPLite  = 136
	protoNone     = 255 // unknown after a truncated IPv6 extension chain

	portVXLAN = 4789
	portGTPU  = 2152
)

// Byte loads at p+off. The callers have checked off+size <= n. The byte-wise
// forms compile to single (byte-swapped) loads on amd64 and arm64 and stay
// correct on strict-alignment targets.
func ld8(p unsafe.Pointer, off int) uint8 { return *(*uint8)(unsafe.Add(p, off)) }

func be16(p unsafe.Pointer, off int) uint16 {
	b := (*[2]byte)(unsafe.Add(p, off))
	return uint16(b[0])<<8 | uint16(b[1])
}

func le16(p unsafe.Pointer, off int) uint16 {
	b := (*[2]byte)(unsafe.Add(p, off))
	return uint16(b[0]) | uint16(b[1])<<8
}

func le32(p unsafe.Pointer, off int) uint32 {
	b := (*[4]byte)(unsafe.Add(p, off))
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(p unsafe.Pointer, off int) uint64 {
	b := (*[8]byte)(unsafe.Add(p, off))
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// skipL2 parses an Ethernet header and its VLAN tags at off. It returns the
// offset of the L3 header and its EtherType; ok is false when truncated.
func skipL2(p unsafe.Pointer, n, off int) (l3 int, et uint16, ok bool) {
	if off+ethHdrLen > n {
		return 0, 0, false
	}
	et = be16(p, off+12)
	off += ethHdrLen
	for i := 0; i < maxVLANTags; i++ {
		if et != tpid8100 && et != tpid88a8 && et != tpid9100 {
			return off, et, true
		}
		if off+4 > n {
			return 0, 0, false
		}
		et = be16(p, off+2)
		off += 4
	}
	return off, et, et != tpid8100 && et != tpid88a8 && et != tpid9100
}

// ipHdr describes a parsed IP header. It has at most four scalar fields so
// the compiler keeps it in registers: a larger struct is copied through the
// stack with wide loads of narrow stores, which stall store forwarding
// (measured: 40 % of the parse time).
type ipHdr struct {
	off  int    // offset of the IP header
	l4   int    // offset of the L4 header (may be >= n)
	info uint32 // L4 protocol (bits 0-7, after IPv6 extension headers) | ipV6 | ipFrag | ipOK
}

// ipHdr.info flags.
const (
	ipV6   = 1 << 8  // IPv6 (else IPv4)
	ipFrag = 1 << 9  // a fragment: MF set or non-zero offset
	ipOK   = 1 << 10 // the fixed header is present and valid
)

func (h ipHdr) ok() bool     { return h.info&ipOK != 0 }
func (h ipHdr) v6() bool     { return h.info&ipV6 != 0 }
func (h ipHdr) frag() bool   { return h.info&ipFrag != 0 }
func (h ipHdr) proto() uint8 { return uint8(h.info) }

// parseIP parses the IPv4 (v6 false) or IPv6 header at off.
func parseIP(p unsafe.Pointer, n, off int, v6 bool) ipHdr {
	if !v6 {
		return parseIPv4(p, n, off)
	}
	return parseIPv6(p, n, off)
}

// parseIPv4 parses the IPv4 header at off. Small enough to be inlined.
func parseIPv4(p unsafe.Pointer, n, off int) ipHdr {
	if off+20 > n {
		return ipHdr{}
	}
	vihl := ld8(p, off)
	if vihl>>4 != 4 || vihl&0xf < 5 {
		return ipHdr{}
	}
	info := uint32(ld8(p, off+9)) | ipOK
	if be16(p, off+6)&0x3fff != 0 { // MF or fragment offset
		info |= ipFrag
	}
	return ipHdr{off: off, l4: off + int(vihl&0xf)*4, info: info}
}

// parseIPv6 parses the IPv6 header at off and its extension headers.
func parseIPv6(p unsafe.Pointer, n, off int) ipHdr {
	if off+40 > n || ld8(p, off)>>4 != 6 {
		return ipHdr{}
	}
	proto := ld8(p, off+6)
	if proto != protoHopByHop && proto != protoRouting && proto != protoDstOpts && proto != protoFragment {
		return ipHdr{off: off, l4: off + 40, info: uint32(proto) | ipV6 | ipOK}
	}
	return parseV6Ext(p, n, off, proto)
}

// isV6Ext reports whether proto is an IPv6 extension header that is skipped.
func isV6Ext(proto uint8) bool {
	return proto == protoHopByHop || proto == protoRouting || proto == protoDstOpts || proto == protoFragment
}

// parseV6Ext skips the extension headers of the IPv6 header at off, whose
// next header proto is an extension header.
func parseV6Ext(p unsafe.Pointer, n, off int, proto uint8) ipHdr {
	l4 := off + 40
	flags := uint32(ipV6 | ipOK)
	for i := 0; i < maxV6Ext; i++ {
		switch proto {
		case protoHopByHop, protoRouting, protoDstOpts:
			if l4+2 > n {
				return ipHdr{off: off, l4: l4, info: protoNone | flags}
			}
			proto = ld8(p, l4)
			l4 += (int(ld8(p, l4+1)) + 1) * 8
		case protoFragment:
			if l4+8 > n {
				return ipHdr{off: off, l4: l4, info: protoNone | flags}
			}
			proto = ld8(p, l4)
			if be16(p, l4+2)&0xfff9 != 0 { // offset or M
				flags |= ipFrag
			}
			l4 += 8
		default:
			return ipHdr{off: off, l4: l4, info: uint32(proto) | flags}
		}
	}
	if isV6Ext(proto) {
		proto = protoNone // too many extension headers
	}
	return ipHdr{off: off, l4: l4, info: uint32(proto) | flags}
}

// parseL2IP parses an Ethernet frame at off down to its IP header.
func parseL2IP(p unsafe.Pointer, n, off int) ipHdr {
	l3, et, ok := skipL2(p, n, off)
	if !ok {
		return ipHdr{}
	}
	switch et {
	case etherIPv4:
		return parseIP(p, n, l3, false)
	case etherIPv6:
		return parseIP(p, n, l3, true)
	}
	return ipHdr{}
}

// inner returns the IP header carried by the tunnel whose outer IP header is
// o; ok is false when o is not a (well-formed) tunnel.
func inner(p unsafe.Pointer, n int, o ipHdr) ipHdr {
	l4 := o.l4
	switch o.proto() {
	case protoIPIP:
		return parseIP(p, n, l4, false)
	case protoIPv6:
		return parseIP(p, n, l4, true)
	case protoGRE:
		if l4+4 > n {
			return ipHdr{}
		}
		flags := be16(p, l4)
		if flags&0x4007 != 0 { // routing present, or version != 0
			return ipHdr{}
		}
		hl := 4 + int(flags>>15)*4 + int(flags>>13&1)*4 + int(flags>>12&1)*4
		switch be16(p, l4+2) {
		case etherIPv4:
			return parseIP(p, n, l4+hl, false)
		case etherIPv6:
			return parseIP(p, n, l4+hl, true)
		case etherTEB:
			return parseL2IP(p, n, l4+hl)
		}
	case protoUDP:
		if l4+8 > n {
			return ipHdr{}
		}
		switch be16(p, l4+2) {
		case portVXLAN:
			return parseL2IP(p, n, l4+16)
		case portGTPU:
			return gtpu(p, n, l4+8)
		}
	}
	return ipHdr{}
}

// gtpu parses a GTP-U (v1) header at off and the IP packet it carries.
func gtpu(p unsafe.Pointer, n, off int) ipHdr {
	if off+8 > n {
		return ipHdr{}
	}
	flags := ld8(p, off)
	if flags&0xf0 != 0x30 || ld8(p, off+1) != 0xff { // version 1, PT 1, G-PDU
		return ipHdr{}
	}
	pos := off + 8
	if flags&0x07 != 0 { // E, S or PN: sequence, N-PDU, next extension type
		if pos+4 > n {
			return ipHdr{}
		}
		next := ld8(p, pos+3)
		pos += 4
		if flags&0x04 != 0 {
			for next != 0 {
				if pos+1 > n {
					return ipHdr{}
				}
				l := int(ld8(p, pos)) * 4
				if l == 0 || pos+l > n {
					return ipHdr{}
				}
				next = ld8(p, pos+l-1)
				pos += l
			}
		}
	}
	if pos+1 > n {
		return ipHdr{}
	}
	switch ld8(p, pos) >> 4 {
	case 4:
		return parseIP(p, n, pos, false)
	case 6:
		return parseIP(p, n, pos, true)
	}
	return ipHdr{}
}

// portProtos has bit p set for the L4 protocols p whose header starts with
// 16-bit source and destination ports.
var portProtos = [4]uint64{
	protoTCP / 64:  1<<protoTCP | 1<<protoUDP,
	protoSCTP / 64: 1<<(protoSCTP%64) | 1<<(protoUDPLite%64),
}

// portProtoBytes[p] is 1 for the same protocols as portProtos: the
// assembly express loop tests the protocol with one byte load.
var portProtoBytes = [256]uint8{protoTCP: 1, protoUDP: 1, protoSCTP: 1, protoUDPLite: 1}

// v6NextClass[p] classifies an IPv6 next header for the assembly's IPv6
// express code: 0 for an extension header or a tunnel protocol (the
// general code), 2 for a protocol with ports (as hasPorts), 1 otherwise.
var v6NextClass = func() (c [256]uint8) {
	for p := range c {
		switch {
		case isV6Ext(uint8(p)) || p == protoIPIP || p == protoIPv6 || p == protoGRE:
		case hasPorts(uint8(p)):
			c[p] = 2
		default:
			c[p] = 1
		}
	}
	return c
}()

// hasPorts reports whether L4 protocol proto has 16-bit ports first. A table
// lookup, not a chain of compares: on mixed traffic the compares mispredict.
func hasPorts(proto uint8) bool {
	return portProtos[proto>>6]>>(proto&63)&1 != 0
}

// extract writes the canonical key of the n-byte packet at p for mode to k.
//
// The address and port ordering is branchless (min/max, borrow masks): the
// order of two random addresses is a coin toss that a branch predictor
// cannot learn.
func extract(p unsafe.Pointer, n int, mode DistMode, k *key) {
	var ip ipHdr
	// Untagged IPv4 and IPv6 inline; VLAN tags and the rest through
	// parseL2IP (calls cost more than the parsing here).
	// (Inlined by hand: parseIPv4 and parseIPv6 exceed the inlining budget.)
	const l3 = ethHdrLen
	if et := uint16(0); n >= l3 {
		if et = be16(p, 12); et == etherIPv4 {
			if n >= l3+20 {
				if vihl := ld8(p, l3); vihl>>4 == 4 && vihl&0xf >= 5 {
					ip = ipHdr{off: l3, l4: l3 + int(vihl&0xf)*4, info: uint32(ld8(p, l3+9)) | ipOK}
					if be16(p, l3+6)&0x3fff != 0 {
						ip.info |= ipFrag
					}
				}
			}
		} else if et == etherIPv6 {
			if n >= l3+40 && ld8(p, l3)>>4 == 6 {
				if proto := ld8(p, l3+6); !isV6Ext(proto) {
					ip = ipHdr{off: l3, l4: l3 + 40, info: uint32(proto) | ipV6 | ipOK}
				} else {
					ip = parseV6Ext(p, n, l3, proto)
				}
			}
		} else {
			ip = parseL2IP(p, n, 0)
		}
	}
	if !ip.ok() {
		*k = key{}
		return
	}
	if mode >= DistInnerTuple2 && !ip.frag() {
		if in := inner(p, n, ip); in.ok() {
			ip = in
		}
	}
	var pw uint64 // the ordered port word, 0 when there are no ports
	nk := uint32(8)
	if mode&1 != 0 && ip.info&ipFrag == 0 && hasPorts(ip.proto()) && ip.l4+4 <= n {
		sp, dp := bits.ReverseBytes16(le16(p, ip.l4)), bits.ReverseBytes16(le16(p, ip.l4+2))
		pw = uint64(bits.ReverseBytes16(min(sp, dp))) | uint64(bits.ReverseBytes16(max(sp, dp)))<<16
		nk = 12
	}
	if !ip.v6() {
		a, b := bits.ReverseBytes32(le32(p, ip.off+12)), bits.ReverseBytes32(le32(p, ip.off+16))
		k.w[0] = uint64(bits.ReverseBytes32(min(a, b))) | uint64(bits.ReverseBytes32(max(a, b)))<<32
		k.w[1] = pw
		k.w[2], k.w[3], k.w[4] = 0, 0, 0
		k.n = nk
		return
	}
	a0, a1 := le64(p, ip.off+8), le64(p, ip.off+16)
	b0, b1 := le64(p, ip.off+24), le64(p, ip.off+32)
	// borrow is 1 when b < a as 128-bit big-endian numbers.
	_, borrow := bits.Sub64(bits.ReverseBytes64(b1), bits.ReverseBytes64(a1), 0)
	_, borrow = bits.Sub64(bits.ReverseBytes64(b0), bits.ReverseBytes64(a0), borrow)
	m := -borrow
	t0, t1 := (a0^b0)&m, (a1^b1)&m
	k.w[0], k.w[1], k.w[2], k.w[3] = a0^t0, a1^t1, b0^t0, b1^t1
	k.w[4] = pw
	k.n = nk + 24
}
