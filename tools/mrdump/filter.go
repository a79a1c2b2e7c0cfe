package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ErrFilter reports a filter expression that does not parse.
var ErrFilter = errors.New("bad filter")

// filterHelp documents the filter language (shown by -h).
const filterHelp = `Filter expressions (-f) are a small subset of tcpdump's, evaluated on the
outermost headers (Ethernet, up to two VLAN tags, IPv4/IPv6, TCP/UDP/SCTP/ICMP):
  host ADDR          source or destination address is ADDR (IPv4 or IPv6)
  src host ADDR      source address (likewise dst host ADDR)
  net CIDR           source or destination inside CIDR (src net, dst net)
  port N             TCP, UDP or SCTP source or destination port N (src port, dst port)
  portrange N-M      a port in N..M
  tcp | udp | sctp | icmp | icmp6 | ip | ip6 | arp | vlan
  A and B, A or B, not A, ( A )     also &&, ||, !
"and" binds tighter than "or". Examples:
  -f 'udp and port 53'     -f 'host 10.0.0.1 and not tcp'     -f 'vlan and (ip6 or arp)'`

// pkt is what a filter looks at: the outer headers of one frame.
type pkt struct {
	vlan, arp, ip4, ip6   bool
	proto                 layers.IPProtocol // IPv4 protocol / IPv6 next header after extensions
	src, dst              netip.Addr
	ports                 bool
	sport, dport          uint16
	tcp, udp, sctp, icmp4 bool
	icmp6                 bool
}

// decoder decodes frames with gopacket's DecodingLayerParser (no
// allocation per packet).
type decoder struct {
	parser  *gopacket.DecodingLayerParser // from Ethernet
	tagged  *gopacket.DecodingLayerParser // from the first VLAN tag (QinQ 0x88a8 / 0x9100 outer tags)
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6ext  layers.IPv6ExtensionSkipper
	tcp     layers.TCP
	udp     layers.UDP
	sctp    layers.SCTP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	arp     layers.ARP
	decoded []gopacket.LayerType
}

func newDecoder() *decoder {
	d := &decoder{}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &d.eth, &d.dot1q, &d.ip4, &d.ip6,
		&d.ip6ext, &d.tcp, &d.udp, &d.sctp, &d.icmp4, &d.icmp6, &d.arp)
	d.parser.IgnoreUnsupported = true
	d.parser.IgnorePanic = true
	d.tagged = gopacket.NewDecodingLayerParser(layers.LayerTypeDot1Q, &d.dot1q, &d.ip4, &d.ip6,
		&d.ip6ext, &d.tcp, &d.udp, &d.sctp, &d.icmp4, &d.icmp6, &d.arp)
	d.tagged.IgnoreUnsupported = true
	d.tagged.IgnorePanic = true
	return d
}

// decode fills p from frame; a frame that stops decoding half-way keeps
// what was decoded before the error (like tcpdump on a truncated packet).
func (d *decoder) decode(frame []byte, p *pkt) {
	*p = pkt{}
	d.decoded = d.decoded[:0]
	if len(frame) >= 18 && (frame[12] == 0x91 && frame[13] == 0x00 || frame[12] == 0x88 && frame[13] == 0xa8) {
		// gopacket knows 0x8100 tags, not the QinQ outer ones: start at the tag.
		p.vlan = true
		_ = d.tagged.DecodeLayers(frame[14:], &d.decoded)
	} else {
		_ = d.parser.DecodeLayers(frame, &d.decoded)
	}
layers:
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeDot1Q:
			p.vlan = true
		case layers.LayerTypeARP:
			p.arp = true
		case layers.LayerTypeIPv4:
			if p.ip4 || p.ip6 {
				continue // outer only
			}
			p.ip4, p.proto = true, d.ip4.Protocol
			p.src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			p.dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
		case layers.LayerTypeIPv6:
			if p.ip4 || p.ip6 {
				continue
			}
			p.ip6, p.proto = true, d.ip6.NextHeader
			p.src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			p.dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
		case layers.LayerTypeTCP:
			p.tcp, p.ports, p.sport, p.dport = true, true, uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
		case layers.LayerTypeUDP:
			p.udp, p.ports, p.sport, p.dport = true, true, uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
		case layers.LayerTypeSCTP:
			p.sctp, p.ports, p.sport, p.dport = true, true, uint16(d.sctp.SrcPort), uint16(d.sctp.DstPort)
		case layers.LayerTypeICMPv4:
			p.icmp4 = true
		case layers.LayerTypeICMPv6:
			p.icmp6 = true
		}
		if p.ports || p.icmp4 || p.icmp6 {
			break layers // the outer transport header; what follows is payload
		}
	}
}

// filter is a compiled expression; nil matches everything.
type filter func(*pkt) bool

