package marsio

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
)

// reattachConfig: a net_pcap port replaying one pcap forever (traffic
// without a sender).
const reattachConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,infinite_rx=1
[vdev:vxe0]
port=p0
rx_streams_max=4
tx_streams_max=4
`

// TestReattach: kill -9 of the daemon under traffic; the thread's calls
// return ErrDaemonGone; a new daemon with the same config, prefix and run
// dir starts; the instance re-attaches by itself (callback with generation
// 2), the old Device handle returns ErrClosed, the reopened device (same
// stream counts) receives again. Reports the time from the new daemon's
// status file to the first packet.
func TestReattach(t *testing.T) {
	if isolate(t) {
		return
	}
	frames := [][]byte{udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 2000, 64)}
	files := map[string][]byte{"in.pcap": pcapFile(t, frames)}
	d := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files})
	reattached := make(chan int, 4)
	cbErrs := make(chan error, 4)
	i := attachApp(t, d, "phoenix", WithReattach(true), WithReattachCallback(func(gen int, err error) {
		if err != nil {
			cbErrs <- err
			return
		}
		reattached <- gen
	}))
	if g := i.Generation(); g != 1 {
		t.Fatalf("generation %d after Init", g)
	}
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var (
		pkts     atomic.Uint64
		goneSeen atomic.Bool
		closedOK atomic.Bool
		firstNew atomic.Int64 // UnixNano of the first packet after re-attach
		stop     atomic.Bool
		done     = make(chan error, 1)
	)
	go func() {
		th, err := i.ThreadInit()
		if err != nil {
			done <- err
			return
		}
		defer th.Release()
		bufs := make([]Buffer, 32)
		cur := dev
		for !stop.Load() {
			n, err := th.RecvBurst(cur, bufs)
			switch {
			case err == nil:
				if n > 0 {
					if cur != dev && firstNew.Load() == 0 {
						firstNew.Store(time.Now().UnixNano())
					}
					pkts.Add(uint64(n))
					if err := th.Free(bufs[:n]...); err != nil {
						done <- err
						return
					}
				}
			case errors.Is(err, ErrDaemonGone):
				goneSeen.Store(true)
				time.Sleep(100 * time.Microsecond)
			case errors.Is(err, ErrClosed) && cur == dev:
				closedOK.Store(true) // the old generation's handle
				if nd, ok := i.Device("vxe0"); ok {
					cur = nd
				}
			default:
				done <- err
				return
			}
		}
		done <- nil
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timeout waiting for %s", what)
			}
		}
	}
	waitFor("traffic", func() bool { return pkts.Load() > 1000 })
	d.Kill()
	waitFor("ErrDaemonGone", goneSeen.Load)
	before := pkts.Load()

	d2 := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, RunDir: d.RunDir, Prefix: d.Prefix})
	ready := time.Now()
	select {
	case gen := <-reattached:
		if gen != 2 {
			t.Errorf("callback generation %d, want 2", gen)
		}
	case err := <-cbErrs:
		t.Fatalf("re-attach: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("no re-attach 10 s after the new daemon (pid %d) was ready", d2.Pid())
	}
	waitFor("packets on the new daemon", func() bool { return firstNew.Load() != 0 })
	lag := time.Unix(0, firstNew.Load()).Sub(ready)
	t.Logf("packets flowing again %v after the new daemon's status file appeared (%d packets before the kill)", lag.Round(time.Millisecond), before)
	if !closedOK.Load() {
		t.Error("the old Device handle never returned ErrClosed")
	}
	if g := i.Generation(); g != 2 {
		t.Errorf("Generation %d, want 2", g)
	}
	if nd, ok := i.Device("vxe0"); !ok || nd.RxStreams() != 1 || nd.TxStreams() != 1 {
		t.Errorf("reopened device: %v %v", nd, ok)
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
