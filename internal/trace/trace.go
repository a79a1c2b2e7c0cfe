// Package trace is the data-path trace of issue 10, as a building block:
// the shared-memory layout (per-vdev controls and one event ring per
// writer), the 5-tuple filter with wildcards, sampling, the non-blocking
// writer and the reader. It works on any byte region: the daemon places it
// in the memzone "mrtrace" and writes port-rx, dist, port-tx and drop
// events from its workers; the library (app-rx, app-tx) and tools/mrtrace
// attach to it.
//
// # Layout (little-endian, offsets in bytes)
//
// The C declaration is the ABI header gen/abi/mrzcpd_abi.h (struct
// mr_trace_header, mr_trace_control, mr_trace_filter, mr_trace_ring,
// mr_trace_record, mr_trace_tuple and the MR_TRACE_* constants), mirrored
// in zz_generated/abi. The types here are the Go views of those structs:
// their sizes are checked against the generated ones at compile time and
// their field offsets by TestABILayout.
//
//	header    0..64      magic "MRTR", version, nr_vdevs, nr_rings, ring_size,
//	                     daemon_rings, app_threads, TSC calibration (Clock)
//	controls  64..       nr_vdevs × 64: one per vdev (Control)
//	rings     …          nr_rings × (64 + ring_size × 64): header + records
//
// A Control's enable word is read by every writer before anything else:
// tracing off costs one load and one predictable branch (Control.On). The
// filter and sampling rate are a seqlock on the control's seq word
// (Control.Set): a writer never matches a packet against a half-written
// filter; it keeps a copy per control and re-reads it only when seq moves.
//
// Rings 0..daemon_rings-1 belong to the daemon's workers; application slot
// s, thread k writes ring daemon_rings + s*app_threads + k (AppRing).
//
// Each ring has exactly one writer (a daemon worker or an application
// thread) and one reader (mrtrace): the writer owns head, the reader owns
// tail. A full ring never blocks the writer: the event is dropped and
// counted in the ring's lost word.
//
// Timestamps are TSC ticks (Record.TSC), read once per traced burst
// (Writer.Burst): the events of one burst share one. RDTSC costs a few ns
// where the vDSO wall-clock read costs ~110 ns on a VM (docs/TRACE.md). The
// header holds the daemon's TSC calibration (Clock: ticks per second and
// one TSC value read together with the wall clock): readers show events as
// wall-clock time (Record.Format, Record.JSON), and writers without RDTSC
// (the purego build, other architectures) derive ticks from the wall clock
// with it, so every writer's events sort together.
package trace

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/zz_generated/abi"
)

// Layout constants (gen/abi/mrzcpd_abi.h).
const (
	Magic      = abi.MR_TRACE_MAGIC   // "MRTR"
	Version    = abi.MR_TRACE_VERSION // 3: Record.TSC and the header's Clock; 2: Control.seq, drop reasons as struct mr_drops
	HeaderSize = abi.SizeofTraceHeader
	CtlSize    = abi.SizeofTraceControl
	RingHdr    = abi.SizeofTraceRing
	RecordSize = abi.SizeofTraceRecord
	// Memzone is the trace area's memzone in the daemon.
	Memzone = abi.MR_TRACE_MEMZONE
	// PortNone is Record.Port of the application's stages.
	PortNone = abi.MR_TRACE_PORT_NONE
)

