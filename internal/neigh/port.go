package neigh

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// Ethernet and ARP constants.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd

	ethHdrLen = 14
	arpLen    = 28
	// MinFrameLen is the shortest Ethernet frame without FCS; replies and
	// requests are zero-padded to it.
	MinFrameLen = 60
)

// PortStats are a Port's counters (the table has its own, Table.Stats).
type PortStats struct {
	ARPIn           uint64 // ARP frames consumed
	ARPReplies      uint64 // replies built for requests to our addresses
	ARPRequests     uint64 // requests built by Output/Request
	ARPTruncated    uint64 // ARP frames too short to parse
	ARPMalformed    uint64 // wrong hardware/protocol type or length, op, or sender MAC
	ARPSpoofed      uint64 // frames claiming one of our addresses from another MAC
	NDIn            uint64 // neighbour solicitations/advertisements consumed
	NDAdverts       uint64 // advertisements built for solicitations of our addresses
	NDSolicits      uint64 // solicitations built by Output/Request
	NDMalformed     uint64 // bad hop limit, checksum, length or options
	NDSpoofed       uint64 // solicitations/advertisements claiming our addresses
	Looped          uint64 // our own ARP/ND frames seen again
	LearnFailed     uint64 // learning refused (table full, static conflict)
	Unresolved      uint64 // Output calls whose packet the caller must drop
	ShortBuffer     uint64 // reply/request buffers too short
	NoSourceIP      uint64 // requests not sent: no address of our family
	RequestsLimited uint64 // unresolved sends within ARPInterval of the last request
}

// Port is one vdev as the neighbour code sees it: its MAC, its addresses
// and its table. Input, PrepareFrame and Output are safe for concurrent use
// (one Port serves all of a vdev's threads).
type Port struct {
	devsym  string
	mac     MAC
	v4, v6  []netip.Prefix
	table   *Table
	log     *slog.Logger
	lastLog [logKinds]atomic.Int64

	arpIn, arpReplies, arpRequests, arpTruncated, arpMalformed, arpSpoofed, looped atomic.Uint64
	ndIn, ndAdverts, ndSolicits, ndMalformed, ndSpoofed                            atomic.Uint64
	learnFailed, unresolved, shortBuffer, noSource, limited                        atomic.Uint64
}

