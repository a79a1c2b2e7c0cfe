package marsio

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOptions(t *testing.T) {
	t.Setenv(EnvStatusDir, "/tmp/st")
	t.Setenv(EnvFilePrefix, "pfx")
	i, err := New(WithCPUMask(0x16), WithExitOnError(true))
	if err != nil {
		t.Fatal(err)
	}
	o := i.Options()
	if !reflect.DeepEqual(o.CPUs, []int{1, 2, 4}) || !o.ExitOnError || o.StatusDir != "/tmp/st" || o.FilePrefix != "pfx" {
		t.Fatalf("options %v", o)
	}
	if n, err := o.threadCount(); err != nil || n != 3 {
		t.Fatalf("thread count %d %v, want 3 from the mask", n, err)
	}
	o.CPUs[0] = 99 // a copy
	if i.Options().CPUs[0] != 1 {
		t.Fatal("Options returned shared CPUs")
	}
	if o.daemonStatusPath() != "/tmp/st/mrmonit.daemon" || o.appStatusPath("a") != "/tmp/st/mrmonit.app.a" {
		t.Fatal(o.daemonStatusPath(), o.appStatusPath("a"))
	}
	var set unix.CPUSet
	set.Set(3)
	set.Set(0)
	if err := i.SetOptions(WithCPUSet(set), WithThreads(2)); err != nil {
		t.Fatal(err)
	}
	if o := i.Options(); !reflect.DeepEqual(o.CPUs, []int{0, 3}) || o.Threads != 2 {
		t.Fatalf("options %v", o)
	}
	for _, bad := range []Option{WithThreads(0), WithThreads(65), WithCPUMask(0), WithCPUSet(unix.CPUSet{}), WithCPUs(1, 1), WithCPUs(-1)} {
		if err := i.SetOptions(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad option: %v, want ErrInvalid", err)
		}
	}
	// More threads than CPUs is refused at Init time.
	o = Options{Threads: 3, CPUs: []int{0, 1}}
	if _, err := o.threadCount(); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	o = Options{}
	if n, _ := o.threadCount(); n != 1 {
		t.Fatalf("default thread count %d", n)
	}
}

func TestFlagOptions(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("threads", 0, "the application's own flag")
	get := FlagOptions(fs, "marsio.")
	if err := fs.Parse([]string{"-threads=7", "-marsio.threads=2", "-marsio.cpus=1,3", "-marsio.status-dir=/s", "-marsio.file-prefix=p",
		"-marsio.runtime-dir=/r", "-marsio.hugepage-dir=/h", "-marsio.daemon-status=/d", "-marsio.exit-on-error"}); err != nil {
		t.Fatal(err)
	}
	i, err := New(append([]Option{WithThreads(1)}, get()...)...)
	if err != nil {
		t.Fatal(err)
	}
	o := i.Options()
	want := Options{Threads: 2, CPUs: []int{1, 3}, ExitOnError: true, StatusDir: "/s", DaemonStatus: "/d", RuntimeDir: "/r", FilePrefix: "p", HugepageDir: "/h"}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %v\nwant %v", o, want)
	}
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	get = FlagOptions(fs, "")
	fs.Parse([]string{"-cpumask=zz"})
	if _, err := New(get()...); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad mask: %v", err)
	}
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	get = FlagOptions(fs, "")
	fs.Parse([]string{"-cpumask=0xc"})
	if i, err := New(get()...); err != nil || !reflect.DeepEqual(i.Options().CPUs, []int{2, 3}) {
		t.Fatalf("mask: %v", err)
	}
}