// parseFilter compiles a filter expression ("" matches everything).
func parseFilter(s string) (filter, error) {
	toks := tokenize(s)
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{toks: toks}
	f, err := p.expr()
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrFilter, s, err)
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("%w %q: unexpected %q", ErrFilter, s, p.toks[p.pos])
	}
	return f, nil
}

func tokenize(s string) []string {
	s = strings.NewReplacer("(", " ( ", ")", " ) ", "&&", " and ", "||", " or ", "!", " not ").Replace(s)
	return strings.Fields(s)
}

type parser struct {
	toks []string
	pos  int
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return strings.ToLower(p.toks[p.pos])
	}
	return ""
}

func (p *parser) next() (string, error) {
	if p.pos >= len(p.toks) {
		return "", errors.New("unexpected end")
	}
	p.pos++
	return p.toks[p.pos-1], nil
}

func (p *parser) expr() (filter, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.peek() == "or" {
		p.pos++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		a := l
		l = func(k *pkt) bool { return a(k) || r(k) }
	}
	return l, nil
}

func (p *parser) term() (filter, error) {
	l, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.peek() == "and" {
		p.pos++
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		a := l
		l = func(k *pkt) bool { return a(k) && r(k) }
	}
	return l, nil
}

func (p *parser) factor() (filter, error) {
	switch p.peek() {
	case "not":
		p.pos++
		f, err := p.factor()
		if err != nil {
			return nil, err
		}
		return func(k *pkt) bool { return !f(k) }, nil
	case "(":
		p.pos++
		f, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errors.New("missing )")
		}
		p.pos++
		return f, nil
	}
	return p.prim()
}

// dir is the src/dst qualifier of host, net and port.
type dir int

const (
	either dir = iota
	srcDir
	dstDir
)

func (p *parser) prim() (filter, error) {
	w, err := p.next()
	if err != nil {
		return nil, err
	}
	w = strings.ToLower(w)
	d := either
	switch w {
	case "src", "dst":
		if w == "src" {
			d = srcDir
		} else {
			d = dstDir
		}
		if w, err = p.next(); err != nil {
			return nil, err
		}
		w = strings.ToLower(w)
		if w != "host" && w != "net" && w != "port" && w != "portrange" {
			return nil, fmt.Errorf("%q after src/dst: want host, net, port or portrange", w)
		}
	}
	switch w {
	case "tcp":
		return func(k *pkt) bool { return k.tcp }, nil
	case "udp":
		return func(k *pkt) bool { return k.udp }, nil
	case "sctp":
		return func(k *pkt) bool { return k.sctp }, nil
	case "icmp":
		return func(k *pkt) bool { return k.icmp4 }, nil
	case "icmp6":
		return func(k *pkt) bool { return k.icmp6 }, nil
	case "ip":
		return func(k *pkt) bool { return k.ip4 }, nil
	case "ip6":
		return func(k *pkt) bool { return k.ip6 }, nil
	case "arp":
		return func(k *pkt) bool { return k.arp }, nil
	case "vlan":
		return func(k *pkt) bool { return k.vlan }, nil
	case "host":
		a, err := p.next()
		if err != nil {
			return nil, err
		}
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, err
		}
		addr = addr.Unmap()
		return addrMatch(d, func(x netip.Addr) bool { return x == addr }), nil
	case "net":
		a, err := p.next()
		if err != nil {
			return nil, err
		}
		pfx, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, err
		}
		pfx = pfx.Masked()
		return addrMatch(d, pfx.Contains), nil
	case "port", "portrange":
		a, err := p.next()
		if err != nil {
			return nil, err
		}
		lo, hi, err := portRange(a, w == "portrange")
		if err != nil {
			return nil, err
		}
		in := func(x uint16) bool { return x >= lo && x <= hi }
		return func(k *pkt) bool {
			if !k.ports {
				return false
			}
			switch d {
			case srcDir:
				return in(k.sport)
			case dstDir:
				return in(k.dport)
			}
			return in(k.sport) || in(k.dport)
		}, nil
	case "":
		return nil, errors.New("unexpected end")
	}
	return nil, fmt.Errorf("unknown word %q", w)
}

func addrMatch(d dir, m func(netip.Addr) bool) filter {
	return func(k *pkt) bool {
		if !k.ip4 && !k.ip6 {
			return false
		}
		switch d {
		case srcDir:
			return m(k.src)
		case dstDir:
			return m(k.dst)
		}
		return m(k.src) || m(k.dst)
	}
}

func portRange(s string, isRange bool) (lo, hi uint16, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok != isRange {
		return 0, 0, fmt.Errorf("port %q: want N for port, N-M for portrange", s)
	}
	x, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("port %q: %w", s, err)
	}
	y := x
	if ok {
		if y, err = strconv.ParseUint(b, 10, 16); err != nil {
			return 0, 0, fmt.Errorf("port %q: %w", s, err)
		}
	}
	if y < x {
		return 0, 0, fmt.Errorf("port range %q is empty", s)
	}
	return uint16(x), uint16(y), nil
}
