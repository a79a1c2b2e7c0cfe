package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/zz_generated/abi"
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
	// 200 ms per burst size: on a loaded 2-CPU machine an app can be
	// starved for tens of milliseconds, and 50 ms windows then saw nothing.
	e2eMinReps, e2eMinDur = 1, 200*time.Millisecond
	var progress bytes.Buffer
	res, err := runE2E(&Env{Min: 10 * time.Millisecond, Reps: 1, CPU: -1, Progress: &progress})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(progress.String(), "no latency figures") {
		t.Errorf("the latency reader failed (see progress)")
	}
	if want := 3 * len(e2eBursts); len(res) != want {
		t.Fatalf("%d results, want %d", len(res), want)
	}
	// Every implementation must move packets; a single short window may
	// still come out empty on a starved machine, so each implementation
	// needs figures at most burst sizes, and every figure there is checked.
	moved := map[string]int{}
	withLat := 0
	for _, r := range res {
		if r.Suite != "e2e" || r.CNs <= 0 || r.CMpps <= 0 {
			t.Errorf("result %+v: want positive figures for the C reference", r)
		}
		if r.CMpps > 0 && r.CLatP50 <= 0 {
			t.Errorf("%s: the C reference moved packets but has no latency tails", r.Case)
		}
		if r.GoMpps == 0 {
			continue
		}
		impl, _, _ := strings.Cut(r.Case, ", burst")
		moved[impl]++
		if r.GoNs <= 0 || r.Ratio <= 0 || r.GoMpps < 0 {
			t.Errorf("result %+v: want positive figures", r)
		}
		// Latency tails: ordered wherever present, and present in every
		// phase the Go app (here) and the C reference (above) moved
		// packets in; the cgo variants' rows: ordering only.
		if r.LatP50 < 0 || r.LatP50 > r.LatP99 || r.LatP99 > r.LatP999 || r.LatP999 > r.LatMax ||
			r.CLatP50 < 0 || r.CLatP50 > r.CLatP99 || r.CLatP99 > r.CLatP999 || r.CLatP999 > r.CLatMax {
			t.Errorf("result %+v: want ordered latency percentiles", r)
		}
		if impl == "go marsio" && r.LatP50 <= 0 {
			t.Errorf("%s: the Go app moved packets but has no latency tails", r.Case)
		}
		withLat++
	}
	if withLat == 0 {
		t.Errorf("no result moved packets")
	}
	for _, impl := range []string{"go marsio", "cgo per burst", "cgo per packet"} {
		if moved[impl] < len(e2eBursts)-1 {
			t.Errorf("%s moved packets at %d of %d burst sizes", impl, moved[impl], len(e2eBursts))
		}
	}
	for _, want := range []string{"go marsio", "c secondary", "cgo per burst", "cgo per packet", "µs/sleep", "lat p50 µs", "GC pauses"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	if left := testenv.HugepageFiles(fmt.Sprintf("gmbench_e2e_%d", os.Getpid())); len(left) > 0 {
		t.Errorf("hugepage files left behind: %v", left[:min(len(left), 5)])
	}
}

// TestLatBuckets: the Go mirror of the daemon's bucket function (lat.h) and
// the bucket bounds used for percentiles agree: every value lies within its
// bucket, the bound is within 12.5% above it.
func TestLatBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 4095, 4096, 123456789, 1<<63 + 12345, ^uint64(0)} {
		b := latBucketOf(v)
		if b >= abi.MR_LAT_BUCKETS {
			t.Fatalf("value %d: bucket %d of %d", v, b, abi.MR_LAT_BUCKETS)
		}
		up := latBucketUpper(b)
		if up < v || (b > 0 && latBucketUpper(b-1) >= v) || float64(up-v) > float64(v)/8 {
			t.Errorf("value %d: bucket %d, upper %d (previous %d)", v, b, up, latBucketUpper(max(b, 1)-1))
		}
	}
	if got := latBucketOf(^uint64(0)); got != abi.MR_LAT_BUCKETS-1 {
		t.Errorf("max uint64 in bucket %d, want the last (%d)", got, abi.MR_LAT_BUCKETS-1)
	}
	before, after := make([]uint64, abi.MR_LAT_BUCKETS), make([]uint64, abi.MR_LAT_BUCKETS)
	after[latBucketOf(1000)] = 990
	after[latBucketOf(100000)] = 10
	l := latDiff(before, after, 1e9) // 1 GHz: ticks are ns
	if l.Count != 1000 || l.P50 < 1000 || l.P50 > 1125 || l.P99 != l.P50 || l.P999 < 100000 || l.MaxNs < 100000 || l.MaxNs > 112500 {
		t.Errorf("latDiff: %+v", l)
	}
}

// TestPinnedChildSurvivesThreadChurn: a child started through startPinned
// (as the latency reader is) keeps running while Go throws threads away
// (goroutines that lock their thread and exit). Its Pdeathsig follows the
// forking thread: forked from an arbitrary thread, the reader used to die
// with it, and every later latency snapshot came out empty.
func TestPinnedChildSurvivesThreadChurn(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	exited, err := startPinned(cmd, -1)
	if err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	defer func() { cmd.Process.Kill(); <-exited }()
	for range 64 {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			close(done)
		}()
		<-done
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-exited:
		t.Fatalf("the child died with a thread of the parent: %v", err)
	default:
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("child gone: %v", err)
	}
}
