package neigh

import (
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustTable(t testing.TB, cfg Config) (*Table, *atomic.Int64) {
	t.Helper()
	tb, err := NewTable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	now.Store(1)
	tb.clock = now.Load
	return tb, &now
}

func ip4(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }

// macFor encodes ip and a version so concurrent readers can check that a
// MAC belongs to the IP they asked for (no torn entries).
func macFor(ip netip.Addr, version byte) MAC {
	b := ip.As4()
	return MAC{0x02, version, b[0], b[1], b[2], b[3]}
}

func TestDefaults(t *testing.T) {
	c := DefaultConfig()
	if c.MaxEntries != 4096 || c.Timeout != 0 || c.ARPInterval != time.Second || c.GratuitousARPs != 3 {
		t.Fatalf("defaults %+v differ from the seed's", c)
	}
	if _, err := NewTable(Config{MaxEntries: -1}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("negative MaxEntries: %v", err)
	}
}

func TestLearnResolve(t *testing.T) {
	tb, _ := mustTable(t, Config{})
	a, m := ip4(1), macFor(ip4(1), 1)
	if _, ok := tb.Resolve(a); ok {
		t.Fatal("resolved in an empty table")
	}
	if ch, err := tb.Update(a, m); err != nil || ch {
		t.Fatalf("Update of a missing entry: %v %v", ch, err)
	}
	if _, ok := tb.Resolve(a); ok {
		t.Fatal("Update created an entry")
	}
	if ch, err := tb.Learn(a, m); err != nil || !ch {
		t.Fatalf("Learn: %v %v", ch, err)
	}
	if got, ok := tb.Resolve(a); !ok || got != m {
		t.Fatalf("Resolve = %v %v, want %v", got, ok, m)
	}
	if ch, _ := tb.Learn(a, m); ch {
		t.Error("re-learning the same MAC reported a change")
	}
	m2 := macFor(a, 2)
	if ch, err := tb.Update(a, m2); err != nil || !ch {
		t.Fatalf("Update: %v %v", ch, err)
	}
	if got, _ := tb.Resolve(a); got != m2 {
		t.Fatalf("after Update: %v", got)
	}
	// IPv6 keys live in the same table.
	v6 := netip.MustParseAddr("2001:db8::1")
	if _, err := tb.Learn(v6, m); err != nil {
		t.Fatal(err)
	}
	if got, ok := tb.Resolve(v6); !ok || got != m {
		t.Fatal("IPv6 entry not resolved")
	}
	for _, bad := range []struct {
		ip  netip.Addr
		mac MAC
	}{{netip.Addr{}, m}, {netip.IPv4Unspecified(), m}, {netip.MustParseAddr("224.0.0.1"), m},
		{netip.MustParseAddr("255.255.255.255"), m}, {a, MAC{}}, {a, Broadcast}, {a, MAC{1, 0, 0x5e, 0, 0, 1}}} {
		if _, err := tb.Learn(bad.ip, bad.mac); !errors.Is(err, ErrBadAddress) {
			t.Errorf("Learn(%v, %v) = %v, want ErrBadAddress", bad.ip, bad.mac, err)
		}
	}
	st := tb.Stats()
	if st.Entries != 2 || st.Learned != 2 || st.Updated != 1 {
		t.Errorf("stats %+v", st)
	}
	es := tb.Entries()
	if len(es) != 2 || es[0].IP != a || es[0].State != Reachable || es[1].IP != v6 {
		t.Errorf("Entries = %v", es)
	}
}

func TestStaticWins(t *testing.T) {
	tb, _ := mustTable(t, Config{})
	a := ip4(7)
	sm := macFor(a, 1)
	if err := tb.AddStatic(a, sm); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Learn(a, macFor(a, 2)); !errors.Is(err, ErrStaticConflict) {
		t.Fatalf("learning over a static entry: %v", err)
	}
	if _, err := tb.Learn(a, sm); err != nil {
		t.Fatalf("confirming a static entry: %v", err)
	}
	if got, _ := tb.Resolve(a); got != sm {
		t.Fatalf("static entry overwritten: %v", got)
	}
	if tb.Stats().StaticConflicts != 1 || tb.Entries()[0].State != Static {
		t.Errorf("stats %+v entries %v", tb.Stats(), tb.Entries())
	}
}

func TestFull(t *testing.T) {
	tb, _ := mustTable(t, Config{MaxEntries: 8})
	for i := range 8 {
		if _, err := tb.Learn(ip4(i), macFor(ip4(i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := tb.Learn(ip4(100), macFor(ip4(100), 1))
	if !errors.Is(err, ErrTableFull) {
		t.Fatalf("9th entry: %v, want ErrTableFull", err)
	}
	t.Logf("full: %v", err)
	if tb.Stats().Full != 1 || tb.Len() != 8 {
		t.Errorf("stats %+v", tb.Stats())
	}
	// Existing entries still update; a deleted one makes room.
	if _, err := tb.Learn(ip4(3), macFor(ip4(3), 2)); err != nil {
		t.Fatal(err)
	}
	if !tb.Delete(ip4(0)) || tb.Delete(ip4(0)) {
		t.Fatal("Delete")
	}
	if _, err := tb.Learn(ip4(100), macFor(ip4(100), 1)); err != nil {
		t.Fatal(err)
	}
}

// TestChurn deletes and re-adds entries far more often than the array has
// slots: tombstones must be rebuilt away, and nothing lost.
func TestChurn(t *testing.T) {
	tb, _ := mustTable(t, Config{MaxEntries: 64})
	live := make([]netip.Addr, 64)
	for i := range live {
		live[i] = ip4(i)
		tb.Learn(live[i], macFor(live[i], 1))
	}
	for round := range 5000 {
		k := round % 64
		if !tb.Delete(live[k]) {
			t.Fatalf("round %d: %v not found", round, live[k])
		}
		live[k] = ip4(1000 + round)
		if _, err := tb.Learn(live[k], macFor(live[k], 1)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if tb.Len() != 64 {
		t.Fatalf("Len %d", tb.Len())
	}
	for _, e := range tb.Entries() {
		if got, ok := tb.Resolve(e.IP); !ok || got != macFor(e.IP, 1) {
			t.Fatalf("%v: %v %v", e.IP, got, ok)
		}
	}
}

func TestTimeoutAndRequests(t *testing.T) {
	tb, now := mustTable(t, Config{Timeout: 10 * time.Second, ARPInterval: time.Second, MaxEntries: 4})
	a := ip4(1)
	if !tb.requestDue(a) {
		t.Fatal("first request not due")
	}
	if tb.requestDue(a) {
		t.Fatal("second request within the interval")
	}
	if e := tb.Entries(); len(e) != 1 || e[0].State != Incomplete {
		t.Fatalf("entries %v", e)
	}
	if _, ok := tb.Resolve(a); ok {
		t.Fatal("incomplete entry resolved")
	}
	now.Add(int64(time.Second))
	if !tb.requestDue(a) {
		t.Fatal("request not due after the interval")
	}
	tb.Learn(a, macFor(a, 1))
	if _, ok := tb.Resolve(a); !ok {
		t.Fatal("not resolved after learning")
	}
	now.Add(int64(11 * time.Second))
	if _, ok := tb.Resolve(a); ok {
		t.Fatal("expired entry resolved")
	}
	if !tb.requestDue(a) {
		t.Fatal("expired entry: request not due")
	}
	if n := tb.Expire(); n != 1 || tb.Len() != 0 {
		t.Fatalf("Expire = %d, Len %d", n, tb.Len())
	}
	// Incomplete entries nobody asks for any more make room when full.
	for i := range 4 {
		if !tb.requestDue(ip4(10 + i)) {
			t.Fatal("request not due")
		}
	}
	if tb.requestDue(ip4(20)) {
		t.Fatal("request for a 5th next hop in a full table")
	}
	now.Add(int64(4 * time.Second))
	if !tb.requestDue(ip4(20)) {
		t.Fatal("stale incomplete entries not reclaimed")
	}
}

func TestStaticNeverExpires(t *testing.T) {
	tb, now := mustTable(t, Config{Timeout: time.Second})
	tb.AddStatic(ip4(1), macFor(ip4(1), 1))
	now.Add(int64(time.Hour))
	if _, ok := tb.Resolve(ip4(1)); !ok || tb.Expire() != 0 {
		t.Fatal("static entry expired")
	}
}

// TestConcurrent: readers resolve while a writer learns, changes and
// deletes; a reader must never see a MAC that belongs to another IP. Run
// with -race.
func TestConcurrent(t *testing.T) {
	tb, _ := mustTable(t, Config{MaxEntries: 256})
	const n = 300
	var stop atomic.Bool
	var wg sync.WaitGroup
	var hits atomic.Int64
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; !stop.Load(); i++ {
				a := ip4(i % n)
				if m, ok := tb.Resolve(a); ok {
					b := a.As4()
					if m[0] != 2 || [4]byte(m[2:6]) != b {
						t.Errorf("Resolve(%v) = %v: another entry's MAC", a, m)
						return
					}
					hits.Add(1)
				}
			}
		}()
	}
	for round := range 20000 {
		a := ip4(round % n)
		switch round % 3 {
		case 0, 1:
			tb.Learn(a, macFor(a, byte(round)))
		case 2:
			tb.Delete(ip4((round * 7) % n))
		}
		if round%512 == 0 {
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d resolved reads", hits.Load())
}

func TestResolveNoAllocs(t *testing.T) {
	tb, _ := mustTable(t, Config{})
	for i := range 1000 {
		tb.Learn(ip4(i), macFor(ip4(i), 1))
	}
	p, err := NewPort("vdev0", MAC{2, 0, 0, 0, 0, 9}, []netip.Prefix{netip.MustParsePrefix("10.0.255.254/8")}, tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 64)
	frame[14] = 0x45
	hit, miss := ip4(500), ip4(5000)
	var sink bool
	if a := testing.AllocsPerRun(1000, func() {
		_, ok1 := tb.Resolve(hit)
		_, ok2 := tb.Resolve(miss)
		sink = ok1 && !ok2
	}); a != 0 {
		t.Errorf("Resolve: %v allocs/op", a)
	}
	if a := testing.AllocsPerRun(1000, func() { sink = p.PrepareFrame(frame, hit) }); a != 0 {
		t.Errorf("PrepareFrame: %v allocs/op", a)
	}
	req := make([]byte, 128)
	if a := testing.AllocsPerRun(1000, func() { sink, _ = p.Output(frame, hit, req) }); a != 0 {
		t.Errorf("Output (resolved): %v allocs/op", a)
	}
	p.Output(frame, miss, req) // creates the incomplete entry
	if a := testing.AllocsPerRun(1000, func() { sink, _ = p.Output(frame, miss, req) }); a != 0 {
		t.Errorf("Output (unresolved, rate-limited): %v allocs/op", a)
	}
	_ = sink
}

func BenchmarkResolve(b *testing.B) {
	tb, _ := mustTable(b, Config{})
	for i := range 4096 {
		tb.Learn(ip4(i), macFor(ip4(i), 1))
	}
	b.ReportAllocs()
	var m MAC
	for i := 0; b.Loop(); i++ {
		m, _ = tb.Resolve(ip4(i & 4095))
	}
	_ = m
}

func BenchmarkPrepareFrame(b *testing.B) {
	tb, _ := mustTable(b, Config{})
	for i := range 4096 {
		tb.Learn(ip4(i), macFor(ip4(i), 1))
	}
	p, _ := NewPort("vdev0", MAC{2, 0, 0, 0, 0, 9}, nil, tb, nil)
	frame := make([]byte, 64)
	frame[14] = 0x45
	hops := make([]netip.Addr, 64)
	for i := range hops {
		hops[i] = ip4(i * 61)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.PrepareFrame(frame, hops[i&63])
	}
}

func BenchmarkResolveParallel(b *testing.B) {
	tb, _ := mustTable(b, Config{})
	for i := range 4096 {
		tb.Learn(ip4(i), macFor(ip4(i), 1))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tb.Resolve(ip4(i & 4095))
			i++
		}
	})
}
