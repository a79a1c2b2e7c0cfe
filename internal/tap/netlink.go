package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A minimal rtnetlink client: just what the representor needs (set link
// attributes and flags, add addresses, dump and delete links). Every socket
// is opened on the calling thread, so it works in the network namespace of
// that thread (tests rely on this).

// nlConn is one NETLINK_ROUTE socket. Not safe for concurrent use.
type nlConn struct {
	fd  int
	seq uint32
	buf []byte
}

func dialNetlink() (*nlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	// Ask for extended acks: the kernel then explains EINVAL and friends.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	return &nlConn{fd: fd, seq: 1, buf: make([]byte, 64<<10)}, nil
}

func (c *nlConn) close() { unix.Close(c.fd) }

// nlMsg builds one netlink message: header, fixed body, attributes.
type nlMsg struct{ b []byte }

func newMsg(typ, flags uint16, body []byte) *nlMsg {
	m := &nlMsg{b: make([]byte, unix.SizeofNlMsghdr, 256)}
	binary.NativeEndian.PutUint16(m.b[4:], typ)
	binary.NativeEndian.PutUint16(m.b[6:], flags)
	m.b = append(m.b, body...)
	m.align()
	return m
}

func (m *nlMsg) align() {
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *nlMsg) attr(typ uint16, data []byte) {
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(unix.SizeofRtAttr+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.b = append(m.b, data...)
	m.align()
}

func (m *nlMsg) attrU32(typ uint16, v uint32) {
	var d [4]byte
	binary.NativeEndian.PutUint32(d[:], v)
	m.attr(typ, d[:])
}

func ifInfomsg(family uint8, index int32, flags, change uint32) []byte {
	var ifi unix.IfInfomsg
	ifi.Family = family
	ifi.Index = index
	ifi.Flags = flags
	ifi.Change = change
	return (*[unix.SizeofIfInfomsg]byte)(unsafe.Pointer(&ifi))[:]
}

// send writes m with a fresh sequence number and returns that number.
func (c *nlConn) send(m *nlMsg) (uint32, error) {
	c.seq++
	binary.NativeEndian.PutUint32(m.b[0:], uint32(len(m.b)))
	binary.NativeEndian.PutUint32(m.b[8:], c.seq)
	if err := unix.Sendto(c.fd, m.b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("netlink send: %w", err)
	}
	return c.seq, nil
}

// receive reads replies to seq and calls fn for every data message until
// the ack (NLMSG_ERROR with code 0) or NLMSG_DONE; a negative code is
// returned as the errno, with the kernel's extended-ack text if any.
func (c *nlConn) receive(seq uint32, fn func(typ uint16, body []byte)) error {
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		b := c.buf[:n]
		for len(b) >= unix.SizeofNlMsghdr {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			typ := binary.NativeEndian.Uint16(b[4:])
			s := binary.NativeEndian.Uint32(b[8:])
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return errors.New("netlink: malformed reply")
			}
			body := b[unix.SizeofNlMsghdr:l]
			if a := (l + 3) &^ 3; a < len(b) {
				b = b[a:]
			} else {
				b = nil
			}
			if s != seq {
				continue // a late reply to an earlier request
			}
			switch typ {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(body) < 4 {
					return errors.New("netlink: short error message")
				}
				code := int32(binary.NativeEndian.Uint32(body))
				if code == 0 {
					return nil
				}
				errno := unix.Errno(-code)
				if msg := extAckMsg(body); msg != "" {
					return fmt.Errorf("%s: %w", msg, errno)
				}
				return errno
			default:
				if fn != nil {
					fn(typ, body)
				}
			}
		}
	}
}

// extAckMsg returns NLMSGERR_ATTR_MSG of an error message, if present.
func extAckMsg(body []byte) string {
	// body: int32 error, then the original request header (and its body
	// unless NLM_F_CAPPED), then TLVs when NLM_F_ACK_TLVS is set. We set no
	// flags to cap, so skip the echoed request by its own length.
	if len(body) < 4+unix.SizeofNlMsghdr {
		return ""
	}
	orig := body[4:]
	l := int(binary.NativeEndian.Uint32(orig))
	if l > len(orig) || l < unix.SizeofNlMsghdr {
		l = unix.SizeofNlMsghdr // capped
	}
	for _, a := range parseAttrs(orig[(l+3)&^3:]) {
		if a.typ == unix.NLMSGERR_ATTR_MSG {
			return string(trimNul(a.data))
		}
	}
	return ""
}

// do sends m with NLM_F_ACK and waits for the acknowledgement.
func (c *nlConn) do(m *nlMsg) error {
	seq, err := c.send(m)
	if err != nil {
		return err
	}
	return c.receive(seq, nil)
}

