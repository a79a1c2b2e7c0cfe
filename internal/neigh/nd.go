package neigh

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv6 neighbour discovery (RFC 4861), the part a host needs: answer
// solicitations for our addresses, learn from solicitations and
// advertisements, solicit unresolved next hops. Only ICMPv6 directly after
// the IPv6 header is inspected (ND messages carry no extension headers).

const (
	ipv6HdrLen  = 40
	ndMsgLen    = 24 // type, code, checksum, flags/reserved, target
	ndOptLen    = 8  // one link-layer address option
	ndFrameLen  = ethHdrLen + ipv6HdrLen + ndMsgLen + ndOptLen
	icmpv6      = 58
	ndSolicit   = 135
	ndAdvert    = 136
	optSrcLL    = 1
	optTgtLL    = 2
	naSolicited = 0x40000000
	naOverride  = 0x20000000
)

var (
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = MAC{0x33, 0x33, 0, 0, 0, 1}
)

// inputND handles IPv6 frames; only NS and NA are consumed.
func (p *Port) inputND(frame, reply []byte) (Verdict, int) {
	if len(frame) < ethHdrLen+ipv6HdrLen+4 {
		return NotNeighbour, 0
	}
	ip := frame[ethHdrLen:]
	if ip[0]>>4 != 6 || ip[6] != icmpv6 {
		return NotNeighbour, 0
	}
	icmp := ip[ipv6HdrLen:]
	if icmp[0] != ndSolicit && icmp[0] != ndAdvert {
		return NotNeighbour, 0
	}
	p.ndIn.Add(1)
	plen := int(binary.BigEndian.Uint16(ip[4:]))
	src := netip.AddrFrom16([16]byte(ip[8:24]))
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	if plen > len(icmp) || plen < ndMsgLen || ip[7] != 255 || icmp[1] != 0 {
		p.ndMalformed.Add(1)
		p.logf(logMalformed, "neigh: malformed neighbour discovery ignored", "len", len(frame), "payload", plen, "hoplimit", ip[7])
		return Ignored, 0
	}
	icmp = icmp[:plen]
	if icmpv6Checksum(src, dst, icmp) != 0 {
		p.ndMalformed.Add(1)
		p.logf(logMalformed, "neigh: neighbour discovery with bad checksum ignored", "src", src.String())
		return Ignored, 0
	}
	target := netip.AddrFrom16([16]byte(icmp[8:24]))
	want := byte(optTgtLL)
	if icmp[0] == ndSolicit {
		want = optSrcLL
	}
	ll, ok := linkLayerOption(icmp[ndMsgLen:], want)
	if !ok || target.IsMulticast() {
		p.ndMalformed.Add(1)
		p.logf(logMalformed, "neigh: neighbour discovery with bad options or target ignored", "src", src.String())
		return Ignored, 0
	}
	if ll == p.mac {
		p.looped.Add(1)
		return Ignored, 0
	}
	if ll != (MAC{}) && !ll.IsUnicast() {
		p.ndMalformed.Add(1)
		return Ignored, 0
	}

	if icmp[0] == ndAdvert {
		if p.ours(target) {
			p.ndSpoofed.Add(1)
			p.logf(logSpoofed, "neigh: advertisement claiming our address ignored", "ip", target.String(), "claimed_by", ll.String())
			return Ignored, 0
		}
		if ll == (MAC{}) {
			return Handled, 0 // nothing to learn
		}
		var err error
		if binary.BigEndian.Uint32(icmp[4:])&naSolicited != 0 {
			_, err = p.table.Learn(target, ll)
		} else {
			_, err = p.table.Update(target, ll)
		}
		if err != nil {
			p.learnFailed.Add(1)
			p.logf(logLearn, "neigh: not learned", "ip", target.String(), "mac", ll.String(), "err", err)
		}
		return Handled, 0
	}

	// Neighbour solicitation.
	if p.ours(src) {
		p.ndSpoofed.Add(1)
		p.logf(logSpoofed, "neigh: solicitation from our address ignored", "ip", src.String(), "claimed_by", ll.String())
		return Ignored, 0
	}
	forUs := p.ours(target)
	if !src.IsUnspecified() && ll != (MAC{}) {
		var err error
		if forUs {
			_, err = p.table.Learn(src, ll)
		} else {
			_, err = p.table.Update(src, ll)
		}
		if err != nil {
			p.learnFailed.Add(1)
			p.logf(logLearn, "neigh: not learned", "ip", src.String(), "mac", ll.String(), "err", err)
		}
	}
	if !forUs {
		return Handled, 0
	}
	var n int
	var err error
	switch {
	case src.IsUnspecified(): // duplicate address detection: defend to all nodes
		n, err = p.buildNA(reply, allNodes, allNodesMAC, target, false)
	case ll != (MAC{}):
		n, err = p.buildNA(reply, src, ll, target, true)
	default:
		mac, ok := p.table.Resolve(src)
		if !ok {
			return Handled, 0
		}
		n, err = p.buildNA(reply, src, mac, target, true)
	}
	if err != nil {
		p.shortBuffer.Add(1)
		return Handled, 0
	}
	p.ndAdverts.Add(1)
	return Handled, n
}

