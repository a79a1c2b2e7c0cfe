package tap

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv("GMTEST_TAP_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

func TestIfName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"eth0", "eth0"},
		{"vdev.mirror-1", "vdev.mirror-1"},
		{"exactly15bytes_", "exactly15bytes_"},
		{"a b/c:d", "a_b_c_d"},
		{"vdev_mirror_port_01", "vdev_mirro-"}, // prefix; hash checked below
	} {
		got, err := IfName(c.in)
		if err != nil {
			t.Fatalf("IfName(%q): %v", c.in, err)
		}
		if !strings.HasPrefix(got, c.want) || len(got) > MaxNameLen || CheckName(got) != nil {
			t.Errorf("IfName(%q) = %q, want %q…", c.in, got, c.want)
		}
	}
	a, _ := IfName("vdev_mirror_port_01")
	b, _ := IfName("vdev_mirror_port_02")
	if a == b || len(a) != MaxNameLen {
		t.Errorf("long names not kept distinct: %q %q", a, b)
	}
	if again, _ := IfName("vdev_mirror_port_01"); again != a {
		t.Errorf("IfName not deterministic: %q then %q", a, again)
	}
	for _, bad := range []string{"", ".", ".."} {
		if _, err := IfName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("IfName(%q) err = %v, want ErrBadName", bad, err)
		}
	}
	for _, bad := range []string{"", "toolongname_16by", "a/b", "a:b", "a b", "tap%d", ".."} {
		if err := CheckName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, want ErrBadName", bad, err)
		}
	}
}

func TestMarker(t *testing.T) {
	m, err := Marker("app1", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	app, pid, start, ok := ParseMarker(m)
	if !ok || app != "app1" || pid != os.Getpid() || start == 0 {
		t.Fatalf("ParseMarker(%q) = %q %d %d %v", m, app, pid, start, ok)
	}
	if !alive(pid, start) {
		t.Error("own process reported dead")
	}
	if alive(pid, start+1) {
		t.Error("recycled pid (other start time) reported alive")
	}
	if _, _, _, ok := ParseMarker("gomarsio:app:123"); !ok {
		t.Error("marker without start time refused")
	}
	for _, bad := range []string{"", "other", "gomarsio:", "gomarsio:app", "gomarsio:app:x", "gomarsio:app:-1", "gomarsio:a:1:2:3", "gomarsio:a:1:x"} {
		if _, _, _, ok := ParseMarker(bad); ok {
			t.Errorf("ParseMarker(%q) accepted", bad)
		}
	}
	if _, err := Marker("a:b", 1); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Marker with ':' = %v", err)
	}
}