type rtAttr struct {
	typ  uint16
	data []byte
}

func parseAttrs(b []byte) []rtAttr {
	var out []rtAttr
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		t := binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
		if l < unix.SizeofRtAttr || l > len(b) {
			break
		}
		out = append(out, rtAttr{typ: t, data: b[unix.SizeofRtAttr:l]})
		a := (l + 3) &^ 3
		if a >= len(b) {
			break
		}
		b = b[a:]
	}
	return out
}

func trimNul(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// setLink applies MAC, MTU, alias and the up flag to ifindex in one
// RTM_NEWLINK (the kernel applies address and MTU before the flags).
func (c *nlConn) setLink(index int32, mac []byte, mtu int, alias string, up bool) error {
	var flags, change uint32
	if up {
		flags, change = unix.IFF_UP, unix.IFF_UP
	}
	m := newMsg(unix.RTM_NEWLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK, ifInfomsg(unix.AF_UNSPEC, index, flags, change))
	if len(mac) != 0 {
		m.attr(unix.IFLA_ADDRESS, mac)
	}
	if mtu != 0 {
		m.attrU32(unix.IFLA_MTU, uint32(mtu))
	}
	if alias != "" {
		m.attr(unix.IFLA_IFALIAS, []byte(alias))
	}
	return c.do(m)
}

// addAddr adds p to ifindex (RTM_NEWADDR). IPv6 addresses skip duplicate
// address detection so they are usable at once.
func (c *nlConn) addAddr(index int32, p netip.Prefix) error {
	var ifa unix.IfAddrmsg
	ifa.Prefixlen = uint8(p.Bits())
	ifa.Index = uint32(index)
	ifa.Scope = unix.RT_SCOPE_UNIVERSE
	a := p.Addr()
	ifa.Family = unix.AF_INET6
	if a.Is4() {
		ifa.Family = unix.AF_INET
	} else {
		ifa.Flags = unix.IFA_F_NODAD
	}
	body := (*[unix.SizeofIfAddrmsg]byte)(unsafe.Pointer(&ifa))[:]
	m := newMsg(unix.RTM_NEWADDR, unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	raw := a.AsSlice()
	m.attr(unix.IFA_LOCAL, raw)
	m.attr(unix.IFA_ADDRESS, raw)
	if a.Is4() && p.Bits() < 31 {
		bc := a.As4()
		host := uint32(1)<<(32-p.Bits()) - 1
		v := binary.BigEndian.Uint32(bc[:]) | host
		binary.BigEndian.PutUint32(bc[:], v)
		m.attr(unix.IFA_BROADCAST, bc[:])
	}
	if !a.Is4() {
		m.attrU32(unix.IFA_FLAGS, unix.IFA_F_NODAD)
	}
	return c.do(m)
}

// delLink removes ifindex (RTM_DELLINK).
func (c *nlConn) delLink(index int32) error {
	return c.do(newMsg(unix.RTM_DELLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK, ifInfomsg(unix.AF_UNSPEC, index, 0, 0)))
}

// linkInfo is what a link dump reports that we use.
type linkInfo struct {
	index int32
	name  string
	alias string
	mac   []byte
	mtu   int
	flags uint32
}

// links dumps every link of the namespace (RTM_GETLINK, NLM_F_DUMP).
func (c *nlConn) links() ([]linkInfo, error) {
	m := newMsg(unix.RTM_GETLINK, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, ifInfomsg(unix.AF_UNSPEC, 0, 0, 0))
	seq, err := c.send(m)
	if err != nil {
		return nil, err
	}
	var out []linkInfo
	err = c.receive(seq, func(typ uint16, body []byte) {
		if typ != unix.RTM_NEWLINK || len(body) < unix.SizeofIfInfomsg {
			return
		}
		li := linkInfo{
			index: int32(binary.NativeEndian.Uint32(body[4:])),
			flags: binary.NativeEndian.Uint32(body[8:]),
		}
		for _, a := range parseAttrs(body[unix.SizeofIfInfomsg:]) {
			switch a.typ {
			case unix.IFLA_IFNAME:
				li.name = string(trimNul(a.data))
			case unix.IFLA_IFALIAS:
				li.alias = string(trimNul(a.data))
			case unix.IFLA_ADDRESS:
				li.mac = append([]byte(nil), a.data...)
			case unix.IFLA_MTU:
				if len(a.data) >= 4 {
					li.mtu = int(binary.NativeEndian.Uint32(a.data))
				}
			}
		}
		out = append(out, li)
	})
	return out, err
}

// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from a type.
const nlaTypeMask = 0x3fff