func TestParseCPUList(t *testing.T) {
	got, err := ParseCPUList("0, 2-4,7")
	if err != nil || !reflect.DeepEqual(got, []int{0, 2, 3, 4, 7}) {
		t.Fatal(got, err)
	}
	for _, bad := range []string{"", "a", "3-1", "-1", "1-x"} {
		if _, err := ParseCPUList(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// writeStatus writes a daemon status file naming cfg in dir.
func writeDaemonStatus(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, DaemonStatusName), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestInitBadInput(t *testing.T) {
	dir := t.TempDir()
	gcfg := filepath.Join(dir, "mrglobal.conf")
	os.WriteFile(gcfg, []byte("[service]\nmp_cache_size=9999\n"), 0o644)
	good := `{"general":{"g_cfgfile":"` + gcfg + `","pid":` + strconv.Itoa(os.Getpid()) + `,"file_prefix":"gmtest_none"}}`
	cases := []struct {
		name, status, appsym string
		want                 error
		msg                  string
	}{
		{"no status file", "", "app", ErrNoDaemon, "is mrzcpd running?"},
		{"not json", "{general", "app", ErrConfig, "not valid JSON"},
		{"no g_cfgfile", `{"general":{"pid":1,"file_prefix":"x"}}`, "app", ErrConfig, "g_cfgfile"},
		{"stale", `{"general":{"g_cfgfile":"/x","pid":` + strconv.Itoa(deadPid(t)) + `,"file_prefix":"x"}}`, "app", ErrNoDaemon, "not running"},
		{"value out of range", good, "app", ErrConfig, "mp_cache_size=9999"},
		{"appsym too long", good, strings.Repeat("a", 64), ErrInvalid, "at most 63"},
		{"appsym with slash", good, "a/b", ErrInvalid, "contains"},
		{"empty appsym", good, "", ErrInvalid, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, DaemonStatusName))
			if c.status != "" {
				writeDaemonStatus(t, dir, c.status)
			}
			i, err := New(WithStatusDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			err = i.Init(c.appsym)
			t.Log(err)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Init: %v; want %v mentioning %q", err, c.want, c.msg)
			}
			// Nothing half-initialised: calls say not initialised, Close is fine twice.
			if _, err := i.ThreadInit(); !errors.Is(err, ErrClosed) {
				t.Fatalf("ThreadInit after failed Init: %v", err)
			}
			if err := i.Close(); err != nil {
				t.Fatal(err)
			}
			if err := i.Close(); err != nil {
				t.Fatal(err)
			}
			if err := i.Init("app"); !errors.Is(err, ErrClosed) {
				t.Fatalf("Init after Close: %v", err)
			}
		})
	}
	// The app file overrides the global one key by key, and errors name it.
	os.WriteFile(gcfg, []byte("[service]\nmp_cache_size=128\npoll_wait_enable=0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "mrapp.app1.conf"), []byte("[service]\nmp_cache_size=64\n"), 0o644)
	c, err := loadServiceConfig(gcfg, "app1", "")
	if err != nil || c.MempoolCacheSize != 64 || c.PollWaitEnable || c.UsleepThreshold != 32 || c.NotifyThreshold != 256 || c.VdevBufferSize != 512 {
		t.Fatalf("config %+v %v", c, err)
	}
	os.WriteFile(filepath.Join(dir, "mrapp.app2.conf"), []byte("[service]\ndistmode=7\n"), 0o644)
	if _, err := loadServiceConfig(gcfg, "app2", ""); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "mrapp.app2.conf") || !strings.Contains(err.Error(), "distmode") {
		t.Fatalf("bad app config: %v", err)
	}
	// Defaults when neither file sets a key (the seed's values).
	os.WriteFile(gcfg, nil, 0o644)
	c, err = loadServiceConfig(gcfg, "app3", "")
	if err != nil || !c.PollWaitEnable || c.UsleepThreshold != 32 || c.UsleepPeriod != 5 || c.NotifyThreshold != 256 || c.VdevBufferSize != 512 || c.MempoolCacheSize != 256 || c.DistMode != 0 || c.HashMode != 0 {
		t.Fatalf("defaults %+v %v", c, err)
	}
	// A daemon status whose prefix has no primary: ErrNoDaemon naming it.
	os.WriteFile(gcfg, nil, 0o644)
	writeDaemonStatus(t, dir, good)
	i, _ := New(WithStatusDir(dir))
	if err := i.Init("app"); !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), "gmtest_none") {
		t.Fatalf("no primary: %v", err)
	}
}

// TestExitOnError runs Init with exit-on-error in a child process: it must
// print the error and exit 1, as the C library does.
func TestExitOnError(t *testing.T) {
	if os.Getenv("MARSIO_TEST_EXIT_CHILD") == "1" {
		i, _ := New(WithExitOnError(true), WithStatusDir(t.TempDir()))
		i.Init("app")
		os.Exit(0) // not reached
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExitOnError$")
	cmd.Env = append(os.Environ(), "MARSIO_TEST_EXIT_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "is mrzcpd running?") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestThreadAffinityHelper(t *testing.T) {
	cpus, err := threadAffinity(unix.Gettid())
	if err != nil || len(cpus) == 0 {
		t.Fatal(cpus, err)
	}
}
