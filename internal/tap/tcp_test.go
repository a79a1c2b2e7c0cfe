package tap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/testenv"
)

// tcpEcho is a tiny user-space TCP echo server for one connection at a
// time, working on Ethernet frames: enough of RFC 793 for Go's net to
// connect, write, read the echo and close.
type tcpEcho struct {
	mac  net.HardwareAddr
	ip   netip.Addr
	port uint16

	mu      sync.Mutex
	nxt     uint32 // our next sequence number
	rcvNxt  uint32
	handled int
}

const (
	tcpFIN = 1 << iota
	tcpSYN
	tcpRST
	tcpPSH
	tcpACK
)

// input handles one frame; a reply frame is written to out (length
// returned, 0 for none).
func (e *tcpEcho) input(frame, out []byte) int {
	if len(frame) < 14+20+20 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return 0
	}
	ip := frame[14:]
	ihl := int(ip[0]&15) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[9] != 6 || ihl < 20 || total > len(ip) || total < ihl+20 || netip.AddrFrom4([4]byte(ip[16:20])) != e.ip {
		return 0
	}
	tcp := ip[ihl:total]
	if binary.BigEndian.Uint16(tcp[2:]) != e.port {
		return 0
	}
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return 0
	}
	seq := binary.BigEndian.Uint32(tcp[4:])
	flags := tcp[13]
	data := tcp[off:]
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handled++
	var rflags byte
	var payload []byte
	switch {
	case flags&tcpRST != 0:
		return 0
	case flags&tcpSYN != 0:
		e.nxt = 0x6d720000
		e.rcvNxt = seq + 1
		rflags = tcpSYN | tcpACK
	case len(data) > 0:
		e.rcvNxt = seq + uint32(len(data))
		rflags = tcpPSH | tcpACK
		payload = data
		if flags&tcpFIN != 0 {
			e.rcvNxt++
			rflags |= tcpFIN
		}
	case flags&tcpFIN != 0:
		e.rcvNxt = seq + 1
		rflags = tcpFIN | tcpACK
	default:
		return 0 // a pure ACK
	}
	n := 14 + 20 + 20 + len(payload)
	clear(out[:n])
	copy(out[0:6], frame[6:12])
	copy(out[6:12], e.mac)
	binary.BigEndian.PutUint16(out[12:], 0x0800)
	o := out[14:n]
	o[0] = 0x45
	binary.BigEndian.PutUint16(o[2:], uint16(n-14))
	binary.BigEndian.PutUint16(o[6:], 0x4000)
	o[8], o[9] = 64, 6
	copy(o[12:16], ip[16:20])
	copy(o[16:20], ip[12:16])
	binary.BigEndian.PutUint16(o[10:], testenv.Checksum(o[:20]))
	t := o[20:]
	binary.BigEndian.PutUint16(t[0:], e.port)
	copy(t[2:4], tcp[0:2])
	binary.BigEndian.PutUint32(t[4:], e.nxt)
	binary.BigEndian.PutUint32(t[8:], e.rcvNxt)
	t[12], t[13] = 5<<4, rflags
	binary.BigEndian.PutUint16(t[14:], 65535)
	copy(t[20:], payload)
	// Checksum over the pseudo header and the segment.
	ph := make([]byte, 12+len(t))
	copy(ph[0:8], o[12:20])
	ph[9] = 6
	binary.BigEndian.PutUint16(ph[10:], uint16(len(t)))
	copy(ph[12:], t)
	binary.BigEndian.PutUint16(t[16:], testenv.Checksum(ph))
	e.nxt += uint32(len(payload))
	if rflags&(tcpSYN|tcpFIN) != 0 {
		e.nxt++
	}
	return n
}

// TestTCP: Go's net connects, through the TAP, to a TCP echo service run
// in user space on frames read from the TAP.
func TestTCP(t *testing.T) {
	ns := newNetns(t)
	tp, err := create(t, ns, Config{DevSym: "gmtcp", AppSym: "gmtest",
		Addrs: []netip.Prefix{netip.PrefixFrom(kernelIP, 24)}})
	if err != nil {
		t.Fatal(err)
	}
	mustIP(t, ns, "neigh", "replace", vdevIP.String(), "lladdr", peerMAC.String(), "dev", tp.Name(), "nud", "permanent")
	echo := &tcpEcho{mac: peerMAC, ip: vdevIP, port: 7}
	out := make([]byte, 65536)
	if err := tp.StartReader(func(frame []byte) {
		if n := echo.input(frame, out); n > 0 {
			tp.WriteToKernel(out[:n])
		}
	}); err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello from the kernel side of gomarsio's representor")
	err = inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", netip.AddrPortFrom(vdevIP, 7).String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return err
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if !bytes.Equal(got, msg) {
			return errors.New("echo differs: " + string(got))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("TCP through the TAP: %v", err)
	}
	echo.mu.Lock()
	t.Logf("%d segments handled, tap %+v", echo.handled, tp.Stats())
	echo.mu.Unlock()
}
