package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/statview"
)

// A real mrzcpd with a net_null port polled without an app (hold_rx=0):
// mrstat shows the port's packets and their rate.
func TestLiveMrzcpd(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: `
[pool:MZ0]
size=4095
[port:p0]
devargs=net_null0
[vdev:vxe0]
port=p0
hold_rx=0
`})
	// The real clock and pids for this test.
	defer func(n func() time.Time, a func(int) bool) { now, alive = n, a }(now, alive)
	now, alive = time.Now, monit.ProcessAlive

	out, _, err := runMrstat(t, "-run-dir", d.RunDir, "-json")
	if err != nil {
		t.Fatal(err)
	}
	var s statview.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Daemon.General.Pid != d.Pid() || len(s.Daemon.Ports) == 0 {
		t.Fatalf("-json: %v\n%s", err, out)
	}

	// Two refreshes a status period apart: the second has rates.
	var buf strings.Builder
	err = run(context.Background(), []string{"-run-dir", d.RunDir, "-n", "2", "-interval", "1500ms"}, &buf, &buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mrstat:\n%s", buf.String())
	frames := strings.Split(buf.String(), "mrzcpd pid ")
	if len(frames) != 3 || !strings.Contains(frames[2], ": running") {
		t.Fatalf("want 2 frames of a running daemon:\n%s", buf.String())
	}
	var portRow string
	for _, l := range strings.Split(frames[2], "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[0] == "mrzcpd" && f[1] == "port" && f[3] == "rx" {
			portRow = l
		}
	}
	f := strings.Fields(portRow)
	// SOURCE DEVICE(2 words) DIR PKTS BYTES DROPS PKTS/S …
	if len(f) < 8 || f[7] == "-" || f[7] == "0" {
		t.Errorf("port rx row without a packet rate: %q", portRow)
	}
}
