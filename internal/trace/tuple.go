package trace

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Tuple is a packet's 5-tuple. An IPv4 address fills the first 4 bytes of
// Src/Dst (V6 false).
type Tuple struct {
	Src, Dst     [16]byte
	Sport, Dport uint16
	Proto        uint8 // 0: the packet had no IP header we could read
	V6           bool
}

// Addrs returns source and destination as netip addresses.
func (t *Tuple) Addrs() (src, dst netip.Addr) {
	if t.V6 {
		return netip.AddrFrom16(t.Src), netip.AddrFrom16(t.Dst)
	}
	return netip.AddrFrom4([4]byte(t.Src[:4])), netip.AddrFrom4([4]byte(t.Dst[:4]))
}

// String formats the tuple as "proto src:sport > dst:dport".
func (t *Tuple) String() string {
	if t.Proto == 0 {
		return "-"
	}
	s, d := t.Addrs()
	return fmt.Sprintf("%s %s > %s", protoName(t.Proto), netip.AddrPortFrom(s, t.Sport), netip.AddrPortFrom(d, t.Dport))
}

func protoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmp6"
	}
	return strconv.Itoa(int(p))
}

// ParseTuple reads the 5-tuple of an Ethernet frame (one optional VLAN
// tag, IPv4 or IPv6 without extension headers; ports for TCP and UDP) into
// t. It does not allocate; a frame without one leaves t.Proto 0.
func ParseTuple(f []byte, t *Tuple) {
	*t = Tuple{}
	if len(f) < 14 {
		return
	}
	et, off := binary.BigEndian.Uint16(f[12:]), 14
	if et == 0x8100 && len(f) >= 18 {
		et, off = binary.BigEndian.Uint16(f[16:]), 18
	}
	p := f[off:]
	var l4 []byte
	switch et {
	case 0x0800:
		if len(p) < 20 || p[0]>>4 != 4 {
			return
		}
		ihl := int(p[0]&15) * 4
		if ihl < 20 || len(p) < ihl {
			return
		}
		copy(t.Src[:4], p[12:16])
		copy(t.Dst[:4], p[16:20])
		t.Proto = p[9]
		if binary.BigEndian.Uint16(p[6:])&0x1fff == 0 { // first fragment only
			l4 = p[ihl:]
		}
	case 0x86dd:
		if len(p) < 40 || p[0]>>4 != 6 {
			return
		}
		copy(t.Src[:], p[8:24])
		copy(t.Dst[:], p[24:40])
		t.Proto, t.V6 = p[6], true
		l4 = p[40:]
	default:
		return
	}
	if (t.Proto == 6 || t.Proto == 17) && len(l4) >= 4 {
		t.Sport, t.Dport = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	}
}

// Filter selects packets by 5-tuple; zero fields are wildcards. It
// matches a packet in either direction (so the answers of a traced flow
// are traced too) unless OneWay.
type Filter struct {
	Proto        uint8
	Src, Dst     netip.Prefix // invalid (zero): any
	Sport, Dport uint16
	OneWay       bool
}

// ParseFilter parses "key=value" words separated by blanks: proto=
// (tcp, udp, icmp, icmp6 or a number), src= and dst= (an address or
// prefix), sport= and dport= (a port), dir=both|oneway; "*" or an absent
// key is a wildcard, an empty expression matches everything.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	seen := map[string]bool{}
	for _, w := range strings.Fields(s) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || v == "" {
			return f, fmt.Errorf("%w: %q: want key=value (proto, src, dst, sport, dport, dir)", ErrFilter, w)
		}
		if seen[k] {
			return f, fmt.Errorf("%w: %s given twice", ErrFilter, k)
		}
		seen[k] = true
		if v == "*" && k != "dir" {
			continue
		}
		switch k {
		case "proto":
			switch v {
			case "icmp":
				f.Proto = 1
			case "tcp":
				f.Proto = 6
			case "udp":
				f.Proto = 17
			case "icmp6":
				f.Proto = 58
			default:
				n, err := strconv.ParseUint(v, 10, 8)
				if err != nil || n == 0 {
					return f, fmt.Errorf("%w: proto %q: want tcp, udp, icmp, icmp6 or 1..255", ErrFilter, v)
				}
				f.Proto = uint8(n)
			}
		case "src", "dst":
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, aerr := netip.ParseAddr(v)
				if aerr != nil || a.Zone() != "" {
					return f, fmt.Errorf("%w: %s %q: want an address or prefix like 10.0.0.0/8", ErrFilter, k, v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen())).Masked()
			if k == "src" {
				f.Src = p
			} else {
				f.Dst = p
			}
		case "sport", "dport":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return f, fmt.Errorf("%w: %s %q: want 1..65535", ErrFilter, k, v)
			}
			if k == "sport" {
				f.Sport = uint16(n)
			} else {
				f.Dport = uint16(n)
			}
		case "dir":
			switch v {
			case "both":
			case "oneway":
				f.OneWay = true
			default:
				return f, fmt.Errorf("%w: dir %q: want both or oneway", ErrFilter, v)
			}
		default:
			return f, fmt.Errorf("%w: unknown key %q (proto, src, dst, sport, dport, dir)", ErrFilter, k)
		}
	}
	return f, nil
}

