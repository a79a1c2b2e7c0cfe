package trace

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/zz_generated/abi"
)

func area(t testing.TB, nv, nr, rs int) *Area {
	t.Helper()
	buf := make([]uint64, (Size(nv, nr, rs)+64)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	off := (64 - int(uintptr(unsafe.Pointer(&b[0]))%64)) % 64
	a, err := Init(b[off:off+Size(nv, nr, rs)], nv, nr, rs)
	if err != nil {
		t.Fatal(err)
	}
	// A second view (another process) attaches to the same bytes.
	if _, err := Attach(b[off : off+Size(nv, nr, rs)]); err != nil {
		t.Fatal(err)
	}
	return a
}

// udp4 builds an Ethernet/IPv4/UDP frame (optionally VLAN-tagged).
func udp4(src, dst string, sport, dport uint16, vlan bool) []byte {
	f := make([]byte, 14, 64)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	if vlan {
		binary.BigEndian.PutUint16(f[12:], 0x8100)
		f = append(f, 0, 5, 0x08, 0x00)
	}
	ip := make([]byte, 28)
	ip[0], ip[9] = 0x45, 17
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[20:], sport)
	binary.BigEndian.PutUint16(ip[22:], dport)
	return append(f, ip...)
}

func tcp6(src, dst string, sport, dport uint16) []byte {
	f := make([]byte, 14+40+20)
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	f[14], f[14+6] = 0x60, 6
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(f[14+8:], s[:])
	copy(f[14+24:], d[:])
	binary.BigEndian.PutUint16(f[54:], sport)
	binary.BigEndian.PutUint16(f[56:], dport)
	return f
}

func TestLayoutSizes(t *testing.T) {
	if unsafe.Sizeof(Record{}) != RecordSize || unsafe.Sizeof(Control{}) != CtlSize || unsafe.Sizeof(header{}) != HeaderSize || unsafe.Sizeof(ringHdr{}) != RingHdr {
		t.Fatalf("sizes: record %d control %d header %d ring %d", unsafe.Sizeof(Record{}), unsafe.Sizeof(Control{}), unsafe.Sizeof(header{}), unsafe.Sizeof(ringHdr{}))
	}
	for _, c := range [][3]int{{0, 1, 8}, {1, 0, 8}, {1, 1, 6}, {1, 1, 1}} {
		if _, err := Init(make([]byte, 1<<16), c[0], c[1], c[2]); !errors.Is(err, ErrLayout) {
			t.Errorf("Init%v: %v", c, err)
		}
	}
	if _, err := Attach(make([]byte, 4096)); !errors.Is(err, ErrLayout) {
		t.Errorf("attach zeroes: %v", err)
	}
}

func TestParseTuple(t *testing.T) {
	var tu Tuple
	ParseTuple(udp4("10.0.0.1", "10.0.0.2", 1000, 53, true), &tu)
	if tu.String() != "udp 10.0.0.1:1000 > 10.0.0.2:53" {
		t.Fatalf("vlan udp: %s", tu.String())
	}
	ParseTuple(tcp6("fd00::1", "fd00::2", 40000, 443), &tu)
	if tu.String() != "tcp [fd00::1]:40000 > [fd00::2]:443" {
		t.Fatalf("tcp6: %s", tu.String())
	}
	for _, f := range [][]byte{nil, make([]byte, 13), udp4("10.0.0.1", "10.0.0.2", 1, 2, false)[:20], {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 6, 0, 1}} {
		ParseTuple(f, &tu)
		if tu.Proto != 0 {
			t.Errorf("% x: %s", f, tu.String())
		}
	}
	if n := testing.AllocsPerRun(100, func() { ParseTuple(udp4("10.0.0.1", "10.0.0.2", 1, 2, false), &tu) }); n > 1 {
		t.Fatalf("ParseTuple allocates (%v)", n)
	}
}

