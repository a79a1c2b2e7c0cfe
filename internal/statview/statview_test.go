package statview

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fixedRender renders s as of its daemon's update time, every pid alive.
func fixedRender(t *testing.T, s *Snapshot, rows []Row) []byte {
	t.Helper()
	s.RunDir = "/var/run/mrzcpd" // the temporary dir's name is not reproducible
	var b bytes.Buffer
	err := Render(&b, s, rows, RenderOptions{
		Alive: func(int) bool { return true },
		Now:   func() time.Time { return time.Unix(0, s.Daemon.General.UpdateTime) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenFrames(t *testing.T) {
	dir := t.TempDir()
	v := NewView()
	for step := 0; step < 2; step++ {
		if err := WriteSample(dir, step); err != nil {
			t.Fatal(err)
		}
		s, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		rows := v.Update(s)
		if step == 0 {
			for _, r := range rows {
				if r.Rate != nil {
					t.Fatalf("first read has a rate: %+v", r)
				}
			}
			golden(t, "frame0.golden", fixedRender(t, s, rows))
			continue
		}
		golden(t, "frame1.golden", fixedRender(t, s, rows))
	}
}

func rowByKey(rows []Row, key string) *Row {
	for i := range rows {
		if rows[i].Key == key {
			return &rows[i]
		}
	}
	return nil
}

func TestRates(t *testing.T) {
	dir := t.TempDir()
	v := NewView()
	load := func() []Row {
		t.Helper()
		s, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return v.Update(s)
	}
	const key = "mrzcpd|port p0|rx"
	WriteSample(dir, 0)
	load()
	WriteSample(dir, 2) // two seconds later: rates per second, not per read
	r := rowByKey(load(), key)
	if r == nil || r.Rate == nil || r.Rate.Pkts != 1e6 || r.Rate.Bytes != 1e8 {
		t.Fatalf("rate over 2 s: %+v", r)
	}
	// Read again before the daemon rewrote its file: keep the last rate.
	r = rowByKey(load(), key)
	if r.Rate == nil || r.Rate.Pkts != 1e6 {
		t.Fatalf("unchanged file: %+v", r.Rate)
	}
	// Drops per second on the slow stream.
	WriteSample(dir, 3)
	rows := load()
	if d := rowByKey(rows, "mrzcpd|vxe0 rx[1]|daemon"); d.Rate == nil || d.Rate.Drops != 50 {
		t.Fatalf("drops/s: %+v", d.Rate)
	}
	// A restarted daemon (counters back at zero): no rate, no huge number.
	d, apps := Sample(4)
	d.Ports[0].Rx = monit.Counters{Pkts: 10}
	monit.WriteFile(monit.DaemonPath(dir), d)
	monit.WriteFile(monit.AppPath(dir, apps[0].General.Appsym), apps[0])
	if r := rowByKey(load(), key); r.Rate != nil {
		t.Fatalf("counter went backwards, rate %+v", r.Rate)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Load(missing)
	if !errors.Is(err, ErrNoRunDir) || !strings.Contains(err.Error(), "is mrzcpd running?") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing run dir: %v", err)
	}

	empty := t.TempDir()
	_, err = Load(empty)
	if !errors.Is(err, monit.ErrNotExist) || !strings.Contains(err.Error(), "is mrzcpd running?") {
		t.Errorf("no daemon file: %v", err)
	}

	dir := t.TempDir()
	WriteSample(dir, 0)
	bad := monit.AppPath(dir, "broken")
	os.WriteFile(bad, []byte(`{"general":{"appsym":"broken","pid":`), 0o644)
	_, err = Load(dir)
	if !errors.Is(err, monit.ErrFormat) || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt app file: %v", err)
	}
	os.Remove(bad)
	os.WriteFile(monit.DaemonPath(dir), []byte("garbage"), 0o644)
	_, err = Load(dir)
	if !errors.Is(err, monit.ErrFormat) || !strings.Contains(err.Error(), monit.DaemonPath(dir)) {
		t.Errorf("corrupt daemon file: %v", err)
	}
}

func TestStaleMarkers(t *testing.T) {
	d, apps := Sample(0)
	s := &Snapshot{RunDir: "/r", Daemon: d, Apps: apps}
	var b bytes.Buffer
	Render(&b, s, Rows(s), RenderOptions{Alive: func(pid int) bool { return pid != 4242 },
		Now: func() time.Time { return time.Unix(0, d.General.UpdateTime) }})
	if !strings.Contains(b.String(), "mrzcpd pid 4242: NOT RUNNING") {
		t.Errorf("dead daemon not marked:\n%s", b.String())
	}
	b.Reset()
	Render(&b, s, Rows(s), RenderOptions{Alive: func(int) bool { return true },
		Now: func() time.Time { return time.Unix(0, d.General.UpdateTime).Add(time.Minute) }})
	if !strings.Contains(b.String(), "status is 1m0s old (hung?)") {
		t.Errorf("old status not marked:\n%s", b.String())
	}
}
