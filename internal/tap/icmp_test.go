package tap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// A tiny ICMP echo client (the kernel side) and responder (the "vdev"
// side, working on Ethernet frames read from the TAP).

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

// echoReply turns an Ethernet/IPv4/ICMP echo request to ip into the reply
// from mac into out and returns its length, or 0 if frame is not such a
// request.
func echoReply(frame, out []byte, mac net.HardwareAddr, ip netip.Addr) int {
	if len(frame) < 14+20+8 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return 0
	}
	ipb := frame[14:]
	ihl := int(ipb[0]&0x0f) * 4
	if ipb[0]>>4 != 4 || ihl < 20 || len(ipb) < ihl+8 || ipb[9] != 1 {
		return 0
	}
	if netip.AddrFrom4([4]byte(ipb[16:20])) != ip || ipb[ihl] != 8 {
		return 0
	}
	n := copy(out, frame)
	copy(out[0:6], frame[6:12])
	copy(out[6:12], mac)
	o := out[14:n]
	copy(o[12:16], ipb[16:20])
	copy(o[16:20], ipb[12:16])
	o[8] = 64
	o[10], o[11] = 0, 0
	binary.BigEndian.PutUint16(o[10:], csum(o[:ihl]))
	icmp := o[ihl:]
	icmp[0] = 0
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:], csum(icmp))
	return n
}

// ping sends count ICMP echo requests to dst from a raw socket made on the
// calling thread (call it inside inNetns) and waits for each reply.
func ping(dst netip.Addr, count int) error {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return err
	}
	defer c.Close()
	payload := []byte("gomarsio tap test")
	for seq := 1; seq <= count; seq++ {
		msg := make([]byte, 8+len(payload))
		msg[0] = 8
		binary.BigEndian.PutUint16(msg[4:], 0x6d72)
		binary.BigEndian.PutUint16(msg[6:], uint16(seq))
		copy(msg[8:], payload)
		binary.BigEndian.PutUint16(msg[2:], csum(msg))
		if _, err := c.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("send echo %d: %w", seq, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return fmt.Errorf("echo %d: no reply: %w", seq, err)
			}
			r := buf[:n]
			if len(r) < 8 || r[0] != 0 || binary.BigEndian.Uint16(r[6:]) != uint16(seq) {
				continue // our own request looped back, or an old reply
			}
			if from.String() != dst.String() || !bytes.Equal(r[8:], payload) || csum(r) != 0 {
				return fmt.Errorf("echo %d: bad reply from %v: % x", seq, from, r)
			}
			break
		}
	}
	return nil
}