func TestFilter(t *testing.T) {
	f, err := ParseFilter("proto=udp src=10.0.0.0/24 dport=53 dst=*")
	if err != nil {
		t.Fatal(err)
	}
	if f.String() != "proto=udp src=10.0.0.0/24 dport=53" {
		t.Fatalf("String %q", f.String())
	}
	if g, _ := ParseFilter(f.String()); g != f {
		t.Fatalf("round trip %+v %+v", g, f)
	}
	m := f.mem()
	if m.filter() != f {
		t.Fatalf("mem round trip %+v", m.filter())
	}
	var tu Tuple
	for _, c := range []struct {
		frame []byte
		want  bool
	}{
		{udp4("10.0.0.7", "1.1.1.1", 999, 53, false), true},
		{udp4("1.1.1.1", "10.0.0.7", 53, 999, false), true}, // the answer
		{udp4("10.0.1.7", "1.1.1.1", 999, 53, false), false},
		{udp4("10.0.0.7", "1.1.1.1", 999, 54, false), false},
		{tcp6("fd00::1", "fd00::2", 1, 53), false},
		{make([]byte, 60), false},
	} {
		ParseTuple(c.frame, &tu)
		if got := m.match(&tu); got != c.want {
			t.Errorf("%s: %v, want %v", tu.String(), got, c.want)
		}
	}
	one, _ := ParseFilter("src=10.0.0.0/24 dir=oneway")
	om := one.mem()
	ParseTuple(udp4("1.1.1.1", "10.0.0.7", 53, 999, false), &tu)
	if om.match(&tu) {
		t.Fatal("oneway matched the reverse direction")
	}
	v6, _ := ParseFilter("dst=fd00::/64 proto=tcp")
	vm := v6.mem()
	ParseTuple(tcp6("fd01::1", "fd00::2", 1, 2), &tu)
	if !vm.match(&tu) {
		t.Fatal("v6 prefix")
	}
	all, _ := ParseFilter("")
	am := all.mem()
	ParseTuple(make([]byte, 60), &tu)
	if !am.match(&tu) {
		t.Fatal("empty filter matches everything, IP or not")
	}
	for _, bad := range []string{"proto=xyz", "src=10.0.0.300", "sport=0", "dport=70000", "foo=1", "src", "dir=up", "src=1.1.1.1 src=2.2.2.2", "src=fe80::1%eth0"} {
		if _, err := ParseFilter(bad); !errors.Is(err, ErrFilter) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "proto=tcp src=10.0.0.0/8 sport=1 dport=2 dir=oneway", "dst=fd00::/64", "src=*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		g, err := ParseFilter(flt.String())
		if err != nil || g != flt {
			t.Fatalf("%q → %q → %+v, %v", s, flt.String(), g, err)
		}
		if flt.mem().filter() != flt {
			t.Fatalf("%q: mem round trip", s)
		}
	})
}

func TestWriterReader(t *testing.T) {
	a := area(t, 2, 2, 8)
	c := a.Control(1)
	if c.On() || a.Control(2) != nil {
		t.Fatal("fresh control on")
	}
	w, err := a.Writer(0)
	if err != nil {
		t.Fatal(err)
	}
	frame := udp4("10.0.0.1", "10.0.0.2", 1000, 53, false)
	f, _ := ParseFilter("proto=udp dport=53")
	c.Set(f, 0)
	if got, s := c.Filter(); got != f || s != 0 || !c.On() {
		t.Fatalf("control %+v %d", got, s)
	}
	for k := 0; k < 10; k++ {
		w.Trace(c, PortRx, 0, 0, 1, 0, frame, 0xabc)
	}
	if a.Lost(0) != 2 {
		t.Fatalf("lost %d, want 2 (ring of 8)", a.Lost(0))
	}
	recs := a.Read(0, nil)
	if len(recs) != 8 || recs[0].Stage != PortRx || recs[0].Len != uint32(len(frame)) || recs[0].Tuple.Dport != 53 || recs[0].TSC == 0 {
		t.Fatalf("read %d: %+v", len(recs), recs)
	}
	if w.Trace(c, Drop, DropRxRingFull, 0xffff, 1, 3, frame, 1); len(a.Read(0, nil)) != 1 {
		t.Fatal("ring not reusable after a read")
	}
	line := recs[0].String()
	if !strings.Contains(line, "port-rx") || !strings.Contains(line, "udp 10.0.0.1:1000 > 10.0.0.2:53") {
		t.Fatalf("line %q", line)
	}
	js, err := json.Marshal(&recs[0])
	if err != nil || !strings.Contains(string(js), `"stage":"port-rx"`) || !strings.Contains(string(js), `"dport":53`) {
		t.Fatalf("json %s %v", js, err)
	}
	// Filter miss and sampling.
	if w.Trace(c, AppRx, 0, 0, 1, 0, udp4("10.0.0.1", "10.0.0.2", 1, 2, false), 0) {
		t.Fatal("filter miss recorded")
	}
	c.Set(Filter{}, 4)
	n := 0
	for k := 0; k < 8; k++ {
		if w.Trace(c, AppRx, 0, 0, 1, 0, frame, 0) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("sample 1 in 4 of 8: %d", n)
	}
	c.Off()
	if c.On() {
		t.Fatal("off")
	}
	if err := a.SetRoles(1, 1); err != nil || a.AppRing(0, 0) != 1 || a.AppRing(1, 0) != -1 || a.AppRing(0, 1) != -1 {
		t.Fatalf("roles: %v %d", err, a.AppRing(0, 0))
	}
}