// The Go views must have exactly the C sizes: each line fails to compile
// (negative array length) when one is larger or smaller than its struct.
var (
	_ [unsafe.Sizeof(header{}) - abi.SizeofTraceHeader]byte
	_ [abi.SizeofTraceHeader - unsafe.Sizeof(header{})]byte
	_ [unsafe.Sizeof(Control{}) - abi.SizeofTraceControl]byte
	_ [abi.SizeofTraceControl - unsafe.Sizeof(Control{})]byte
	_ [unsafe.Sizeof(filterMem{}) - abi.SizeofTraceFilter]byte
	_ [abi.SizeofTraceFilter - unsafe.Sizeof(filterMem{})]byte
	_ [unsafe.Sizeof(ringHdr{}) - abi.SizeofTraceRing]byte
	_ [abi.SizeofTraceRing - unsafe.Sizeof(ringHdr{})]byte
	_ [unsafe.Sizeof(Record{}) - abi.SizeofTraceRecord]byte
	_ [abi.SizeofTraceRecord - unsafe.Sizeof(Record{})]byte
	_ [unsafe.Sizeof(Tuple{}) - abi.SizeofTraceTuple]byte
	_ [abi.SizeofTraceTuple - unsafe.Sizeof(Tuple{})]byte
)

// Sentinel errors; test with errors.Is.
var (
	// ErrLayout: the region is too small, misaligned or not a trace area.
	ErrLayout = errors.New("trace: bad trace area")
	// ErrFilter: a filter expression does not parse.
	ErrFilter = errors.New("trace: bad filter")
)

// Stage is where an event was recorded.
type Stage uint8

// Stages, in the order a packet meets them (MR_TRACE_STAGE_*).
const (
	PortRx     Stage = abi.MR_TRACE_STAGE_PORT_RX
	Distribute Stage = abi.MR_TRACE_STAGE_DIST
	AppRx      Stage = abi.MR_TRACE_STAGE_APP_RX
	AppTx      Stage = abi.MR_TRACE_STAGE_APP_TX
	PortTx     Stage = abi.MR_TRACE_STAGE_PORT_TX
	Drop       Stage = abi.MR_TRACE_STAGE_DROP
)

var stageNames = [...]string{"", "port-rx", "dist", "app-rx", "app-tx", "port-tx", "drop"}