// NewPort binds table to the vdev devsym with Ethernet address mac and
// addresses addrs (IPv4 and IPv6; the ones we answer for and send from).
// log receives rate-limited reports of bad or spoofed frames; nil means
// slog.Default().
func NewPort(devsym string, mac MAC, addrs []netip.Prefix, table *Table, log *slog.Logger) (*Port, error) {
	if !mac.IsUnicast() {
		return nil, fmt.Errorf("%w: port %s: MAC %v is not unicast", ErrBadConfig, devsym, mac)
	}
	if table == nil {
		return nil, fmt.Errorf("%w: port %s: nil table", ErrBadConfig, devsym)
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Port{devsym: devsym, mac: mac, table: table, log: log}
	for _, a := range addrs {
		if !a.IsValid() || a.Addr().Zone() != "" || a.Addr().IsUnspecified() || a.Addr().IsMulticast() {
			return nil, fmt.Errorf("%w: port %s: address %v", ErrBadConfig, devsym, a)
		}
		a = netip.PrefixFrom(a.Addr().Unmap(), a.Bits())
		if a.Addr().Is4() {
			p.v4 = append(p.v4, a)
		} else {
			p.v6 = append(p.v6, a)
		}
	}
	return p, nil
}

// Table returns the port's table.
func (p *Port) Table() *Table { return p.table }

// MAC returns the port's Ethernet address.
func (p *Port) MAC() MAC { return p.mac }

// Stats returns the port's counters.
func (p *Port) Stats() PortStats {
	return PortStats{
		ARPIn: p.arpIn.Load(), ARPReplies: p.arpReplies.Load(), ARPRequests: p.arpRequests.Load(),
		ARPTruncated: p.arpTruncated.Load(), ARPMalformed: p.arpMalformed.Load(),
		ARPSpoofed: p.arpSpoofed.Load(), Looped: p.looped.Load(),
		NDIn: p.ndIn.Load(), NDAdverts: p.ndAdverts.Load(), NDSolicits: p.ndSolicits.Load(),
		NDMalformed: p.ndMalformed.Load(), NDSpoofed: p.ndSpoofed.Load(),
		LearnFailed: p.learnFailed.Load(), Unresolved: p.unresolved.Load(),
		ShortBuffer: p.shortBuffer.Load(), NoSourceIP: p.noSource.Load(), RequestsLimited: p.limited.Load(),
	}
}

// ours reports whether ip is one of the port's addresses.
func (p *Port) ours(ip netip.Addr) bool {
	list := p.v6
	if ip.Is4() {
		list = p.v4
	}
	for _, a := range list {
		if a.Addr() == ip {
			return true
		}
	}
	return false
}

// source picks our address to send from towards dst: one whose prefix
// contains dst, else the first of dst's family.
func (p *Port) source(dst netip.Addr) (netip.Addr, bool) {
	list := p.v6
	if dst.Is4() {
		list = p.v4
	}
	for _, a := range list {
		if a.Contains(dst) {
			return a.Addr(), true
		}
	}
	if dst.Is6() && dst.IsLinkLocalUnicast() {
		for _, a := range list {
			if a.Addr().IsLinkLocalUnicast() {
				return a.Addr(), true
			}
		}
	}
	if len(list) > 0 {
		return list[0].Addr(), true
	}
	return netip.Addr{}, false
}

// log kinds, each rate-limited to one message per second.
const (
	logTruncated = iota
	logMalformed
	logSpoofed
	logLearn
	logKinds
)

func (p *Port) logf(kind int, msg string, args ...any) {
	now := time.Now().UnixNano()
	last := p.lastLog[kind].Load()
	if now-last < int64(time.Second) || !p.lastLog[kind].CompareAndSwap(last, now) {
		return
	}
	p.log.Warn(msg, append([]any{"dev", p.devsym}, args...)...)
}

// Verdict is what InputVerdict made of a received frame.
type Verdict uint8

const (
	// NotNeighbour: neither ARP nor an IPv6 neighbour solicitation or
	// advertisement; the frame is the application's.
	NotNeighbour Verdict = iota
	// Handled: a well-formed ARP or ND frame from another host, learned
	// from and answered as the rules say (a refused learning, such as a
	// full table, is counted but the frame stays Handled). A
	// representor may show it to the kernel.
	Handled
	// Ignored: ARP or ND that is truncated, malformed, spoofed (claims
	// one of our addresses from another MAC) or our own seen again:
	// counted, logged (rate-limited) and to be dropped, not shown to a
	// representor's kernel.
	Ignored
)

// Input looks at one received frame. consumed is true for ARP frames and
// IPv6 neighbour solicitations/advertisements: the library handles them
// (learning, answering; bad ones are counted, logged and dropped) and the
// application does not see them. When n > 0, reply[:n] holds a frame to
// send back out of the vdev (an ARP reply or neighbour advertisement).
// Everything else is not consumed and n is 0. reply should hold at least
// MinFrameLen bytes (ND replies need 86); frame and reply must not overlap.
func (p *Port) Input(frame, reply []byte) (consumed bool, n int) {
	v, n := p.InputVerdict(frame, reply)
	return v != NotNeighbour, n
}

// InputVerdict is Input that also says whether a consumed frame was
// Handled (well-formed) or Ignored (bad or spoofed), so that only the
// former is passed on to a representor's kernel.
func (p *Port) InputVerdict(frame, reply []byte) (v Verdict, n int) {
	if len(frame) < ethHdrLen {
		return NotNeighbour, 0
	}
	switch binary.BigEndian.Uint16(frame[12:]) {
	case EtherTypeARP:
		return p.inputARP(frame, reply)
	case EtherTypeIPv6:
		return p.inputND(frame, reply)
	}
	return NotNeighbour, 0
}

// inputARP handles one ARP frame (RFC 826, with the usual Linux choices:
// learn from requests for us, from replies and from gratuitous ARP; only
// refresh existing entries from other requests).
func (p *Port) inputARP(frame, reply []byte) (Verdict, int) {
	p.arpIn.Add(1)
	if len(frame) < ethHdrLen+arpLen {
		p.arpTruncated.Add(1)
		p.logf(logTruncated, "neigh: truncated ARP frame ignored", "len", len(frame))
		return Ignored, 0
	}
	a := frame[ethHdrLen:]
	op := binary.BigEndian.Uint16(a[6:])
	if binary.BigEndian.Uint16(a[0:]) != 1 || binary.BigEndian.Uint16(a[2:]) != EtherTypeIPv4 ||
		a[4] != 6 || a[5] != 4 || (op != 1 && op != 2) {
		p.arpMalformed.Add(1)
		p.logf(logMalformed, "neigh: malformed ARP ignored", "htype", binary.BigEndian.Uint16(a[0:]),
			"ptype", binary.BigEndian.Uint16(a[2:]), "hlen", a[4], "plen", a[5], "op", op)
		return Ignored, 0
	}
	sha := MAC(a[8:14])
	spa := netip.AddrFrom4([4]byte(a[14:18]))
	tpa := netip.AddrFrom4([4]byte(a[24:28]))
	if sha == p.mac {
		p.looped.Add(1)
		return Ignored, 0
	}
	if !sha.IsUnicast() {
		p.arpMalformed.Add(1)
		p.logf(logMalformed, "neigh: ARP with non-unicast sender MAC ignored", "sha", sha.String(), "spa", spa.String())
		return Ignored, 0
	}
	if p.ours(spa) {
		p.arpSpoofed.Add(1)
		p.logf(logSpoofed, "neigh: ARP claiming our address from another MAC ignored",
			"ip", spa.String(), "claimed_by", sha.String(), "ours", p.mac.String())
		return Ignored, 0
	}
	forUs := op == 1 && p.ours(tpa)
	if !spa.IsUnspecified() { // 0.0.0.0 is an address probe (RFC 5227): nothing to learn
		var err error
		if op == 2 || forUs || spa == tpa {
			_, err = p.table.Learn(spa, sha)
		} else {
			_, err = p.table.Update(spa, sha)
		}
		if err != nil {
			p.learnFailed.Add(1)
			p.logf(logLearn, "neigh: not learned", "ip", spa.String(), "mac", sha.String(), "err", err)
		}
	}
	if !forUs {
		return Handled, 0
	}
	n, err := buildARP(reply, sha, p.mac, 2, p.mac, tpa, sha, spa)
	if err != nil {
		p.shortBuffer.Add(1)
		return Handled, 0
	}
	p.arpReplies.Add(1)
	return Handled, n
}

// buildARP writes an Ethernet+ARP frame, zero-padded to MinFrameLen.
func buildARP(out []byte, dst, src MAC, op uint16, sha MAC, spa netip.Addr, tha MAC, tpa netip.Addr) (int, error) {
	if len(out) < MinFrameLen {
		return 0, fmt.Errorf("%w: %d < %d", ErrShortBuffer, len(out), MinFrameLen)
	}
	copy(out[0:6], dst[:])
	copy(out[6:12], src[:])
	binary.BigEndian.PutUint16(out[12:], EtherTypeARP)
	a := out[ethHdrLen:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], EtherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
	copy(a[8:14], sha[:])
	s4, t4 := spa.As4(), tpa.As4()
	copy(a[14:18], s4[:])
	copy(a[18:24], tha[:])
	copy(a[24:28], t4[:])
	clear(out[ethHdrLen+arpLen : MinFrameLen])
	return MinFrameLen, nil
}

// Request writes a neighbour request for target into out: an ARP request
// (broadcast) for IPv4, a neighbour solicitation (solicited-node
// multicast) for IPv6. It is not rate-limited; Output is.
func (p *Port) Request(out []byte, target netip.Addr) (int, error) {
	target = target.Unmap()
	src, ok := p.source(target)
	if !ok {
		p.noSource.Add(1)
		return 0, fmt.Errorf("%w: port %s has no address to ask for %v from", ErrBadConfig, p.devsym, target)
	}
	var n int
	var err error
	if target.Is4() {
		n, err = buildARP(out, Broadcast, p.mac, 1, p.mac, src, MAC{}, target)
		if err == nil {
			p.arpRequests.Add(1)
		}
	} else {
		n, err = p.buildNS(out, src, target)
		if err == nil {
			p.ndSolicits.Add(1)
		}
	}
	if err != nil {
		p.shortBuffer.Add(1)
	}
	return n, err
}

// Gratuitous writes an announcement of our address ip into out: a
// gratuitous ARP request (sender = target = ip, broadcast) for IPv4, an
// unsolicited neighbour advertisement to all nodes for IPv6. Send
// Config.GratuitousARPs of them for each address when the device opens.
func (p *Port) Gratuitous(out []byte, ip netip.Addr) (int, error) {
	ip = ip.Unmap()
	if !p.ours(ip) {
		return 0, fmt.Errorf("%w: %v is not an address of %s", ErrBadConfig, ip, p.devsym)
	}
	if ip.Is4() {
		return buildARP(out, Broadcast, p.mac, 1, p.mac, ip, MAC{}, ip)
	}
	return p.buildNA(out, allNodes, allNodesMAC, ip, false)
}

// Addrs returns the port's addresses.
func (p *Port) Addrs() []netip.Prefix {
	return append(append([]netip.Prefix(nil), p.v4...), p.v6...)
}

// PrepareFrame fills the Ethernet header of frame for next hop nexthop:
// frame[0:14] is the header room (the caller prepended 14 bytes of
// headroom in front of the IP packet, which starts at frame[14]). It
// writes destination MAC (from the table), source MAC and EtherType (from
// the IP version nibble) and reports whether the next hop was resolved;
// if not, frame is untouched. Lock-free and allocation-free.
func (p *Port) PrepareFrame(frame []byte, nexthop netip.Addr) bool {
	if len(frame) <= ethHdrLen {
		return false
	}
	mac, ok := p.table.Resolve(nexthop)
	if !ok {
		return false
	}
	copy(frame[0:6], mac[:])
	copy(frame[6:12], p.mac[:])
	et := uint16(EtherTypeIPv4)
	if frame[ethHdrLen]>>4 == 6 {
		et = EtherTypeIPv6
	}
	binary.BigEndian.PutUint16(frame[12:], et)
	return true
}

// Output is the send helper: PrepareFrame, and when the next hop is not
// resolved, the unresolved policy. The packet is then NOT held: the caller
// drops it (counted in Unresolved), and when a request for the next hop is
// due (none within Config.ARPInterval) Output writes it into req and
// returns its length for the caller to send instead. Lock-free and
// allocation-free while resolved; a new next hop takes the table's writer
// lock with TryLock only.
func (p *Port) Output(frame []byte, nexthop netip.Addr, req []byte) (resolved bool, reqLen int) {
	if p.PrepareFrame(frame, nexthop) {
		return true, 0 // not counted: a shared counter would cost every send
	}
	p.unresolved.Add(1)
	if !p.table.requestDue(nexthop.Unmap()) {
		p.limited.Add(1)
		return false, 0
	}
	n, err := p.Request(req, nexthop)
	if err != nil {
		return false, 0
	}
	return false, n
}