// TestConcurrent: one writer and one reader per ring; everything written
// is read once, in order, or counted lost.
func TestConcurrent(t *testing.T) {
	a := area(t, 1, 2, 64)
	c := a.Control(0)
	c.Set(Filter{}, 0)
	const n = 20000
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			w, _ := a.Writer(r)
			frame := udp4("10.0.0.1", "10.0.0.2", 1, 2, false)
			for k := 0; k < n; k++ {
				w.Trace(c, AppTx, 0, 0xffff, 0, uint16(r), frame, uint32(k))
			}
		}()
		go func() {
			defer wg.Done()
			got, last := 0, -1
			var buf []Record
			for got+int(a.Lost(r)) < n {
				buf = a.Read(r, buf[:0])
				for _, rec := range buf {
					if int(rec.Hash) <= last || rec.Stream != uint16(r) {
						t.Errorf("ring %d: %d after %d", r, rec.Hash, last)
						return
					}
					last = int(rec.Hash)
				}
				got += len(buf)
			}
		}()
	}
	wg.Wait()
}

var sink int

// BenchmarkOff is the data path's cost with tracing off: one load and a
// predictable branch per burst.
func BenchmarkOff(b *testing.B) {
	a := area(b, 1, 1, 1024)
	c := a.Control(0)
	for b.Loop() {
		if c.On() {
			sink++
		}
	}
}

// BenchmarkOn is the cost of one traced packet (filter, tuple, record).
func BenchmarkOn(b *testing.B) { benchOn(b, 32) }

// benchOn traces one matching packet per iteration, in bursts of burst
// events (a power of two; one clock read per burst), reading the ring out
// every 512 events.
func benchOn(b *testing.B, burst int) {
	a := area(b, 1, 1, 1024)
	c := a.Control(0)
	f, _ := ParseFilter("proto=udp dport=53")
	c.Set(f, 0)
	w, _ := a.Writer(0)
	frame := udp4("10.0.0.1", "10.0.0.2", 1000, 53, false)
	var recs []Record
	k := 0
	for b.Loop() {
		if k&(burst-1) == 0 {
			w.Burst()
		}
		if c.On() {
			w.Trace(c, AppRx, 0, 0xffff, 0, 0, frame, 1)
		}
		if k++; k&511 == 0 {
			recs = a.Read(0, recs[:0])
		}
	}
}

// BenchmarkSelectSampled is the cost per packet of a match-all filter
// sampling 1/64 (no event recorded for 63 of them).
func BenchmarkSelectSampled(b *testing.B) {
	a := area(b, 1, 1, 1024)
	c := a.Control(0)
	c.Set(Filter{}, 64)
	w, _ := a.Writer(0)
	frame := udp4("10.0.0.1", "10.0.0.2", 1000, 53, false)
	var t Tuple
	for b.Loop() {
		if c.On() && w.Select(c, frame, &t) {
			sink++
		}
	}
}

