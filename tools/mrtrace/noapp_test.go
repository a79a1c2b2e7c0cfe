package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
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
	ns, va, vb := vethToNetns(t, 8)

	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(noappConfig, va), Args: []string{"-status-interval", "20ms"}})
	pf := "-file-prefix=" + d.Prefix
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0", "-filter", "proto=udp dport=53"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	noApp0 := d.Status(t).Vdevs[0].Drops.NoApp

	const frames = 20 // of each: dport 53 (traced) and 54 (not)
	sendFrames(t, ns, vb, frames, daemontest.UDPFrame(53), daemontest.UDPFrame(54))
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
