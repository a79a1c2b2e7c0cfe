package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
)

// TestTxRefusedTrace: packets the port refuses are recorded as drop
// events with reason tx-refused. An app keeps 8 tx streams full into a
// looped-back net_ring (testapp flood: the worker drains a burst from each
// stream per loop but takes one rx burst out of the port's ring, which
// fills); in the second half of the flood 48 frames to port 53 go out on
// the last stream, each the last of a burst (what a port refuses first),
// with a `proto=udp dport=53` filter on.
// Each of them is either taken by the port (a port-tx event, then port-rx
// and dist when it comes back) or refused (a tx-refused drop): the two
// counts add up to the 48, some are refused, and no more than the vdev's
// port_tx_refused counter. The events fit the daemon's ring: none lost.
func TestTxRefusedTrace(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: daemontest.LoopRingConfig, Args: []string{"-status-interval", "20ms"}})
	pf := "-file-prefix=" + d.Prefix
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0", "-filter", "proto=udp dport=53"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	const mark = 48
	f := daemontest.StartFlood(t, d, "flooder", "vxe0", 8, time.Second, mark)
	if f.Report.Marked != mark {
		t.Fatalf("the flood sent %d marked frames, want %d: %+v", f.Report.Marked, mark, f.Report)
	}
	js := filepath.Join(t.TempDir(), "ev.jsonl")
	out, err := mrtrace(t, pf, "show", "-duration", "300ms", "-json", js)
	if err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	st := d.Status(t)
	refused := st.Vdevs[0].Drops.PortTxRefused
	drops, taken := strings.Count(out, " reason tx-refused"), strings.Count(out, " port-tx ")
	t.Logf("sent %d, %d refused (counter); %d marked: %d tx-refused events, %d port-tx", f.Report.Sent, refused, mark, drops, taken)
	if strings.Contains(out, "lost") {
		t.Errorf("trace events lost:\n%s", out)
	}
	if drops == 0 || drops+taken != mark || uint64(drops) > refused {
		t.Errorf("%d tx-refused + %d port-tx events, want %d with some refused, at most port_tx_refused %d:\n%s", drops, taken, mark, refused, out)
	}
	if n := strings.Count(out, " drop "); n != drops+strings.Count(out, " reason rx-ring-full") {
		t.Errorf("%d drop events: only tx-refused and rx-ring-full expected:\n%s", n, out)
	}
	// What the port took came back: port-rx and dist once each.
	if rx, dist := strings.Count(out, " port-rx "), strings.Count(out, " dist "); rx != taken || dist != taken {
		t.Errorf("%d port-tx, %d port-rx, %d dist events:\n%s", taken, rx, dist, out)
	}
	b, _ := os.ReadFile(js)
	if n := bytes.Count(b, []byte(`"reason":"tx-refused"`)); n != drops {
		t.Errorf("json lines: %d tx-refused drops, want %d", n, drops)
	}
	if n := f.Echo(t); n != 32 {
		t.Errorf("echo after the flood: %d of 32 came back", n)
	}
	if out, err := mrtrace(t, pf, "off", "-vdev", "vxe0"); err != nil {
		t.Fatalf("off: %v %s", err, out)
	}
}