// String formats f as ParseFilter reads it.
func (f Filter) String() string {
	var w []string
	if f.Proto != 0 {
		w = append(w, "proto="+protoName(f.Proto))
	}
	if f.Src.IsValid() {
		w = append(w, "src="+f.Src.String())
	}
	if f.Dst.IsValid() {
		w = append(w, "dst="+f.Dst.String())
	}
	if f.Sport != 0 {
		w = append(w, "sport="+strconv.Itoa(int(f.Sport)))
	}
	if f.Dport != 0 {
		w = append(w, "dport="+strconv.Itoa(int(f.Dport)))
	}
	if f.OneWay {
		w = append(w, "dir=oneway")
	}
	return strings.Join(w, " ")
}

// filterMem is Filter as stored in a Control (40 bytes).
type filterMem struct {
	src, dst         [16]byte
	sport, dport     uint16
	srcBits, dstBits uint8 // 0xff: any
	proto            uint8
	flags            uint8 // fV6Src, fV6Dst, fOneWay
}

const (
	fV6Src = 1 << iota
	fV6Dst
	fOneWay
)

func (f Filter) mem() filterMem {
	m := filterMem{sport: f.Sport, dport: f.Dport, proto: f.Proto, srcBits: 0xff, dstBits: 0xff}
	if f.Src.IsValid() {
		m.srcBits = uint8(f.Src.Bits())
		if f.Src.Addr().Is6() {
			m.src, m.flags = f.Src.Addr().As16(), m.flags|fV6Src
		} else {
			a := f.Src.Addr().As4()
			copy(m.src[:], a[:])
		}
	}
	if f.Dst.IsValid() {
		m.dstBits = uint8(f.Dst.Bits())
		if f.Dst.Addr().Is6() {
			m.dst, m.flags = f.Dst.Addr().As16(), m.flags|fV6Dst
		} else {
			a := f.Dst.Addr().As4()
			copy(m.dst[:], a[:])
		}
	}
	if f.OneWay {
		m.flags |= fOneWay
	}
	return m
}

func (m filterMem) filter() Filter {
	f := Filter{Proto: m.proto, Sport: m.sport, Dport: m.dport, OneWay: m.flags&fOneWay != 0}
	pfx := func(b [16]byte, bits uint8, v6 bool) netip.Prefix {
		if bits == 0xff {
			return netip.Prefix{}
		}
		if v6 {
			return netip.PrefixFrom(netip.AddrFrom16(b), int(bits))
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[:4])), int(bits))
	}
	f.Src, f.Dst = pfx(m.src, m.srcBits, m.flags&fV6Src != 0), pfx(m.dst, m.dstBits, m.flags&fV6Dst != 0)
	return f
}

// prefixMatch compares the first bits bits of a and b.
func prefixMatch(a, b *[16]byte, bits uint8) bool {
	n := int(bits)
	for i := 0; n > 0; i++ {
		if n >= 8 {
			if a[i] != b[i] {
				return false
			}
			n -= 8
			continue
		}
		mask := byte(0xff << (8 - n))
		return a[i]&mask == b[i]&mask
	}
	return true
}

func (m *filterMem) side(addr *[16]byte, v6 bool, want *[16]byte, bits uint8, wantV6 bool) bool {
	if bits == 0xff {
		return true
	}
	return v6 == wantV6 && prefixMatch(addr, want, bits)
}

func (m *filterMem) match1(src, dst *[16]byte, sport, dport uint16, t *Tuple) bool {
	return m.side(src, t.V6, &m.src, m.srcBits, m.flags&fV6Src != 0) &&
		m.side(dst, t.V6, &m.dst, m.dstBits, m.flags&fV6Dst != 0) &&
		(m.sport == 0 || m.sport == sport) && (m.dport == 0 || m.dport == dport)
}

// all reports whether the filter matches every packet (no field set).
func (m *filterMem) all() bool {
	return m.proto == 0 && m.srcBits == 0xff && m.dstBits == 0xff && m.sport == 0 && m.dport == 0
}

// match applies the filter to a parsed tuple: a filter with any field set
// needs an IP packet.
func (m *filterMem) match(t *Tuple) bool {
	if m.all() {
		return true
	}
	if t.Proto == 0 || m.proto != 0 && m.proto != t.Proto {
		return false
	}
	if m.match1(&t.Src, &t.Dst, t.Sport, t.Dport, t) {
		return true
	}
	return m.flags&fOneWay == 0 && m.match1(&t.Dst, &t.Src, t.Dport, t.Sport, t)
}
