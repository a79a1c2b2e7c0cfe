package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/statview"
)

var update = flag.Bool("update", false, "rewrite testdata (fixture run dir and golden output)")

// fixture is a run dir with sample status files, generated with monit's
// own writer (statview.WriteSample), committed so that
// `mrstat -run-dir tools/mrstat/testdata/rundir` shows something.
const fixture = "testdata/rundir"

func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		os.RemoveAll(fixture)
		os.MkdirAll(fixture, 0o755)
		if err := statview.WriteSample(fixture, 1); err != nil {
			panic(err)
		}
	}
	// Reproducible frames: every pid runs, the clock stands at the
	// sample daemon's last write.
	d, _ := statview.Sample(1)
	now = func() time.Time { return time.Unix(0, d.General.UpdateTime) }
	alive = func(int) bool { return true }
	os.Exit(m.Run())
}

func runMrstat(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The committed fixture must be exactly what monit's writer produces from
// the sample: nobody edits it by hand.
func TestFixtureIsGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := statview.WriteSample(dir, 1); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Glob(filepath.Join(dir, "*"))
	got, _ := filepath.Glob(filepath.Join(fixture, "*"))
	if len(got) != len(want) {
		t.Fatalf("fixture has %v, the sample writes %v (go test -update)", got, want)
	}
	for _, w := range want {
		a, _ := os.ReadFile(w)
		b, err := os.ReadFile(filepath.Join(fixture, filepath.Base(w)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s is not what monit.WriteFile writes from statview.Sample(1) (go test -update): %v", filepath.Base(w), err)
		}
	}
}

func TestGoldenText(t *testing.T) {
	out, _, err := runMrstat(t, "-run-dir", fixture, "-n", "1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("escape sequences written to a non-terminal")
	}
	golden(t, "text.golden", out)
}

func TestGoldenJSON(t *testing.T) {
	out, _, err := runMrstat(t, "-run-dir", fixture, "-json")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "json.golden", out)
	var s statview.Snapshot
	if err := jsonUnmarshal(out, &s); err != nil || s.Daemon.General.Pid != 4242 || len(s.Apps) != 1 {
		t.Errorf("-json does not decode as a snapshot: %v %+v", err, s)
	}
}

func TestRefreshes(t *testing.T) {
	dir := t.TempDir()
	statview.WriteSample(dir, 0)
	// A writer that advances the sample (one second of the sample's time
	// per step) while mrstat refreshes, until mrstat is done.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for step := 1; ; step++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			statview.WriteSample(dir, step)
		}
	}()
	out, _, err := runMrstat(t, "-run-dir", dir, "-n", "4", "-interval", "60ms")
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "mrzcpd pid 4242: running"); n != 4 {
		t.Fatalf("%d frames, want 4:\n%s", n, out)
	}
	frames := strings.Split(out, "mrzcpd pid 4242")
	if !strings.Contains(frames[1], "         -         -         -  link up") {
		t.Errorf("first frame shows rates:\n%s", frames[1])
	}
	if !strings.Contains(frames[len(frames)-1], "1.00M   100.00M         0  link up") {
		t.Errorf("last frame lacks port p0's 1 Mpps / 100 MB/s:\n%s", frames[len(frames)-1])
	}
}

func TestErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	_, _, err := runMrstat(t, "-run-dir", missing, "-n", "1")
	if !errors.Is(err, statview.ErrNoRunDir) || !strings.Contains(err.Error(), "is mrzcpd running?") {
		t.Errorf("missing run dir: %v", err)
	}
	_, _, err = runMrstat(t, "-run-dir", t.TempDir(), "-json")
	if !errors.Is(err, monit.ErrNotExist) || !strings.Contains(err.Error(), "is mrzcpd running?") {
		t.Errorf("no status file: %v", err)
	}
	dir := t.TempDir()
	statview.WriteSample(dir, 1)
	bad := monit.AppPath(dir, "flowcount")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	_, _, err = runMrstat(t, "-run-dir", dir, "-n", "1")
	if !errors.Is(err, monit.ErrFormat) || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt status file: %v", err)
	}
	for _, args := range [][]string{{"-interval", "0s"}, {"-n", "-1"}, {"extra"}, {"-bogus"}} {
		if _, _, err := runMrstat(t, append([]string{"-run-dir", fixture}, args...)...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestHelp(t *testing.T) {
	_, stderr, err := runMrstat(t, "-h")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"mrmonit.daemon", "mrmonit.app.<appsym>", "examples:", "-interval", "-json", "-run-dir", "-n N"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
