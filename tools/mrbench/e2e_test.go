package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

// TestE2E runs the e2e suite briefly against a real mrzcpd: every
// implementation (each a child process of this test binary, caught by the
// init hook) registers, opens the vdev, moves and touches packets, and
// deregisters; the daemon's files are gone afterwards. Figures are not
// checked (performance is shown by mrbench, not by tests).
func TestE2E(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireHugepages(t)
	if os.Getenv("MRZCPD_BIN") == "" {
		t.Setenv("MRZCPD_BIN", daemontest.Binary(t))
	}
	defer func(r int, d time.Duration) { e2eMinReps, e2eMinDur = r, d }(e2eMinReps, e2eMinDur)
	e2eMinReps, e2eMinDur = 1, 50*time.Millisecond
	var progress bytes.Buffer
	res, err := runE2E(&Env{Min: 10 * time.Millisecond, Reps: 1, CPU: -1, Progress: &progress})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * len(e2eBursts); len(res) != want {
		t.Fatalf("%d results, want %d", len(res), want)
	}
	for _, r := range res {
		if r.Suite != "e2e" || r.GoNs <= 0 || r.CNs <= 0 || r.Ratio <= 0 || r.GoMpps <= 0 || r.CMpps <= 0 {
			t.Errorf("result %+v: want positive figures", r)
		}
	}
	for _, want := range []string{"go marsio", "c secondary", "cgo per burst", "cgo per packet", "µs/sleep"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	if left := testenv.HugepageFiles(fmt.Sprintf("gmbench_e2e_%d", os.Getpid())); len(left) > 0 {
		t.Errorf("hugepage files left behind: %v", left[:min(len(left), 5)])
	}
}
