package testenv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Checksum is the Internet checksum (RFC 1071) of b: IPv4 headers, ICMP,
// and TCP/UDP over a pseudo-header the caller builds. A buffer that
// carries a correct checksum sums to 0.
func Checksum(b []byte) uint16 {
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

// Ping sends count ICMP echo requests (id 0x6d72, sequence 1..count) to the
// IPv4 address dst from a raw socket made on the calling thread (call it
// inside InNetns to ping from a namespace) and waits up to 5 s for each
// reply, which must come from dst, echo the payload and check-sum to 0.
func Ping(dst netip.Addr, count int) error {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return err
	}
	defer c.Close()
	payload := []byte("gomarsio test ping")
	buf := make([]byte, 1500)
	for seq := 1; seq <= count; seq++ {
		msg := make([]byte, 8+len(payload))
		msg[0] = 8
		binary.BigEndian.PutUint16(msg[4:], 0x6d72)
		binary.BigEndian.PutUint16(msg[6:], uint16(seq))
		copy(msg[8:], payload)
		binary.BigEndian.PutUint16(msg[2:], Checksum(msg))
		if _, err := c.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("send echo %d: %w", seq, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return fmt.Errorf("echo %d: no reply: %w", seq, err)
			}
			r := buf[:n]
			if len(r) < 8 || r[0] != 0 || binary.BigEndian.Uint16(r[6:]) != uint16(seq) {
				continue // our own request looped back, or an old reply
			}
			if from.String() != dst.String() || !bytes.Equal(r[8:], payload) || Checksum(r) != 0 {
				return fmt.Errorf("echo %d: bad reply from %v: % x", seq, from, r)
			}
			break
		}
	}
	return nil
}
