package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio"
	"github.com/gomarsio/marsio/internal/daemontest"
)

func TestMain(m *testing.M) {
	if os.Getenv("MRTRACE_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mrtrace runs the command in a child process (it maps the daemon's
// memory at the same addresses as this process's marsio instance).
func mrtrace(t *testing.T, args ...string) (string, error) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MRTRACE_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// attachApp attaches an application appsym with one thread to d, opens
// vxe0 with one rx and one tx stream and makes the calling goroutine that
// thread; the test's cleanup releases the thread and closes the instance.
func attachApp(t *testing.T, d *daemontest.Daemon, appsym string) (*marsio.Device, *marsio.Thread) {
	t.Helper()
	i, err := marsio.New(marsio.WithStatusDir(d.RunDir), marsio.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := i.Init(appsym); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i.Close() })
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	th, err := i.ThreadInit()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(th.Release) // before Close; on the test's goroutine
	return dev, th
}

const ringConfig = `
[eal]
memory=256
[pool:MZ0]
size=4095
[port:r0]
devargs=net_ring0
[vdev:vxe0]
port=r0
`

func TestOnShowOff(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	pf := "-file-prefix=" + d.Prefix
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0", "-filter", "proto=udp dport=70000"); err == nil || !strings.Contains(out, "dport") {
		t.Fatalf("bad filter: %v %s", err, out)
	}
	if out, err := mrtrace(t, pf, "on", "-vdev", "nope"); err == nil || !strings.Contains(out, "no vdev") {
		t.Fatalf("unknown vdev: %v %s", err, out)
	}
	dev, th := attachApp(t, d, "traced")
	roundTrip := func() {
		bufs := make([]marsio.Buffer, 2)
		if err := th.Alloc(dev, bufs); err != nil {
			t.Fatal(err)
		}
		bufs[0].SetData(daemontest.UDPFrame(53))
		bufs[1].SetData(daemontest.UDPFrame(54))
		th.SendBurst(dev, bufs)
		got := 0
		for deadline := time.Now().Add(5 * time.Second); got < 2 && time.Now().Before(deadline); {
			n, _ := th.RecvBurst(dev, bufs[got:])
			got += n
		}
		th.Free(bufs[:got]...)
	}
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0", "-filter", "proto=udp dport=53"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	roundTrip()
	js := filepath.Join(t.TempDir(), "ev.jsonl")
	out, err := mrtrace(t, pf, "show", "-duration", "300ms", "-json", js)
	if err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	t.Logf("mrtrace show:\n%s", out)
	// The port loops back: the packet goes app-tx → port-tx → port-rx →
	// dist → app-rx, shown in time order.
	last := -1
	for _, st := range []string{" app-tx ", " port-tx ", " port-rx ", " dist ", " app-rx "} {
		k := strings.Index(out, st)
		if strings.Count(out, st) != 1 || k < last {
			t.Fatalf("want app-tx, port-tx, port-rx, dist, app-rx once each, in order, for the dport 53 packet:\n%s", out)
		}
		last = k
	}
	if strings.Contains(out, ":54") {
		t.Fatalf("the dport 54 packet was traced:\n%s", out)
	}
	if b, _ := os.ReadFile(js); bytes.Count(b, []byte("\n")) != 5 || !bytes.Contains(b, []byte(`"stage":"app-rx"`)) {
		t.Fatalf("json lines: %s", b)
	}
	// Records carry TSC ticks: the JSON lines keep the wall clock
	// (time_ns, converted with the area's calibration) and the raw tsc;
	// the events were recorded during roundTrip, a few seconds at most
	// before now, and in time order.
	b, _ := os.ReadFile(js)
	var prev struct {
		Time int64  `json:"time_ns"`
		TSC  uint64 `json:"tsc"`
	}
	for k, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var ev struct {
			Time int64  `json:"time_ns"`
			TSC  uint64 `json:"tsc"`
		}
		if err := json.Unmarshal(l, &ev); err != nil || ev.TSC == 0 {
			t.Fatalf("json line %q: %v", l, err)
		}
		if d := time.Since(time.Unix(0, ev.Time)); d < 0 || d > 30*time.Second {
			t.Fatalf("json line %q: time_ns is %v before now", l, d)
		}
		if k > 0 && (ev.TSC < prev.TSC || ev.Time < prev.Time) {
			t.Fatalf("json line %q after %+v: not in time order", l, prev)
		}
		prev = ev
	}
	if out, err := mrtrace(t, pf, "off", "-vdev", "vxe0"); err != nil {
		t.Fatalf("off: %v %s", err, out)
	}
	roundTrip()
	if out, _ := mrtrace(t, pf, "show", "-duration", "200ms"); strings.Contains(out, "ring ") {
		t.Fatalf("events while off:\n%s", out)
	}
}

