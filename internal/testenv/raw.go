package testenv

import (
	"fmt"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// RawSender sends Ethernet frames out of one interface of a network
// namespace through a packet socket opened in that namespace (a socket
// keeps the namespace it was made in, so Send works from any thread).
type RawSender struct {
	fd     int
	to     unix.SockaddrLinklayer
	ifname string
	// MAC is the interface's hardware address.
	MAC net.HardwareAddr
}

// NewRawSender opens a packet socket on ifname in namespace ns; it is
// closed when the test ends.
func NewRawSender(t testing.TB, ns, ifname string) *RawSender {
	t.Helper()
	s := &RawSender{fd: -1, ifname: ifname}
	if err := InNetns(ns, func() error {
		ifc, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		if s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		s.MAC = ifc.HardwareAddr
		s.to = unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		return nil
	}); err != nil {
		t.Fatalf("packet socket on %s in %s: %v", ifname, ns, err)
	}
	t.Cleanup(func() { unix.Close(s.fd) })
	return s
}

// Send sends the frames, as they are, in order.
func (s *RawSender) Send(frames ...[]byte) error {
	for k, f := range frames {
		if err := unix.Sendto(s.fd, f, 0, &s.to); err != nil {
			return fmt.Errorf("send frame %d on %s: %w", k, s.ifname, err)
		}
	}
	return nil
}