// TestABILayout checks every field of the Go views against the offsets
// gen mirrored from gen/abi/mrzcpd_abi.h (the sizes are checked at
// compile time in trace.go).
func TestABILayout(t *testing.T) {
	var h header
	var c Control
	var fm filterMem
	var r ringHdr
	var rec Record
	var tu Tuple
	for _, x := range []struct {
		name      string
		got, want uintptr
	}{
		{"header.magic", unsafe.Offsetof(h.Magic), abi.OffsetofTraceHeaderMagic},
		{"header.version", unsafe.Offsetof(h.Version), abi.OffsetofTraceHeaderVersion},
		{"header.nr_vdevs", unsafe.Offsetof(h.NrVdevs), abi.OffsetofTraceHeaderNrVdevs},
		{"header.nr_rings", unsafe.Offsetof(h.NrRings), abi.OffsetofTraceHeaderNrRings},
		{"header.ring_size", unsafe.Offsetof(h.RingSize), abi.OffsetofTraceHeaderRingSize},
		{"header.daemon_rings", unsafe.Offsetof(h.DaemonRings), abi.OffsetofTraceHeaderDaemonRings},
		{"header.app_threads", unsafe.Offsetof(h.AppThreads), abi.OffsetofTraceHeaderAppThreads},
		{"header.tsc_hz", unsafe.Offsetof(h.TSCHz), abi.OffsetofTraceHeaderTscHz},
		{"header.tsc_ref", unsafe.Offsetof(h.TSCRef), abi.OffsetofTraceHeaderTscRef},
		{"header.unix_ns_ref", unsafe.Offsetof(h.UnixNsRef), abi.OffsetofTraceHeaderUnixNsRef},
		{"control.enable", unsafe.Offsetof(c.enable), abi.OffsetofTraceControlEnable},
		{"control.sample", unsafe.Offsetof(c.sample), abi.OffsetofTraceControlSample},
		{"control.seq", unsafe.Offsetof(c.seq), abi.OffsetofTraceControlSeq},
		{"control.filter", unsafe.Offsetof(c.f), abi.OffsetofTraceControlFilter},
		{"filter.src", unsafe.Offsetof(fm.src), abi.OffsetofTraceFilterSrc},
		{"filter.dst", unsafe.Offsetof(fm.dst), abi.OffsetofTraceFilterDst},
		{"filter.sport", unsafe.Offsetof(fm.sport), abi.OffsetofTraceFilterSport},
		{"filter.dport", unsafe.Offsetof(fm.dport), abi.OffsetofTraceFilterDport},
		{"filter.src_bits", unsafe.Offsetof(fm.srcBits), abi.OffsetofTraceFilterSrcBits},
		{"filter.dst_bits", unsafe.Offsetof(fm.dstBits), abi.OffsetofTraceFilterDstBits},
		{"filter.proto", unsafe.Offsetof(fm.proto), abi.OffsetofTraceFilterProto},
		{"filter.flags", unsafe.Offsetof(fm.flags), abi.OffsetofTraceFilterFlags},
		{"ring.head", unsafe.Offsetof(r.head), abi.OffsetofTraceRingHead},
		{"ring.tail", unsafe.Offsetof(r.tailW), abi.OffsetofTraceRingTail},
		{"ring.lost", unsafe.Offsetof(r.lostW), abi.OffsetofTraceRingLost},
		{"record.tsc", unsafe.Offsetof(rec.TSC), abi.OffsetofTraceRecordTsc},
		{"record.stage", unsafe.Offsetof(rec.Stage), abi.OffsetofTraceRecordStage},
		{"record.reason", unsafe.Offsetof(rec.Reason), abi.OffsetofTraceRecordReason},
		{"record.port", unsafe.Offsetof(rec.Port), abi.OffsetofTraceRecordPort},
		{"record.vdev", unsafe.Offsetof(rec.Vdev), abi.OffsetofTraceRecordVdev},
		{"record.stream", unsafe.Offsetof(rec.Stream), abi.OffsetofTraceRecordStream},
		{"record.len", unsafe.Offsetof(rec.Len), abi.OffsetofTraceRecordLen},
		{"record.hash", unsafe.Offsetof(rec.Hash), abi.OffsetofTraceRecordHash},
		{"record.tuple", unsafe.Offsetof(rec.Tuple), abi.OffsetofTraceRecordTuple},
		{"tuple.src", unsafe.Offsetof(tu.Src), abi.OffsetofTraceTupleSrc},
		{"tuple.dst", unsafe.Offsetof(tu.Dst), abi.OffsetofTraceTupleDst},
		{"tuple.sport", unsafe.Offsetof(tu.Sport), abi.OffsetofTraceTupleSport},
		{"tuple.dport", unsafe.Offsetof(tu.Dport), abi.OffsetofTraceTupleDport},
		{"tuple.proto", unsafe.Offsetof(tu.Proto), abi.OffsetofTraceTupleProto},
		{"tuple.v6", unsafe.Offsetof(tu.V6), abi.OffsetofTraceTupleV6},
	} {
		if x.got != x.want {
			t.Errorf("%s: Go offset %d, C offset %d", x.name, x.got, x.want)
		}
	}
	if fV6Src != abi.MR_TRACE_F_V6_SRC || fV6Dst != abi.MR_TRACE_F_V6_DST || fOneWay != abi.MR_TRACE_F_ONEWAY {
		t.Errorf("filter flags %d %d %d, C %d %d %d", fV6Src, fV6Dst, fOneWay, abi.MR_TRACE_F_V6_SRC, abi.MR_TRACE_F_V6_DST, abi.MR_TRACE_F_ONEWAY)
	}
	if Filter.mem(Filter{}).srcBits != abi.MR_TRACE_ANY_BITS {
		t.Errorf("any-address bits %d, C %d", Filter.mem(Filter{}).srcBits, abi.MR_TRACE_ANY_BITS)
	}
	if len(reasonNames) != abi.MR_TRACE_REASON_UNRESOLVED+1 || len(stageNames) != abi.MR_TRACE_STAGE_DROP+1 {
		t.Errorf("%d reason names, %d stage names", len(reasonNames), len(stageNames))
	}
}