// ipLink is the part of "ip -j addr show" we check.
type ipLink struct {
	Ifname   string   `json:"ifname"`
	Flags    []string `json:"flags"`
	MTU      int      `json:"mtu"`
	Address  string   `json:"address"`
	Ifalias  string   `json:"ifalias"`
	AddrInfo []struct {
		Local     string `json:"local"`
		Prefixlen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func showLink(t *testing.T, ns, name string) (ipLink, bool) {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-j", "addr", "show", "dev", name).Output()
	if err != nil {
		return ipLink{}, false
	}
	var ls []ipLink
	if err := json.Unmarshal(out, &ls); err != nil || len(ls) != 1 {
		t.Fatalf("ip -j addr show %s: %v: %s", name, err, out)
	}
	// "addr show" leaves the alias out of its JSON; "link show" has it.
	out, err = exec.Command("ip", "-n", ns, "-j", "link", "show", "dev", name).Output()
	var ll []ipLink
	if err != nil || json.Unmarshal(out, &ll) != nil || len(ll) != 1 {
		t.Fatalf("ip -j link show %s: %v: %s", name, err, out)
	}
	ls[0].Ifalias = ll[0].Ifalias
	return ls[0], true
}

func create(t *testing.T, ns string, cfg Config) (*Tap, error) {
	t.Helper()
	var tp *Tap
	err := inNetns(ns, func() (err error) {
		tp, err = Create(cfg)
		return err
	})
	if tp != nil {
		t.Cleanup(func() { tp.Close() })
	}
	return tp, err
}

var (
	testMAC  = net.HardwareAddr{0x02, 0x6d, 0x72, 0x00, 0x00, 0x01}
	peerMAC  = net.HardwareAddr{0x02, 0x6d, 0x72, 0x00, 0x00, 0x02}
	kernelIP = netip.MustParseAddr("198.18.0.1") // RFC 2544 test range
	vdevIP   = netip.MustParseAddr("198.18.0.2")
)

func TestCreateConfiguresAndCloseRemoves(t *testing.T) {
	ns := newNetns(t)
	cfg := Config{
		DevSym: "vdev_representor_test_0", AppSym: "gmtest", MAC: testMAC, MTU: 1400,
		Addrs: []netip.Prefix{netip.PrefixFrom(kernelIP, 24), netip.MustParsePrefix("fd00:6d72::1/64")},
	}
	tp, err := create(t, ns, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := IfName(cfg.DevSym)
	if tp.Name() != want || len(want) != MaxNameLen {
		t.Fatalf("name %q, want %q", tp.Name(), want)
	}
	l, ok := showLink(t, ns, tp.Name())
	if !ok {
		t.Fatalf("interface %s not in namespace", tp.Name())
	}
	if !slices.Contains(l.Flags, "UP") || l.MTU != 1400 || l.Address != testMAC.String() {
		t.Errorf("link = %+v, want UP, mtu 1400, %v", l, testMAC)
	}
	if tp.MTU() != 1400 || tp.MAC().String() != testMAC.String() || tp.Index() <= 0 {
		t.Errorf("Tap reports mtu %d mac %v index %d", tp.MTU(), tp.MAC(), tp.Index())
	}
	if app, pid, _, ok := ParseMarker(l.Ifalias); !ok || app != "gmtest" || pid != os.Getpid() {
		t.Errorf("ifalias %q is not our marker", l.Ifalias)
	}
	var addrs []string
	for _, a := range l.AddrInfo {
		addrs = append(addrs, fmt.Sprintf("%s/%d", a.Local, a.Prefixlen))
	}
	for _, p := range cfg.Addrs {
		if !slices.Contains(addrs, p.String()) {
			t.Errorf("address %v missing; have %v", p, addrs)
		}
	}
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := showLink(t, ns, tp.Name()); ok {
		t.Errorf("interface %s still present after Close", tp.Name())
	}
	if err := tp.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if err := tp.WriteToKernel(make([]byte, 60)); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteToKernel after Close = %v", err)
	}
	if _, err := tp.ReadFromKernel(make([]byte, 60)); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadFromKernel after Close = %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{DevSym: "x", MAC: net.HardwareAddr{1, 2, 3, 4, 5, 6}}, // multicast
		{DevSym: "x", MAC: net.HardwareAddr{0, 0, 0, 0, 0, 0}},
		{DevSym: "x", MAC: net.HardwareAddr{2, 0, 0, 0, 0}},
		{DevSym: "x", MTU: 10},
		{DevSym: "x", Addrs: []netip.Prefix{{}}},
		{DevSym: "x", AppSym: "a:b"},
	} {
		if _, err := Create(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Create(%+v) = %v, want ErrBadConfig", cfg, err)
		}
	}
	if _, err := Create(Config{Name: "bad/name"}); !errors.Is(err, ErrBadName) {
		t.Errorf("bad Name: %v", err)
	}
}

func TestNameClash(t *testing.T) {
	ns := newNetns(t)
	a, err := create(t, ns, Config{DevSym: "gmclash"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create(t, ns, Config{DevSym: "gmclash"}); !errors.Is(err, ErrNameClash) {
		t.Errorf("second TAP of the same name: %v, want ErrNameClash", err)
	}
	if _, err := create(t, ns, Config{Name: "lo"}); !errors.Is(err, ErrNameClash) {
		t.Errorf("TAP named lo: %v, want ErrNameClash", err)
	}
	// The first one is untouched.
	if _, ok := showLink(t, ns, a.Name()); !ok {
		t.Error("first TAP gone after the clash")
	}
}

func TestNoNetAdmin(t *testing.T) {
	ns := newNetns(t)
	err := inNetns(ns, func() error {
		// Capabilities are per thread: dropped from this (locked,
		// discarded) thread only.
		if err := testenv.DropNetAdmin(); err != nil {
			return err
		}
		tp, err := Create(Config{DevSym: "gmnocap"})
		if tp != nil {
			tp.Close()
		}
		if !errors.Is(err, ErrPermission) || !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("Create without CAP_NET_ADMIN = %v, want ErrPermission", err)
		}
		t.Logf("without CAP_NET_ADMIN: %v", err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPing proves both directions: the kernel pings the vdev's address, the
// test reads the echo requests from the TAP and writes the replies back.
func TestPing(t *testing.T) {
	for _, mode := range []string{"reader", "poll"} {
		t.Run(mode, func(t *testing.T) {
			ns := newNetns(t)
			tp, err := create(t, ns, Config{DevSym: "gmping", AppSym: "gmtest", MAC: testMAC,
				Addrs: []netip.Prefix{netip.PrefixFrom(kernelIP, 24)}})
			if err != nil {
				t.Fatal(err)
			}
			// The kernel learns the vdev's MAC statically here; ARP is
			// internal/neigh's test.
			mustIP(t, ns, "neigh", "replace", vdevIP.String(), "lladdr", peerMAC.String(), "dev", tp.Name(), "nud", "permanent")
			var replies atomic.Int64
			respond := func(frame []byte) {
				out := make([]byte, len(frame))
				if n := echoReply(frame, out, peerMAC, vdevIP); n > 0 {
					if err := tp.WriteToKernel(out[:n]); err != nil {
						t.Error(err)
					}
					replies.Add(1)
				}
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			if mode == "reader" {
				if err := tp.StartReader(respond); err != nil {
					t.Fatal(err)
				}
				if err := tp.StartReader(respond); !errors.Is(err, ErrReaderRunning) {
					t.Errorf("second StartReader = %v", err)
				}
				close(done)
			} else {
				if n, err := tp.ReadFromKernel(make([]byte, 2048)); err != nil {
					t.Fatal(err)
				} else {
					t.Logf("first non-blocking read: %d bytes", n) // IPv6 noise may be queued
				}
				go func() {
					defer close(done)
					buf := make([]byte, 2048)
					for {
						select {
						case <-stop:
							return
						default:
						}
						n, err := tp.ReadFromKernel(buf)
						if err != nil {
							t.Error(err)
							return
						}
						if n == 0 {
							time.Sleep(time.Millisecond)
							continue
						}
						respond(buf[:n])
					}
				}()
			}
			err = inNetns(ns, func() error { return testenv.Ping(vdevIP, 3) })
			close(stop)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			// The kernel can hand the last reply to the pinger before the
			// reader goroutine that wrote it has counted it.
			for deadline := time.Now().Add(2 * time.Second); (replies.Load() < 3 || tp.Stats().ToKernelPackets < 3) && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			st := tp.Stats()
			t.Logf("stats %+v", st)
			if replies.Load() != 3 || st.ToKernelPackets != 3 || st.FromKernelPackets < 3 || st.ToKernelErrors != 0 {
				t.Errorf("replies %d, stats %+v", replies.Load(), st)
			}
			if err := tp.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// child is the helper process of TestCrash: it creates a TAP and waits to
// be killed. Env: GMTEST_TAP_CHILD=<devsym>:<persist 0|1>.
func child() int {
	devsym, persist, _ := strings.Cut(os.Getenv("GMTEST_TAP_CHILD"), ":")
	tp, err := Create(Config{DevSym: devsym, AppSym: "gmcrash", Persist: persist == "1"})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready", tp.Name())
	time.Sleep(time.Minute)
	return 0
}

// TestCrash kills an application holding a TAP: a plain TAP vanishes with
// the process; a persistent one stays until CleanupStale removes it.
func TestCrash(t *testing.T) {
	ns := newNetns(t)
	crash := func(devsym string, persist bool) string {
		p := "0"
		if persist {
			p = "1"
		}
		cmd, line := testenv.StartInNetns(t, ns, []string{"GMTEST_TAP_CHILD=" + devsym + ":" + p})
		name, ok := strings.CutPrefix(line, "ready ")
		if !ok {
			t.Fatalf("child: %q", line)
		}
		if _, ok := showLink(t, ns, name); !ok {
			t.Fatalf("child's %s not visible", name)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		return name
	}

	plain := crash("gmcrash_plain", false)
	if _, ok := showLink(t, ns, plain); ok {
		t.Errorf("non-persistent %s survived its process", plain)
	}

	persistent := crash("gmcrash_persist", true)
	if _, ok := showLink(t, ns, persistent); !ok {
		t.Fatalf("persistent %s vanished with its process", persistent)
	}
	// A live TAP of ours (this process) must survive the cleanup.
	live, err := create(t, ns, Config{DevSym: "gmlive", AppSym: "gmcrash", Persist: true})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	if err := inNetns(ns, func() (err error) {
		removed, err = CleanupStale("gmcrash")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{persistent}) {
		t.Errorf("CleanupStale removed %v, want [%s]", removed, persistent)
	}
	if _, ok := showLink(t, ns, persistent); ok {
		t.Errorf("%s still present after CleanupStale", persistent)
	}
	if _, ok := showLink(t, ns, live.Name()); !ok {
		t.Errorf("live %s removed by CleanupStale", live.Name())
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := showLink(t, ns, live.Name()); ok {
		t.Errorf("persistent %s not removed by Close", live.Name())
	}
}

// TestNoLeaks: repeated Create/StartReader/Close, and Creates that fail
// (a name clash before the interface exists; an address the kernel refuses
// after it exists, plain and persistent), leave no fd, goroutine or
// interface behind.
func TestNoLeaks(t *testing.T) {
	ns := newNetns(t)
	a := netip.MustParsePrefix("198.18.1.1/24")
	cycle := func() {
		tp, err := create(t, ns, Config{DevSym: "gmleak", Addrs: []netip.Prefix{a}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tp.StartReader(func([]byte) {}); err != nil {
			t.Fatal(err)
		}
		if _, err := create(t, ns, Config{DevSym: "gmleak"}); !errors.Is(err, ErrNameClash) {
			t.Fatalf("name clash: %v", err)
		}
		if err := tp.Close(); err != nil {
			t.Fatal(err)
		}
		// The same address twice: the second RTM_NEWADDR (NLM_F_EXCL)
		// fails once the interface exists; Create removes it.
		for _, persist := range []bool{false, true} {
			if _, err := create(t, ns, Config{DevSym: "gmleakf", Addrs: []netip.Prefix{a, a}, Persist: persist}); !errors.Is(err, unix.EEXIST) {
				t.Fatalf("duplicate address (persist %v): %v, want EEXIST", persist, err)
			}
		}
	}
	cycle() // warm up
	testenv.CheckFDLeaks(t)
	gs := runtime.NumGoroutine()
	for range 20 {
		cycle()
	}
	// A closed interface's goroutines may still be on their way out.
	if n := testenv.GoroutinesAfter(gs, 2*time.Second); n > gs {
		t.Errorf("%d goroutines, %d before", n, gs)
	}
	if out := mustIP(t, ns, "-o", "link"); strings.Contains(out, "gmleak") {
		t.Errorf("interface left: %s", out)
	}
}
