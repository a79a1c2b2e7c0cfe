package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/testenv"
)

// vethToNetns makes a veth pair for a test: va stays in the test's
// namespace (a net_pcap port's iface), vb goes into a new namespace ns, from
// which sendFrames injects. IPv6 is off on both ends, so the kernel's own
// packets (router solicitations, MLD) do not reach the port; both ends are
// up. tag tells apart the pairs of the tests of one process. The pair and
// the namespace are removed when the test ends.
func vethToNetns(t *testing.T, tag int) (ns, va, vb string) {
	t.Helper()
	testenv.RequireNetAdmin(t)
	ns = testenv.NewNetns(t, "mrtrace")
	n := os.Getpid()%100000*10 + tag
	va, vb = fmt.Sprintf("gmna%d", n), fmt.Sprintf("gmnb%d", n)
	testenv.IP(t, "", "link", "add", va, "type", "veth", "peer", "name", vb)
	t.Cleanup(func() { exec.Command("ip", "link", "del", va).Run() })
	testenv.IP(t, "", "link", "set", vb, "netns", ns)
	noIPv6 := func(ifname string) error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/"+ifname+"/disable_ipv6", []byte("1"), 0)
	}
	if err := noIPv6(va); err != nil {
		t.Fatal(err)
	}
	// /proc/sys/net is the namespace of the thread that opens it.
	if err := testenv.InNetns(ns, func() error { return noIPv6(vb) }); err != nil {
		t.Fatal(err)
	}
	testenv.IP(t, "", "link", "set", va, "up")
	testenv.IP(t, ns, "link", "set", vb, "up")
	return ns, va, vb
}

// sendFrames sends, rounds times, each of frames out of vb in namespace ns
// through a packet socket (destination broadcast, source vb's MAC; the
// frames are modified), one round per millisecond.
func sendFrames(t *testing.T, ns, vb string, rounds int, frames ...[]byte) {
	t.Helper()
	s := testenv.NewRawSender(t, ns, vb)
	for _, f := range frames {
		copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(f[6:12], s.MAC)
	}
	for range rounds {
		if err := s.Send(frames...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}
