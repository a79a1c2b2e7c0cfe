package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomarsio/marsio"
	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
)

// nombufConfig: a net_pcap port on a veth end, a pool smaller than the
// vdev's ring and without per-lcore caches, so an application that holds
// every buffer leaves the port's receive path nothing to allocate.
const nombufConfig = `
[eal]
memory=256
[pool:MZ0]
size=511
cache=0
[port:p0]
devargs=net_pcap0,iface=%s
[vdev:vxe0]
port=p0
ring_size=1024
`

// TestNoMbufDrops: packets the port cannot take for want of an mbuf are
// counted (port rx_nombuf, the vdev's no-mbuf drops in the status file)
// and, with tracing on, recorded as drop events with reason no-mbuf whose
// lengths (packet counts: the PMD drops them before the daemon sees them)
// add up to the same number.
func TestNoMbufDrops(t *testing.T) {
	ns, va, vb := vethToNetns(t, 7)

	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(nombufConfig, va), Args: []string{"-status-interval", "20ms"}})
	pf := "-file-prefix=" + d.Prefix
	dev, th := attachApp(t, d, "starver")
	// Hold every buffer of the pool.
	var held []marsio.Buffer
	for _, burst := range []int{32, 1} {
		for {
			b := make([]marsio.Buffer, burst)
			if err := th.Alloc(dev, b); err != nil {
				break
			}
			held = append(held, b...)
		}
	}
	t.Logf("holding %d buffers", len(held))
	defer th.Free(held...)

	if out, err := mrtrace(t, pf, "on", "-vdev", "vxe0"); err != nil {
		t.Fatalf("on: %v %s", err, out)
	}
	// Let a few status periods pass (a no-mbuf event is written when the
	// status is updated), then drain what the trace holds so far.
	time.Sleep(100 * time.Millisecond)
	if out, err := mrtrace(t, pf, "show", "-duration", "50ms"); err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	nombuf := func() (port, vdev uint64) {
		st := d.Status(t)
		return st.Ports[0].RxNoMbuf, st.Vdevs[0].Drops.NoMbuf
	}
	port0, vdev0 := nombuf()

	// Inject frames from the namespace's end of the veth.
	const frames = 40
	sendFrames(t, ns, vb, frames, daemontest.UDPFrame(53))
	st, ok := d.WaitStatus(t, 10*time.Second, func(s *monit.Daemon) bool { return s.Vdevs[0].Drops.NoMbuf >= vdev0+frames })
	if !ok {
		t.Fatalf("no-mbuf drops %d → %d after %d frames (port rx_nombuf %d → %d)", vdev0, st.Vdevs[0].Drops.NoMbuf, frames, port0, st.Ports[0].RxNoMbuf)
	}
	time.Sleep(100 * time.Millisecond) // the last status period's event
	port1, vdev1 := nombuf()
	if port1-port0 != frames || vdev1-vdev0 != frames {
		t.Errorf("%d frames sent: port rx_nombuf +%d, vdev no-mbuf drops +%d", frames, port1-port0, vdev1-vdev0)
	}

	js := filepath.Join(t.TempDir(), "ev.jsonl")
	out, err := mrtrace(t, pf, "show", "-duration", "200ms", "-json", js)
	if err != nil {
		t.Fatalf("show: %v %s", err, out)
	}
	f, err := os.Open(js)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events, sum uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev struct {
			Stage  string `json:"stage"`
			Reason string `json:"reason"`
			Len    uint64 `json:"len"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("json line %q: %v", sc.Text(), err)
		}
		if ev.Reason == "no-mbuf" {
			events++
			sum += ev.Len
		}
	}
	t.Logf("%d no-mbuf events for %d packets; mrtrace show:\n%s", events, sum, out)
	if events == 0 || sum != vdev1-vdev0 {
		t.Errorf("no-mbuf events: %d carrying %d packets, the counters say %d", events, sum, vdev1-vdev0)
	}
	if out, err := mrtrace(t, pf, "off", "-vdev", "vxe0"); err != nil {
		t.Fatalf("off: %v %s", err, out)
	}
}
