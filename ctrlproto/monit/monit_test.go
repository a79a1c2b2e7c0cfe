package monit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDaemonRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := DaemonPath(dir)
	d := &Daemon{General: DaemonGeneral{GCfgfile: "/etc/g.conf", Pid: os.Getpid(), FilePrefix: "x",
		UpdateTime: time.Now().UnixNano()}}
	d.Pools = []PoolStatus{{Name: "MZ0", Size: 10, Available: 9, InUse: 1}}
	if err := WriteFile(p, d); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDaemon(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.General.GCfgfile != "/etc/g.conf" || got.Pools[0].Available != 9 {
		t.Fatalf("got %+v", got)
	}
	if err := got.CheckAlive(p, time.Minute); err != nil {
		t.Fatal(err)
	}
	got.General.UpdateTime = time.Now().Add(-time.Hour).UnixNano()
	if err := got.CheckAlive(p, time.Minute); !errors.Is(err, ErrStale) {
		t.Fatalf("old file: %v", err)
	}
	got.General.Pid = 1 << 30
	if err := got.CheckAlive(p, 0); !errors.Is(err, ErrStale) {
		t.Fatalf("dead pid: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if _, err := ReadDaemon(p); !errors.Is(err, ErrNotExist) || !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "is mrzcpd running?") {
		t.Errorf("missing: %v", err)
	}
	for _, c := range []struct{ text, want string }{
		{"", "empty file"},
		{"{", "not valid JSON"},
		{"[1]", "not valid JSON"},
		{`{"general":{}}`, "missing or empty general.g_cfgfile"},
		{`{}`, "missing or empty general.g_cfgfile"},
		{`{"general":{"g_cfgfile":"/x"}}`, "missing or empty general.pid"},
		{`{"general":{"g_cfgfile":"/x","pid":3}}`, "missing or empty general.file_prefix"},
		{`{"general":{"g_cfgfile":"/x","pid":3,"file_prefix":"r"}} {}`, "trailing data"},
		{`{"general":{"g_cfgfile":7}}`, "not valid JSON"},
	} {
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := ReadDaemon(p)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v (want %q)", c.text, err, c.want)
		}
	}
	os.WriteFile(p, []byte(`{"general":{"pid":3}}`), 0o644)
	if _, err := ReadApp(p); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "general.appsym") {
		t.Errorf("app: %v", err)
	}
}

func TestAppRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvRunDir, dir)
	p := AppPath("", "app1")
	if filepath.Dir(p) != dir {
		t.Fatalf("path %s", p)
	}
	a := &App{General: AppGeneral{Appsym: "app1", Pid: 42}, Devices: []AppDevice{{Devsym: "vxe0",
		Rx: []AppStream{{Index: 0, Pkts: 5}}}}}
	if err := WriteFile(p, a); err != nil {
		t.Fatal(err)
	}
	got, err := ReadApp(p)
	if err != nil || got.Devices[0].Rx[0].Pkts != 5 {
		t.Fatalf("%+v %v", got, err)
	}
	if err := WriteFile(filepath.Join(dir, "nodir", "x"), a); err == nil {
		t.Fatal("write into a missing dir succeeded")
	}
}

func FuzzReadDaemon(f *testing.F) {
	f.Add([]byte(`{"general":{"g_cfgfile":"/x","pid":3,"file_prefix":"r"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Daemon
		_ = decodeStrict("fuzz", data, &d)
	})
}

// TestDaemonStallFields: the pool ring ends and stalled_workers round-trip,
// are absent from a file that has none (older readers see the same JSON),
// and a file of an older daemon without them still reads.
func TestDaemonStallFields(t *testing.T) {
	dir := t.TempDir()
	p := DaemonPath(dir)
	d := &Daemon{General: DaemonGeneral{GCfgfile: "/etc/g.conf", Pid: 1, FilePrefix: "x"},
		Pools: []PoolStatus{{Name: "MZ0", Size: 10}}}
	if err := WriteFile(p, d); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "stalled_workers") || strings.Contains(string(data), `"ring"`) {
		t.Errorf("empty stall fields written:\n%s", data)
	}
	d.Pools[0].Ring = &RingEnds{ProdHead: 9, ProdTail: 9, ConsHead: 7, ConsTail: 3}
	d.StalledWorkers = []StalledWorker{{Worker: 1, Ports: []string{"p0"}, Vdevs: []string{"vxe0"}, Epoch: 5,
		Stalled: int64(time.Second), Time: 2, Cause: "stuck"}}
	if err := WriteFile(p, d); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDaemon(p)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Pools[0].Ring; r == nil || *r != *d.Pools[0].Ring {
		t.Errorf("ring %+v", r)
	}
	if len(got.StalledWorkers) != 1 || got.StalledWorkers[0].Cause != "stuck" || got.StalledWorkers[0].Vdevs[0] != "vxe0" ||
		got.StalledWorkers[0].Stalled != int64(time.Second) {
		t.Errorf("stalled_workers %+v", got.StalledWorkers)
	}
	old := `{"general":{"g_cfgfile":"/x","pid":3,"file_prefix":"r"},"pools":[{"name":"MZ0","size":1,"available":1,"in_use":0}]}`
	os.WriteFile(p, []byte(old), 0o644)
	if got, err := ReadDaemon(p); err != nil || got.Pools[0].Ring != nil || got.StalledWorkers != nil {
		t.Errorf("older file: %+v %v", got, err)
	}
}