// TestSetAtomic switches a control between two filters (each with its
// own sampling rate) while writers select packets: every snapshot a
// writer takes must be exactly one of the two, and packets must be
// chosen by that one alone.
func TestSetAtomic(t *testing.T) {
	a := area(t, 1, 1, 64)
	c := a.Control(0)
	fa, _ := ParseFilter("proto=udp src=10.1.2.3/32 dst=192.168.0.0/16 sport=1111 dport=53")
	fb, _ := ParseFilter("proto=tcp src=fd00::1:2:3/128 dst=2001:db8::/32 sport=2222 dport=80 dir=oneway")
	ma, mb := fa.mem(), fb.mem()
	const sa, sb = 1, 3
	c.Set(fa, sa)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var updates int
	wg.Add(1)
	go func() { // the controller
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if updates&1 == 0 {
				c.Set(fb, sb)
			} else {
				c.Set(fa, sa)
			}
			updates++
		}
	}()
	var fails, snaps, skips int
	for range 2 {
		w, _ := a.Writer(0)
		for k := 0; k < 200000; k++ {
			if !w.load(c) {
				skips++
				continue
			}
			snaps++
			if (w.cf != ma || w.csample != sa) && (w.cf != mb || w.csample != sb) {
				if fails++; fails < 5 {
					t.Errorf("torn snapshot: filter %+v sample %d", w.cf, w.csample)
				}
			}
		}
	}
	close(stop)
	wg.Wait()
	if updates < 100 {
		t.Logf("only %d updates during the run", updates)
	}
	t.Logf("%d updates, %d snapshots, %d skipped (update in progress), %d torn", updates, snaps, skips, fails)
	if got, smp := c.Filter(); (got != fa || smp != sa) && (got != fb || smp != sb) {
		t.Errorf("Filter() = %+v %d", got, smp)
	}
}

// TestSkip: walking bursts with Skip chooses exactly the packets that
// Select alone would (match-all filter, sample 5), and Skip never skips
// with a filter that has fields or without sampling.
func TestSkip(t *testing.T) {
	a := area(t, 1, 2, 64)
	c := a.Control(0)
	c.Set(Filter{}, 5)
	w1, _ := a.Writer(0)
	w2, _ := a.Writer(1)
	frame := udp4("10.0.0.1", "10.0.0.2", 1, 2, false)
	var tu Tuple
	var want, got []int
	k := 0
	for _, n := range []int{1, 3, 7, 32, 4, 4, 9, 1, 64} {
		for i := 0; i < n; i++ {
			if w1.Select(c, frame, &tu) {
				want = append(want, k+i)
			}
		}
		for i := w2.Skip(c, n); i < n; i += 1 + w2.Skip(c, n-i-1) {
			if w2.Select(c, frame, &tu) {
				got = append(got, k+i)
			}
		}
		k += n
	}
	if len(want) == 0 || !slicesEqual(want, got) {
		t.Fatalf("Select chose %v, Skip+Select %v", want, got)
	}
	f, _ := ParseFilter("proto=udp")
	c.Set(f, 5)
	if n := w2.Skip(c, 32); n != 0 {
		t.Errorf("Skip with a filter: %d", n)
	}
	c.Set(Filter{}, 1)
	if n := w2.Skip(c, 32); n != 0 {
		t.Errorf("Skip without sampling: %d", n)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkSkipSampled is BenchmarkSelectSampled walking bursts of 32
// with Skip (per packet).
func BenchmarkSkipSampled(b *testing.B) {
	a := area(b, 1, 1, 1024)
	c := a.Control(0)
	c.Set(Filter{}, 64)
	w, _ := a.Writer(0)
	frame := udp4("10.0.0.1", "10.0.0.2", 1000, 53, false)
	var t Tuple
	for b.Loop() {
		for i := w.Skip(c, 32); i < 32; i += 1 + w.Skip(c, 32-i-1) {
			if w.Select(c, frame, &t) {
				sink++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/32, "ns/pkt")
}
