package tap

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/gomarsio/marsio/internal/testenv"
)

// A tiny ICMP echo client (the kernel side) and responder (the "vdev"
// side, working on Ethernet frames read from the TAP).

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
	binary.BigEndian.PutUint16(o[10:], testenv.Checksum(o[:ihl]))
	icmp := o[ihl:]
	icmp[0] = 0
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:], testenv.Checksum(icmp))
	return n
}
