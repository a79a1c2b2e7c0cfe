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
//	header    0..64      magic "MRTR", version, nr_vdevs, nr_rings, ring_size,
//	                     daemon_rings, app_threads
//	controls  64..       nr_vdevs × 64: one per vdev (Control)
//	rings     …          nr_rings × (64 + ring_size × 64): header + records
//
// A Control's enable word is read by every writer before anything else:
// tracing off costs one load and one predictable branch (Control.On). It
// is written last when switching on (after filter and sampling rate) and
// first when switching off.
//
// Rings 0..daemon_rings-1 belong to the daemon's workers; application slot
// s, thread k writes ring daemon_rings + s*app_threads + k (AppRing).
//
// Each ring has exactly one writer (a daemon worker or an application
// thread) and one reader (mrtrace): the writer owns head, the reader owns
// tail. A full ring never blocks the writer: the event is dropped and
// counted in the ring's lost word.
//
// Timestamps are wall-clock nanoseconds (time.Now().UnixNano(), the vDSO
// CLOCK_REALTIME read, ~20 ns), comparable across the daemon and the
// applications; RDTSC would be cheaper but needs a per-host calibration
// to be shown.
package trace

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
)

// Layout constants.
const (
	Magic      = 0x5254524d // "MRTR"
	Version    = 1
	HeaderSize = 64
	CtlSize    = 64
	RingHdr    = 64
	RecordSize = 64
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

// Stages, in the order a packet meets them.
const (
	PortRx Stage = iota + 1
	Distribute
	AppRx
	AppTx
	PortTx
	Drop
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
}

type header struct {
	Magic, Version, NrVdevs, NrRings, RingSize, DaemonRings, AppThreads uint32
	_                                                                   [HeaderSize - 28]byte
}

// Size returns the bytes an area of nvdevs controls and nrings rings of
// ringSize records needs.
func Size(nvdevs, nrings, ringSize int) int {
	return HeaderSize + nvdevs*CtlSize + nrings*(RingHdr+ringSize*RecordSize)
}

// Init lays out a fresh area in mem (zeroed first). ringSize must be a
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
	atomic.StoreUint32(&h.Magic, Magic)
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
	rs := int(h.RingSize)
	if h.NrVdevs == 0 || h.NrRings == 0 || rs < 2 || rs&(rs-1) != 0 || len(mem) < Size(int(h.NrVdevs), int(h.NrRings), rs) {
		return nil, fmt.Errorf("%w: %d vdevs, %d rings of %d in %d bytes", ErrLayout, h.NrVdevs, h.NrRings, rs, len(mem))
	}
	return &Area{base: unsafe.Pointer(unsafe.SliceData(mem)), size: uintptr(len(mem)), nvdevs: int(h.NrVdevs), nrings: int(h.NrRings), ringSize: uint64(rs),
		dRings: int(h.DaemonRings), appThr: int(h.AppThreads)}, nil
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

// Control is one vdev's trace switch and filter (64 bytes in the area).
type Control struct {
	enable uint32 // 0 off; else on
	sample uint32 // record 1 in sample matching packets (0, 1: all)
	f      filterMem
	_      [CtlSize - 8 - unsafe.Sizeof(filterMem{})]byte
}

// On reports whether tracing is on: the data path's only cost when off.
func (c *Control) On() bool { return atomic.LoadUint32(&c.enable) != 0 }

// Set switches tracing on with filter f, recording one in sample matching
// packets (0 or 1: every one).
func (c *Control) Set(f Filter, sample uint32) {
	atomic.StoreUint32(&c.enable, 0)
	c.f = f.mem()
	atomic.StoreUint32(&c.sample, sample)
	atomic.StoreUint32(&c.enable, 1)
}

// Off switches tracing off.
func (c *Control) Off() { atomic.StoreUint32(&c.enable, 0) }

// Filter returns the control's current filter and sampling rate.
func (c *Control) Filter() (Filter, uint32) { return c.f.filter(), atomic.LoadUint32(&c.sample) }

type ringHdr struct {
	head uint64 // W: the writer
	_    [56]byte
}

// tail (W: the reader) and lost (W: the writer, atomically) live in the
// same 64-byte header, 32 bytes after head.
func (r *ringHdr) tail() *uint64 { return (*uint64)(unsafe.Add(unsafe.Pointer(r), 32)) }
func (r *ringHdr) lost() *uint64 { return (*uint64)(unsafe.Add(unsafe.Pointer(r), 40)) }
func (r *ringHdr) rec(i uint64, size uint64) *Record {
	return (*Record)(unsafe.Add(unsafe.Pointer(r), RingHdr+(i&(size-1))*RecordSize))
}

// Record is one event (64 bytes in the ring).
type Record struct {
	Time   int64 // ns, wall clock
	Stage  Stage
	Reason uint8  // drop reason (Stage Drop)
	Port   uint16 // port id (daemon stages) or 0xffff
	Vdev   uint16
	Stream uint16
	Len    uint32
	Hash   uint32
	Tuple  Tuple // 5-tuple when the packet has one (Tuple.Proto != 0)
	_      [RecordSize - 24 - unsafe.Sizeof(Tuple{})]byte
}

// Writer is one ring's producer; use it from one goroutine only.
type Writer struct {
	r    *ringHdr
	size uint64
	head uint64
	seen uint32 // matching packets since the last sampled one
}

// Writer returns the producer of ring r.
func (a *Area) Writer(r int) (*Writer, error) {
	if r < 0 || r >= a.nrings {
		return nil, fmt.Errorf("%w: ring %d of %d", ErrLayout, r, a.nrings)
	}
	h := a.ring(r)
	return &Writer{r: h, size: a.ringSize, head: atomic.LoadUint64(&h.head)}, nil
}

// Trace records an event for frame when c's filter matches and the
// sampling rate selects it. Call it only when c.On() (the caller's one
// branch). It never blocks: a full ring counts a lost event. It reports
// whether an event was recorded.
func (w *Writer) Trace(c *Control, stage Stage, reason uint8, port, vdev, stream uint16, frame []byte, hash uint32) bool {
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
func (w *Writer) Select(c *Control, frame []byte, t *Tuple) bool {
	ParseTuple(frame, t)
	if !c.f.match(t) {
		return false
	}
	if s := atomic.LoadUint32(&c.sample); s > 1 {
		w.seen++
		if w.seen < s {
			return false
		}
		w.seen = 0
	}
	return true
}

// Record writes one event for a packet Select chose (tuple t, length n).
// It never blocks: a full ring counts a lost event and returns false.
func (w *Writer) Record(stage Stage, reason uint8, port, vdev, stream uint16, n uint32, hash uint32, t *Tuple) bool {
	if w.head-atomic.LoadUint64(w.r.tail()) >= w.size {
		atomic.AddUint64(w.r.lost(), 1)
		return false
	}
	rec := w.r.rec(w.head, w.size)
	*rec = Record{Time: time.Now().UnixNano(), Stage: stage, Reason: reason, Port: port, Vdev: vdev, Stream: stream,
		Len: n, Hash: hash, Tuple: *t}
	w.head++
	atomic.StoreUint64(&w.r.head, w.head) // release: the record before the index
	return true
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
