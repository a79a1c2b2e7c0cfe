package marsio

import (
	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/trace"
)

// TestTraceAppStages: with tracing off nothing is recorded; on, with a
// 5-tuple filter, the app-tx and app-rx events of the matching packets
// (and only those) are in this thread's ring, in order.
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
	roundTrip()
	if recs := a.Read(ring, nil); len(recs) != 0 {
		t.Fatalf("tracing off recorded %d events", len(recs))
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
		if r.Stage != want || r.Tuple.Dport != 53 || int(r.Vdev) != int(dev.index) || r.Len != uint32(len(match)) || (k > 0 && r.Time < recs[k-1].Time) {
			t.Fatalf("event %d: %s", k, r.String())
		}
		t.Log(r.String())
	}
	ctl.Off()
	roundTrip()
	if recs := a.Read(ring, nil); len(recs) != 0 {
		t.Fatalf("tracing switched off recorded %d events", len(recs))
	}
}