// linkLayerOption returns the link-layer address option of type want
// (zero MAC if absent); ok is false for malformed options.
func linkLayerOption(opts []byte, want byte) (MAC, bool) {
	var m MAC
	for len(opts) > 0 {
		if len(opts) < 2 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			return MAC{}, false
		}
		l := int(opts[1]) * 8
		if opts[0] == want {
			if l != 8 {
				return MAC{}, false
			}
			m = MAC(opts[2:8])
		}
		opts = opts[l:]
	}
	return m, true
}

func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
	}
	s16, d16 := src.As16(), dst.As16()
	add(s16[:])
	add(d16[:])
	s += uint32(len(msg)) + icmpv6
	add(msg)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// buildND writes an Ethernet+IPv6+ND frame with one link-layer option.
func (p *Port) buildND(out []byte, dstMAC MAC, src, dst netip.Addr, typ byte, flags uint32, target netip.Addr, opt byte) (int, error) {
	if len(out) < ndFrameLen {
		return 0, fmt.Errorf("%w: %d < %d", ErrShortBuffer, len(out), ndFrameLen)
	}
	copy(out[0:6], dstMAC[:])
	copy(out[6:12], p.mac[:])
	binary.BigEndian.PutUint16(out[12:], EtherTypeIPv6)
	ip := out[ethHdrLen:]
	binary.BigEndian.PutUint32(ip[0:], 6<<28)
	binary.BigEndian.PutUint16(ip[4:], ndMsgLen+ndOptLen)
	ip[6], ip[7] = icmpv6, 255
	s16, d16, t16 := src.As16(), dst.As16(), target.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	m := ip[ipv6HdrLen : ipv6HdrLen+ndMsgLen+ndOptLen]
	m[0], m[1], m[2], m[3] = typ, 0, 0, 0
	binary.BigEndian.PutUint32(m[4:], flags)
	copy(m[8:24], t16[:])
	m[24], m[25] = opt, 1
	copy(m[26:32], p.mac[:])
	binary.BigEndian.PutUint16(m[2:], icmpv6Checksum(src, dst, m))
	return ndFrameLen, nil
}

// buildNS writes a solicitation for target to its solicited-node group.
func (p *Port) buildNS(out []byte, src, target netip.Addr) (int, error) {
	t := target.As16()
	group := netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 1, 12: 0xff, 13: t[13], 14: t[14], 15: t[15]})
	mac := MAC{0x33, 0x33, 0xff, t[13], t[14], t[15]}
	return p.buildND(out, mac, src, group, ndSolicit, 0, target, optSrcLL)
}

// buildNA writes an advertisement of our target address.
func (p *Port) buildNA(out []byte, dst netip.Addr, dstMAC MAC, target netip.Addr, solicited bool) (int, error) {
	flags := uint32(naOverride)
	if solicited {
		flags |= naSolicited
	}
	return p.buildND(out, dstMAC, target, dst, ndAdvert, flags, target, optTgtLL)
}
