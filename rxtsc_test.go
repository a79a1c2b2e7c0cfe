package marsio

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
)

// TestAllocClearsRxTSC: the daemon stamps every packet it receives from a
// port with the TSC (MR_RXTSC_DYNFIELD) and, when it sends a stamped
// packet to a port, counts now - stamp in the vdev's latency histogram.
// Buffers the application allocates must not carry the stamp of their
// previous life: on a net_ring loopback, packets the app makes are not
// counted when they leave, packets it forwards are, and buffers freed with
// a stamp come back from Alloc without one — and without the flow hash the
// daemon stored in them (hash.rss).
func TestAllocClearsRxTSC(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	i, dev, th := oneThreadApp(t, d, "stamps", 1)
	if i.rxtscOff == 0 {
		t.Fatalf("the daemon publishes no rx TSC dynfield (offset %d)", i.root.RxtscDynfieldOffset)
	}
	stamp := func(b Buffer) uint64 { return *(*uint64)(ptrAt(b.Addr() + i.rxtscOff)) }
	hist := &i.root.Lat[dev.index]
	count := func() uint64 { return atomic.LoadUint64(&hist.Count) }
	frame := udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1, 2, 18)
	const n = 32

	// recvAll receives the n packets back from the loopback.
	recvAll := func(what string) []Buffer {
		t.Helper()
		got := make([]Buffer, 0, n)
		bufs := make([]Buffer, n)
		for deadline := time.Now().Add(5 * time.Second); len(got) < n; {
			k, err := th.RecvBurst(dev, bufs[:n-len(got)])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, bufs[:k]...)
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d packets came back", what, len(got), n)
			}
		}
		return got
	}
	// sendMade allocates n buffers, checks they carry no stamp, sends them.
	sendMade := func(what string) []Buffer {
		t.Helper()
		bufs := make([]Buffer, n)
		if err := th.Alloc(dev, bufs); err != nil {
			t.Fatal(err)
		}
		for k, b := range bufs {
			if s := stamp(b); s != 0 {
				t.Fatalf("%s: allocated buffer %d (%#x) carries rx stamp %d", what, k, b.Addr(), s)
			}
			if h := b.Hash(); h != 0 {
				t.Fatalf("%s: allocated buffer %d (%#x) carries flow hash %#x", what, k, b.Addr(), h)
			}
			if err := b.SetData(frame); err != nil {
				t.Fatal(err)
			}
		}
		out := append([]Buffer(nil), bufs...)
		if m, err := th.SendBurst(dev, bufs); err != nil || m != n {
			t.Fatalf("%s: sent %d of %d: %v", what, m, n, err)
		}
		return out
	}

	c0 := count()
	sendMade("first allocation")
	back := recvAll("app-made packets")
	for k, b := range back {
		if stamp(b) == 0 {
			t.Fatalf("packet %d came back from the port without the daemon's rx stamp", k)
		}
		if b.Hash() == 0 || b.Hash() != th.FlowHash(b) {
			t.Fatalf("packet %d came back with hash %#x, its flow hash is %#x", k, b.Hash(), th.FlowHash(b))
		}
	}
	c1 := count()
	if c1 != c0 {
		t.Errorf("app-made packets were counted in the latency histogram: %d → %d", c0, c1)
	}

	// Forwarded packets carry the daemon's stamp: counted.
	if m, err := th.SendBurst(dev, back); err != nil || m != n {
		t.Fatalf("forward: sent %d of %d: %v", m, n, err)
	}
	back = recvAll("forwarded packets")
	c2 := count()
	if c2-c1 != n {
		t.Errorf("forwarding %d stamped packets counted %d in the histogram", n, c2-c1)
	}

	// Freed with a stamp, allocated again (the thread's cache hands the
	// same buffers back): no stamp; sent: not counted.
	freed := map[uintptr]bool{}
	for _, b := range back {
		freed[b.Addr()] = true
	}
	if err := th.Free(back...); err != nil {
		t.Fatal(err)
	}
	again := sendMade("allocation after free")
	reused := 0
	for _, b := range again {
		if freed[b.Addr()] {
			reused++
		}
	}
	if reused == 0 {
		t.Fatalf("no freed (stamped) buffer came back from Alloc: the test shows nothing")
	}
	back = recvAll("app-made packets, second round")
	if c3 := count(); c3 != c2 {
		t.Errorf("app-made packets in reused buffers were counted: %d → %d", c2, c3)
	}
	t.Logf("%d of %d allocated buffers were freed stamped ones; histogram count %d → %d → %d", reused, n, c0, c1, c2)
	if err := th.Free(back...); err != nil {
		t.Fatal(err)
	}
}
