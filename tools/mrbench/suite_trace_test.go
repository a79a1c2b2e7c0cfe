package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

// TestTraceSuite runs the trace suite briefly against a real mrzcpd: both
// builds of the Go app move packets, the controller switches the trace,
// the on variants record events and every variant gets a row. Figures
// are not checked (performance is shown by mrbench, not by tests).
func TestTraceSuite(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireHugepages(t)
	if testing.Short() {
		t.Skip("builds tools/mrbench twice (-short)")
	}
	if os.Getenv("MRZCPD_BIN") == "" {
		t.Setenv("MRZCPD_BIN", daemontest.Binary(t))
	}
	defer func(r int, d time.Duration) { traceMinReps, traceDur = r, d }(traceMinReps, traceDur)
	traceMinReps, traceDur = 1, 200*time.Millisecond
	var progress bytes.Buffer
	res, err := runTrace(&Env{Min: 10 * time.Millisecond, Reps: 1, CPU: -1, Progress: &progress})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(traceVariants) * len(traceBursts); len(res) != want {
		t.Fatalf("%d rows, want %d: %+v", len(res), want, res)
	}
	for _, r := range res {
		if r.Suite != "trace" || r.GoNs <= 0 || r.CNs <= 0 || r.Ratio <= 0 {
			t.Errorf("row %+v: want positive figures", r)
		}
	}
	// The on variants recorded (or counted as lost) events, off none.
	for _, l := range strings.Split(progress.String(), "\n") {
		if !strings.Contains(l, "trace: rep ") {
			continue
		}
		on := strings.Contains(l, " on,")
		none := strings.HasSuffix(l, "trace events 0, lost 0")
		if on == none {
			t.Errorf("trace events do not follow the variant: %s", l)
		}
	}
}