// String names the stage.
func (s Stage) String() string {
	if int(s) < len(stageNames) && s != 0 {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", uint8(s))
}

// Area is an initialised or attached trace region.
type Area struct {
	base     unsafe.Pointer
	size     uintptr
	nvdevs   int
	nrings   int
	ringSize uint64
	dRings   int
	appThr   int
	clk      Clock
}

// header is struct mr_trace_header.
type header struct {
	Magic, Version, NrVdevs, NrRings, RingSize, DaemonRings, AppThreads uint32
	_                                                                   uint32 // spare0
	TSCHz, TSCRef                                                       uint64 // Clock.Hz, Clock.RefTSC
	UnixNsRef                                                           int64  // Clock.RefUnixNano
	_                                                                   [2]uint32
}

// Size returns the bytes an area of nvdevs controls and nrings rings of
// ringSize records needs.
func Size(nvdevs, nrings, ringSize int) int {
	return HeaderSize + nvdevs*CtlSize + nrings*(RingHdr+ringSize*RecordSize)
}

// Init lays out a fresh area in mem (zeroed first) with this host's TSC
// calibration (Calibrate, measured once per process). ringSize must be a
// power of two.
func Init(mem []byte, nvdevs, nrings, ringSize int) (*Area, error) {
	if nvdevs < 1 || nrings < 1 || ringSize < 2 || ringSize&(ringSize-1) != 0 || nvdevs > 1<<16 || nrings > 1<<16 || ringSize > 1<<24 {
		return nil, fmt.Errorf("%w: %d vdevs, %d rings of %d records (ring size a power of two)", ErrLayout, nvdevs, nrings, ringSize)
	}
	if len(mem) < Size(nvdevs, nrings, ringSize) || uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%64 != 0 {
		return nil, fmt.Errorf("%w: region of %d bytes, need %d, 64-byte aligned", ErrLayout, len(mem), Size(nvdevs, nrings, ringSize))
	}
	clear(mem[:Size(nvdevs, nrings, ringSize)])
	h := (*header)(unsafe.Pointer(unsafe.SliceData(mem)))
	h.Version, h.NrVdevs, h.NrRings, h.RingSize = Version, uint32(nvdevs), uint32(nrings), uint32(ringSize)
	c := hostClock()
	h.TSCHz, h.TSCRef, h.UnixNsRef = c.Hz, c.RefTSC, c.RefUnixNano
	atomic.StoreUint32(&h.Magic, Magic) // release: the header before it
	return Attach(mem)
}

// Attach checks and binds an area laid out by Init (in this or another
// process).
func Attach(mem []byte) (*Area, error) {
	if len(mem) < HeaderSize || uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%8 != 0 {
		return nil, fmt.Errorf("%w: region of %d bytes", ErrLayout, len(mem))
	}
	h := (*header)(unsafe.Pointer(unsafe.SliceData(mem)))
	if m := atomic.LoadUint32(&h.Magic); m != Magic || h.Version != Version {
		return nil, fmt.Errorf("%w: magic %#x version %d, want %#x %d", ErrLayout, m, h.Version, Magic, Version)
	}
	clk := Clock{Hz: h.TSCHz, RefTSC: h.TSCRef, RefUnixNano: h.UnixNsRef}
	if !clk.valid() {
		return nil, fmt.Errorf("%w: TSC calibration %d Hz", ErrLayout, clk.Hz)
	}
	rs := int(h.RingSize)
	if h.NrVdevs == 0 || h.NrRings == 0 || rs < 2 || rs&(rs-1) != 0 || len(mem) < Size(int(h.NrVdevs), int(h.NrRings), rs) {
		return nil, fmt.Errorf("%w: %d vdevs, %d rings of %d in %d bytes", ErrLayout, h.NrVdevs, h.NrRings, rs, len(mem))
	}
	return &Area{base: unsafe.Pointer(unsafe.SliceData(mem)), size: uintptr(len(mem)), nvdevs: int(h.NrVdevs), nrings: int(h.NrRings), ringSize: uint64(rs),
		dRings: int(h.DaemonRings), appThr: int(h.AppThreads), clk: clk}, nil
}

// SetRoles records how the rings are shared out: the first daemonRings
// for the daemon's workers, then appThreads per application slot. Call it
// once after Init, before publishing the area.
func (a *Area) SetRoles(daemonRings, appThreads int) error {
	if daemonRings < 0 || appThreads < 0 || daemonRings > a.nrings {
		return fmt.Errorf("%w: %d daemon rings, %d per app, %d rings", ErrLayout, daemonRings, appThreads, a.nrings)
	}
	h := (*header)(a.base)
	h.DaemonRings, h.AppThreads = uint32(daemonRings), uint32(appThreads)
	a.dRings, a.appThr = daemonRings, appThreads
	return nil
}

// AppRing returns the ring of application slot's thread, or -1 when the
// area has none for it.
func (a *Area) AppRing(slot, thread int) int {
	if a.appThr == 0 || thread < 0 || thread >= a.appThr || slot < 0 {
		return -1
	}
	r := a.dRings + slot*a.appThr + thread
	if r >= a.nrings {
		return -1
	}
	return r
}

// DaemonRings returns the number of rings of the daemon's workers (rings
// 0..DaemonRings()-1).
func (a *Area) DaemonRings() int { return a.dRings }

// Bytes returns the area's memory (for tests and tools that copy it).
func (a *Area) Bytes() []byte { return unsafe.Slice((*byte)(a.base), a.size) }

// Vdevs returns the number of controls.
func (a *Area) Vdevs() int { return a.nvdevs }

// Rings returns the number of rings.
func (a *Area) Rings() int { return a.nrings }

// Control returns vdev v's control.
func (a *Area) Control(v int) *Control {
	if v < 0 || v >= a.nvdevs {
		return nil
	}
	return (*Control)(unsafe.Add(a.base, HeaderSize+v*CtlSize))
}

func (a *Area) ring(r int) *ringHdr {
	off := HeaderSize + a.nvdevs*CtlSize + r*(RingHdr+int(a.ringSize)*RecordSize)
	return (*ringHdr)(unsafe.Add(a.base, off))
}

// Control is one vdev's trace switch and filter (struct mr_trace_control,
// 64 bytes in the area).
type Control struct {
	enable uint32    // 0 off; else on
	sample uint32    // record 1 in sample matching packets (0, 1: all); under seq
	seq    uint32    // seqlock over sample and f: odd while Set writes them
	_      uint32    // spare0
	f      [5]uint64 // struct mr_trace_filter (filterMem), stored and loaded word by word, atomically
	_      uint64    // spare1
}

// filterWords is the number of 8-byte words of struct mr_trace_filter.
const filterWords = abi.SizeofTraceFilter / 8

// On reports whether tracing is on: the data path's only cost when off.
func (c *Control) On() bool { return atomic.LoadUint32(&c.enable) != 0 }

// seqStale is how long Set waits for another controller's odd seq before
// it takes the lock over (that controller died between its two stores).
const seqStale = 200 * time.Millisecond

// lock takes the seqlock: it makes seq odd (CAS from even) and returns the
// odd value it holds.
func (c *Control) lock() uint32 {
	var since time.Time
	var held uint32
	for {
		s := atomic.LoadUint32(&c.seq)
		if s&1 == 0 {
			if atomic.CompareAndSwapUint32(&c.seq, s, s+1) {
				return s + 1
			}
			continue
		}
		// Another controller is writing (or died doing it).
		if since.IsZero() || s != held {
			since, held = time.Now(), s
		} else if time.Since(since) > seqStale && atomic.CompareAndSwapUint32(&c.seq, s, s+2) {
			return s + 2
		}
		runtime.Gosched()
	}
}

// Set switches tracing on with filter f, recording one in sample matching
// packets (0 or 1: every one). It may run while writers select packets
// with the old filter: sample and the filter change under the seqlock, so
// a writer sees either the old pair or the new one, never a mix; a writer
// that catches the update in progress skips that packet. enable is stored
// last.
func (c *Control) Set(f Filter, sample uint32) {
	s := c.lock()
	var w [filterWords]uint64
	*(*filterMem)(unsafe.Pointer(&w)) = f.mem()
	for i := range w {
		atomic.StoreUint64(&c.f[i], w[i])
	}
	atomic.StoreUint32(&c.sample, sample)
	atomic.StoreUint32(&c.seq, s+1) // release: even again, the fields above before it
	atomic.StoreUint32(&c.enable, 1)
}

// Off switches tracing off.
func (c *Control) Off() { atomic.StoreUint32(&c.enable, 0) }

// snapshot reads sample and the filter under the seqlock into *fm and
// *sample, returning the even seq they belong to, or false when Set is
// writing them (or wrote between the two loads).
func (c *Control) snapshot(fm *filterMem, sample *uint32) (uint32, bool) {
	s := atomic.LoadUint32(&c.seq) // acquire: pairs with Set's final seq store
	if s&1 != 0 {
		return 0, false
	}
	var w [filterWords]uint64
	for i := range w {
		w[i] = atomic.LoadUint64(&c.f[i])
	}
	smp := atomic.LoadUint32(&c.sample)
	if atomic.LoadUint32(&c.seq) != s {
		return 0, false
	}
	*fm, *sample = *(*filterMem)(unsafe.Pointer(&w)), smp
	return s, true
}

// Filter returns the control's current filter and sampling rate.
func (c *Control) Filter() (Filter, uint32) {
	var fm filterMem
	var smp uint32
	for {
		if _, ok := c.snapshot(&fm, &smp); ok {
			return fm.filter(), smp
		}
		runtime.Gosched()
	}
}

// ringHdr is struct mr_trace_ring.
type ringHdr struct {
	head  uint64 // W: the writer
	_     [3]uint64
	tailW uint64 // W: the reader
	lostW uint64 // W: the writer (its only writer: load and store)
	_     [2]uint64
}

func (r *ringHdr) tail() *uint64 { return &r.tailW }
func (r *ringHdr) lost() *uint64 { return &r.lostW }
func (r *ringHdr) rec(i uint64, size uint64) *Record {
	return (*Record)(unsafe.Add(unsafe.Pointer(r), RingHdr+(i&(size-1))*RecordSize))
}

// Record is one event (struct mr_trace_record, 64 bytes in the ring).
type Record struct {
	TSC    uint64 // TSC ticks: the area's Clock converts them to wall-clock time
	Stage  Stage
	Reason uint8  // drop reason (Stage Drop)
	Port   uint16 // port id (daemon stages) or PortNone
	Vdev   uint16
	Stream uint16
	Len    uint32
	Hash   uint32
	Tuple  Tuple // 5-tuple when the packet has one (Tuple.Proto != 0)
	_      [2]byte
}

// Writer is one ring's producer; use it from one goroutine only.
type Writer struct {
	r    *ringHdr
	size uint64
	head uint64
	tail uint64 // the reader's tail as last read (re-read when the ring looks full)
	seen uint32 // matching packets since the last sampled one
	// The last control's filter and sampling rate, valid while its seq
	// stays cseq (Control.snapshot): re-read only after a Set.
	ctl     *Control
	cseq    uint32
	csample uint32
	call    bool // cf matches every packet: sample before parsing
	cf      filterMem
	now     uint64 // the current burst's TSC, 0: not read yet (Burst)
	clk     Clock  // the area's calibration (the pure-Go twin of RDTSC converts the wall clock with it)
}

// Burst starts a burst: the next recorded event reads the clock, the
// burst's later events share that timestamp (one clock read per burst
// instead of one per event: RDTSC costs a few ns, the purego build's
// wall-clock read ~20 ns on bare metal and over 100 ns in some VMs). A
// writer calls it before each burst it traces; events recorded without a
// Burst in between keep the same timestamp.
func (w *Writer) Burst() { w.now = 0 }

// Writer returns the producer of ring r.
func (a *Area) Writer(r int) (*Writer, error) {
	if r < 0 || r >= a.nrings {
		return nil, fmt.Errorf("%w: ring %d of %d", ErrLayout, r, a.nrings)
	}
	h := a.ring(r)
	return &Writer{r: h, size: a.ringSize, head: atomic.LoadUint64(&h.head), tail: atomic.LoadUint64(h.tail()), clk: a.clk}, nil
}

// Trace records an event for frame when c's filter matches and the
// sampling rate selects it. Call it only when c.On() (the caller's one
// branch). It never blocks: a full ring counts a lost event. It reports
// whether an event was recorded.
//
// With a match-all filter and a full ring it does not parse the packet:
// the event would be lost anyway, it only counts it.
func (w *Writer) Trace(c *Control, stage Stage, reason uint8, port, vdev, stream uint16, frame []byte, hash uint32) bool {
	if w.head-w.tail >= w.size && w.full() && w.load(c) && w.call {
		if w.sampled() {
			w.addLost()
		}
		return false
	}
	var t Tuple
	if !w.Select(c, frame, &t) {
		return false
	}
	return w.Record(stage, reason, port, vdev, stream, uint32(len(frame)), hash, &t)
}

// Select parses frame's 5-tuple into t and reports whether c's filter
// matches it and the sampling rate selects it. A writer that records
// several stages of one packet (the daemon: port-rx then dist) selects
// once and calls Record per stage, so sampling keeps whole packets.
//
// With a filter that matches everything the sampling comes first and only
// the chosen packets are parsed.
func (w *Writer) Select(c *Control, frame []byte, t *Tuple) bool {
	if !w.load(c) {
		return false // Set is changing the filter: skip this packet
	}
	if w.call {
		if !w.sampled() {
			return false
		}
		ParseTuple(frame, t)
		return true
	}
	ParseTuple(frame, t)
	return w.cf.match(t) && w.sampled()
}

// Skip consumes, of the next n packets of a burst, those that c's sampling
// would pass over anyway, and returns their number: the caller selects
// from that index on. Only a match-all filter with a sampling rate above
// 1 skips (every packet then matches: no need to parse it); otherwise it
// returns 0. Calling Skip again after each chosen packet walks a burst
// with one call per chosen packet instead of one Select per packet:
//
//	for i := w.Skip(c, n); i < n; i += 1 + w.Skip(c, n-i-1) { … w.Select(c, bufs[i], &t) … }
func (w *Writer) Skip(c *Control, n int) int {
	if !w.load(c) {
		return n // Set is changing the filter: Select would skip them all
	}
	if !w.call || w.csample <= 1 {
		return 0
	}
	left := int(w.csample - 1 - w.seen) // packets before the next chosen one
	if left >= n {
		w.seen += uint32(n)
		return n
	}
	w.seen += uint32(left)
	return left
}

// sampled counts a matching packet and reports whether the sampling rate
// chooses it.
func (w *Writer) sampled() bool {
	if s := w.csample; s > 1 {
		w.seen++
		if w.seen < s {
			return false
		}
		w.seen = 0
	}
	return true
}

// load makes w.cf and w.csample c's current filter and sampling rate: one
// load of seq when they have not changed since the last call.
func (w *Writer) load(c *Control) bool {
	if w.ctl == c && atomic.LoadUint32(&c.seq) == w.cseq {
		return true
	}
	s, ok := c.snapshot(&w.cf, &w.csample)
	if !ok {
		w.ctl = nil
		return false
	}
	w.ctl, w.cseq, w.call = c, s, w.cf.all()
	return true
}

// Record writes one event for a packet Select chose (tuple t, length n).
// It never blocks: a full ring counts a lost event and returns false.
func (w *Writer) Record(stage Stage, reason uint8, port, vdev, stream uint16, n uint32, hash uint32, t *Tuple) bool {
	if w.head-w.tail >= w.size && w.full() {
		w.addLost()
		return false
	}
	if w.now == 0 {
		w.now = ticks(&w.clk)
	}
	rec := w.r.rec(w.head, w.size)
	*rec = Record{TSC: w.now, Stage: stage, Reason: reason, Port: port, Vdev: vdev, Stream: stream,
		Len: n, Hash: hash, Tuple: *t}
	w.head++
	atomic.StoreUint64(&w.r.head, w.head) // release: the record before the index
	return true
}

// full re-reads the reader's tail (the shared line is read only when the
// cached one says full, as DPDK's cached consumer index) and reports
// whether the ring is still full.
func (w *Writer) full() bool {
	w.tail = atomic.LoadUint64(w.r.tail())
	return w.head-w.tail >= w.size
}

// addLost counts an event dropped for a full ring. One writer per ring: a
// load and a release store, no LOCK XADD.
func (w *Writer) addLost() {
	l := w.r.lost()
	atomic.StoreUint64(l, atomic.LoadUint64(l)+1)
}

// Lost returns ring r's count of events dropped for a full ring.
func (a *Area) Lost(r int) uint64 { return atomic.LoadUint64(a.ring(r).lost()) }

// Read moves the events waiting in ring r into out (appending) and
// returns it; the single reader of a ring calls it.
func (a *Area) Read(r int, out []Record) []Record {
	h := a.ring(r)
	tail := atomic.LoadUint64(h.tail())
	head := atomic.LoadUint64(&h.head) // acquire: records up to head are written
	for ; tail != head; tail++ {
		out = append(out, *h.rec(tail, a.ringSize))
	}
	atomic.StoreUint64(h.tail(), tail)
	return out
}
