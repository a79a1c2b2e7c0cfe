package marsio

import (
	"time"

	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/trace"
)

// TestTraceAppStages: with tracing off nothing is recorded; on, with a
// 5-tuple filter, the app-tx and app-rx events of the matching packets
// (and only those) are in this thread's ring, in order, and the daemon's
// workers' rings hold their port-tx, port-rx and dist events, so that each
// matching packet is followed app-tx → port-tx → port-rx → dist → app-rx
// (the vdev's port loops back), with the flow hash in hash.rss.
func TestTraceAppStages(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	i := attachApp(t, d, "tracer", WithThreads(1))
	a := i.tr
	if a == nil {
		t.Fatalf("the daemon published no %s memzone", traceMemzone)
	}
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	th, err := i.ThreadInit()
	if err != nil {
		t.Fatal(err)
	}
	defer th.Release()
	ring := a.AppRing(i.Slot(), 0)
	ctl := a.Control(int(dev.index))
	match := udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 53, 18)
	other := udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 54, 18)
	roundTrip := func() {
		t.Helper()
		bufs := make([]Buffer, 4)
		if err := th.Alloc(dev, bufs); err != nil {
			t.Fatal(err)
		}
		for k, b := range bufs {
			if k%2 == 0 {
				b.SetData(match)
			} else {
				b.SetData(other)
			}
		}
		if n, err := th.SendBurst(dev, bufs); n != 4 || err != nil {
			t.Fatalf("send %d %v", n, err)
		}
		got := 0
		for tries := 0; got < 4 && tries < 5000; tries++ {
			n, err := th.RecvBurst(dev, bufs[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += n
			if n == 0 {
				th.PollWait(t.Context(), 0, dev)
			}
		}
		if got != 4 {
			t.Fatalf("looped back %d of 4", got)
		}
		th.Free(bufs...)
	}
	daemonRecs := func() []trace.Record {
		var out []trace.Record
		for r := 0; r < a.DaemonRings(); r++ {
			out = a.Read(r, out)
		}
		return out
	}
	roundTrip()
	if recs := a.Read(ring, nil); len(recs) != 0 {
		t.Fatalf("tracing off recorded %d events", len(recs))
	}
	if recs := daemonRecs(); len(recs) != 0 {
		t.Fatalf("tracing off: the daemon recorded %d events", len(recs))
	}
	f, err := trace.ParseFilter("proto=udp dport=53")
	if err != nil {
		t.Fatal(err)
	}
	ctl.Set(f, 0)
	roundTrip()
	recs := a.Read(ring, nil)
	if len(recs) != 4 {
		t.Fatalf("%d events, want 2 app-tx + 2 app-rx: %v", len(recs), recs)
	}
	for k, r := range recs {
		want := trace.AppTx
		if k >= 2 {
			want = trace.AppRx
		}
		if r.Stage != want || r.Tuple.Dport != 53 || int(r.Vdev) != int(dev.index) || r.Len != uint32(len(match)) || (k > 0 && r.TSC < recs[k-1].TSC) {
			t.Fatalf("event %d: %s", k, r.String())
		}
	}
	byStage := map[trace.Stage][]trace.Record{}
	for _, r := range recs {
		byStage[r.Stage] = append(byStage[r.Stage], r)
	}
	drecs := daemonRecs()
	for _, r := range drecs {
		byStage[r.Stage] = append(byStage[r.Stage], r)
	}
	order := []trace.Stage{trace.AppTx, trace.PortTx, trace.PortRx, trace.Distribute, trace.AppRx}
	for _, st := range order {
		if len(byStage[st]) != 2 {
			t.Fatalf("%d %s events, want 2 (daemon: %v)", len(byStage[st]), st, drecs)
		}
	}
	if len(recs)+len(drecs) != 2*len(order) {
		t.Fatalf("%d events, want %d: %v %v", len(recs)+len(drecs), 2*len(order), recs, drecs)
	}
	for k := 0; k < 2; k++ {
		for j, st := range order {
			r := byStage[st][k]
			if r.Tuple.Dport != 53 || int(r.Vdev) != int(dev.index) || r.Len != uint32(len(match)) {
				t.Fatalf("packet %d: %s", k, r.String())
			}
			if j > 0 && r.TSC < byStage[order[j-1]][k].TSC {
				t.Fatalf("packet %d: %s before %s", k, r.String(), byStage[order[j-1]][k].String())
			}
			t.Log(r.String())
		}
		if d, rx := byStage[trace.Distribute][k], byStage[trace.AppRx][k]; d.Hash != rx.Hash || d.Hash == 0 {
			t.Fatalf("packet %d: dist hash %#x, app-rx (hash.rss) %#x", k, d.Hash, rx.Hash)
		}
	}
	ctl.Off()
	// Off takes effect from each writer's next burst: a daemon worker that
	// read the switch just before it may still record the burst it is
	// taking. Let the workers pass a burst, then drop what they wrote.
	time.Sleep(100 * time.Millisecond)
	daemonRecs()
	a.Read(ring, nil)
	roundTrip()
	if recs := a.Read(ring, nil); len(recs) != 0 {
		t.Fatalf("tracing switched off recorded %d events", len(recs))
	}
	if recs := daemonRecs(); len(recs) != 0 {
		t.Fatalf("tracing switched off: the daemon recorded %d events", len(recs))
	}
}

// BenchmarkRecvSend32Trace is BenchmarkRecvSend32 with the vdev's tracing
// on: "miss" with a filter no packet matches (every packet parsed and
// tested at app-rx, app-tx, port-rx and port-tx), "all" with every packet
// recorded at every stage while a goroutine drains the rings (mrtrace show).
func BenchmarkRecvSend32Trace(b *testing.B) {
	for _, c := range []struct{ name, filter string }{{"miss", "proto=udp dport=9999"}, {"all", ""}} {
		b.Run(c.name, func(b *testing.B) {
			d := daemontest.Start(b, daemontest.Options{Config: ringConfig})
			i, err := New(WithStatusDir(d.RunDir), WithThreads(1))
			if err != nil {
				b.Fatal(err)
			}
			if err := i.Init("bench"); err != nil {
				b.Fatal(err)
			}
			defer i.Close()
			dev, err := i.OpenDevice("vxe0", 1, 1)
			if err != nil {
				b.Fatal(err)
			}
			th, err := i.ThreadInit()
			if err != nil {
				b.Fatal(err)
			}
			defer th.Release()
			f, err := trace.ParseFilter(c.filter)
			if err != nil {
				b.Fatal(err)
			}
			a := i.tr
			a.Control(int(dev.index)).Set(f, 0)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // the reader
				defer close(done)
				var recs []trace.Record
				for {
					select {
					case <-stop:
						return
					default:
					}
					for r := 0; r < a.Rings(); r++ {
						recs = a.Read(r, recs[:0])
					}
					time.Sleep(time.Millisecond)
				}
			}()
			defer func() { close(stop); <-done }()
			bufs := make([]Buffer, 32)
			frame := udpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, 18)
			for k := 0; k < 16; k++ {
				if err := th.Alloc(dev, bufs); err != nil {
					b.Fatal(err)
				}
				for _, x := range bufs {
					x.SetData(frame)
				}
				th.SendBurst(dev, bufs)
			}
			pkts := 0
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				n, _ := th.RecvBurst(dev, bufs)
				if n > 0 {
					th.SendBurst(dev, bufs[:n])
				}
				pkts += n
			}
			b.StopTimer()
			b.ReportMetric(float64(pkts)/float64(b.N), "pkts/op")
		})
	}
}
