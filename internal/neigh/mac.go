package neigh

import (
	"fmt"
	"net"
)

// MAC is an Ethernet address. A value type, so lookups return it without
// allocating (net.HardwareAddr is a slice).
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String formats m as aa:bb:cc:dd:ee:ff.
func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// IsUnicast reports whether m is a usable station address: not zero, not
// multicast, not broadcast.
func (m MAC) IsUnicast() bool { return m[0]&1 == 0 && m != MAC{} }

// HardwareAddr returns m as a net.HardwareAddr (allocates).
func (m MAC) HardwareAddr() net.HardwareAddr { return append(net.HardwareAddr(nil), m[:]...) }

// MACFrom converts a 6-byte net.HardwareAddr.
func MACFrom(h net.HardwareAddr) (MAC, error) {
	if len(h) != 6 {
		return MAC{}, fmt.Errorf("%w: %v is not a 6-byte Ethernet address", ErrBadAddress, h)
	}
	return MAC(h), nil
}

// ParseMAC parses aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff (two hex digits
// per octet, one separator throughout).
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("%w: MAC %q: want 6 octets like 02:00:5e:00:00:01", ErrBadAddress, s)
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return m, fmt.Errorf("%w: MAC %q: separator must be ':' or '-'", ErrBadAddress, s)
	}
	for i := range 6 {
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 || (i < 5 && s[3*i+2] != sep) {
			return m, fmt.Errorf("%w: MAC %q: want 6 octets like 02:00:5e:00:00:01", ErrBadAddress, s)
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func macWord(m MAC) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

func wordMAC(w uint64) MAC {
	return MAC{byte(w >> 40), byte(w >> 32), byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)}
}