// TestDropReasons fills a vdev's rings and reads the drops in mrtrace's
// output: a send burst larger than the tx stream ring gives app-tx-ring-full
// drops (the library), a looped-back burst into an rx stream ring the app
// does not drain gives rx-ring-full drops (the daemon's delivery). Each
// reason's event count equals the packets dropped for it; with tracing off
// the same traffic records nothing.
func TestDropReasons(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig + "ring_size=32\n"})
	pf := "-file-prefix=" + d.Prefix
	dev, th := attachApp(t, d, "dropper")
	// send hands n packets to the tx stream in one burst and returns how
	// many it took (the rest are app-tx-ring-full drops).
	send := func(n int) int {
		t.Helper()
		bufs := make([]marsio.Buffer, n)
		if err := th.Alloc(dev, bufs); err != nil {
			t.Fatal(err)
		}
		for _, b := range bufs {
			b.SetData(daemontest.UDPFrame(53))
		}
		k, err := th.SendBurst(dev, bufs)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// drain receives until the rx stream stays empty for 200 ms.
	drain := func() int {
		got := 0
		bufs := make([]marsio.Buffer, 32)
		for idle := time.Now(); time.Since(idle) < 200*time.Millisecond; {
			n, _ := th.RecvBurst(dev, bufs)
			if n > 0 {
				th.Free(bufs[:n]...)
				got += n
				idle = time.Now()
			}
		}
		return got
	}
	// traffic: 48 packets at once into a 32-slot tx ring, then (once the
	// first ones are looped back into the undrained rx ring) 16 more.
	traffic := func() (appFull, rxFull int) {
		t.Helper()
		k1 := send(48)
		time.Sleep(200 * time.Millisecond)
		k2 := send(16)
		time.Sleep(200 * time.Millisecond)
		got := drain()
		appFull = 48 - k1 + 16 - k2
		rxFull = k1 + k2 - got
		t.Logf("sent %d+%d of 48+16, received %d", k1, k2, got)
		return appFull, rxFull
	}
	drain()
	traffic()
	if out, _ := mrtrace(t, pf, "show", "-duration", "200ms"); strings.Contains(out, " drop ") || strings.Contains(out, "app-tx") {
		t.Fatalf("events while off:\n%s", out)
	}
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0", "-filter", "proto=udp dport=53"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	appFull, rxFull := traffic()
	if appFull == 0 || rxFull == 0 {
		t.Fatalf("the traffic filled no ring: %d app-tx-ring-full, %d rx-ring-full", appFull, rxFull)
	}
	js := filepath.Join(t.TempDir(), "ev.jsonl")
	out, err := mrtrace(t, pf, "show", "-duration", "300ms", "-json", js)
	if err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	if strings.Contains(out, "lost") {
		t.Logf("mrtrace show:\n%s", out)
	}
	if n := strings.Count(out, " reason app-tx-ring-full"); n != appFull {
		t.Errorf("%d app-tx-ring-full drop events, %d packets dropped:\n%s", n, appFull, out)
	}
	if n := strings.Count(out, " reason rx-ring-full"); n != rxFull {
		t.Errorf("%d rx-ring-full drop events, %d packets dropped:\n%s", n, rxFull, out)
	}
	if n := strings.Count(out, " drop "); n != appFull+rxFull {
		t.Errorf("%d drop events, want %d:\n%s", n, appFull+rxFull, out)
	}
	b, _ := os.ReadFile(js)
	if n := bytes.Count(b, []byte(`"reason":"rx-ring-full"`)); n != rxFull {
		t.Errorf("json lines: %d rx-ring-full drops, want %d", n, rxFull)
	}
	if n := bytes.Count(b, []byte(`"reason":"app-tx-ring-full"`)); n != appFull {
		t.Errorf("json lines: %d app-tx-ring-full drops, want %d", n, appFull)
	}
	if out, err := mrtrace(t, pf, "off", "-vdev", "vxe0"); err != nil {
		t.Fatalf("off: %v %s", err, out)
	}
	traffic()
	if out, _ := mrtrace(t, pf, "show", "-duration", "200ms"); strings.Contains(out, " drop ") {
		t.Fatalf("drop events after off:\n%s", out)
	}
}

// TestRingFull: with every packet traced and nobody reading, the trace
// rings (256 events) fill up; the data path keeps running (every packet
// comes back), the writers count what they could not record, and `show`
// reports it: events shown plus events lost equal the five stages of
// every packet.
func TestRingFull(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	pf := "-file-prefix=" + d.Prefix
	dev, th := attachApp(t, d, "filler")
	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	const bursts, burst = 25, 32
	bufs := make([]marsio.Buffer, burst)
	for k := 0; k < bursts; k++ {
		if err := th.Alloc(dev, bufs); err != nil {
			t.Fatal(err)
		}
		for _, b := range bufs {
			b.SetData(daemontest.UDPFrame(53))
		}
		if n, err := th.SendBurst(dev, bufs); n != burst || err != nil {
			t.Fatalf("burst %d: sent %d, %v", k, n, err)
		}
		got := 0
		for deadline := time.Now().Add(5 * time.Second); got < burst; {
			n, err := th.RecvBurst(dev, bufs[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += n
			if time.Now().After(deadline) {
				t.Fatalf("burst %d: %d of %d packets came back with the trace rings full", k, got, burst)
			}
		}
		th.Free(bufs...)
	}
	out, err := mrtrace(t, pf, "show", "-duration", "300ms")
	if err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	shown, lost := 0, 0
	for _, l := range strings.Split(out, "\n") {
		var r, n int
		if _, err := fmt.Sscanf(l, "ring %d: %d events lost (ring full)", &r, &n); err == nil {
			lost += n
		} else if strings.HasPrefix(l, "ring ") {
			shown++
		}
	}
	t.Logf("%d events shown, %d lost", shown, lost)
	if lost == 0 || shown+lost != 5*bursts*burst {
		t.Fatalf("%d shown + %d lost, want %d (5 stages x %d packets) with some lost:\n%s", shown, lost, 5*bursts*burst, bursts*burst, out)
	}
	if out, err := mrtrace(t, pf, "off", "-vdev", "vxe0"); err != nil {
		t.Fatalf("off: %v %s", err, out)
	}
}
