package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

// noappConfig: a net_pcap port on a veth end, its vdev opened by nobody.
const noappConfig = `
[eal]
memory=256
[pool:MZ0]
size=1023
[port:p0]
devargs=net_pcap0,iface=%s
[vdev:vxe0]
port=p0
`

// TestNoAppDrops: frames reaching a vdev no application has open are
// dropped by the daemon (the vdev's no_app drops) and, with tracing on,
// each one the filter selects is shown as port-rx then drop reason no-app;
// frames the filter does not select are not shown.
func TestNoAppDrops(t *testing.T) {
	testenv.RequireNetAdmin(t)
	ns := testenv.NewNetns(t, "mrtrace")
	n := os.Getpid()%100000*10 + 8
	va, vb := fmt.Sprintf("gmna%d", n), fmt.Sprintf("gmnb%d", n)
	testenv.IP(t, "", "link", "add", va, "type", "veth", "peer", "name", vb)
	t.Cleanup(func() { exec.Command("ip", "link", "del", va).Run() })
	testenv.IP(t, "", "link", "set", vb, "netns", ns)
	testenv.IP(t, "", "link", "set", va, "up")
	testenv.IP(t, ns, "link", "set", vb, "up")

	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(noappConfig, va), Args: []string{"-status-interval", "20ms"}})
	pf := "-file-prefix=" + d.Prefix
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0", "-filter", "proto=udp dport=53"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	noApp0 := d.Status(t).Vdevs[0].Drops.NoApp

	const frames = 20 // of each: dport 53 (traced) and 54 (not)
	if err := testenv.InNetns(ns, func() error {
		ifc, err := net.InterfaceByName(vb)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		for k := 0; k < frames; k++ {
			for _, dport := range []byte{53, 54} {
				f := udp(dport)
				copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
				copy(f[6:12], ifc.HardwareAddr)
				if err := unix.Sendto(fd, f, 0, to); err != nil {
					return fmt.Errorf("send frame %d: %w", k, err)
				}
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, ok := d.WaitStatus(t, 10*time.Second, func(s *monit.Daemon) bool { return s.Vdevs[0].Drops.NoApp >= noApp0+2*frames })
	if !ok {
		t.Fatalf("no_app drops %d → %d after %d frames", noApp0, st.Vdevs[0].Drops.NoApp, 2*frames)
	}
	out, err := mrtrace(t, pf, "show", "-duration", "200ms")
	if err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	if rx, drops := strings.Count(out, " port-rx "), strings.Count(out, " reason no-app"); rx != frames || drops != frames || strings.Contains(out, ":54") {
		t.Fatalf("want %d port-rx and %d no-app drop events, none for dport 54; got %d and %d:\n%s", frames, frames, rx, drops, out)
	}
	if out, err := mrtrace(t, pf, "off", "-vdev", "vxe0"); err != nil {
		t.Fatalf("off: %v %s", err, out)
	}
}
