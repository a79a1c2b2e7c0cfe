package marsio

import (
	"unsafe"

	"github.com/gomarsio/marsio/internal/trace"
)

// Data-path trace, library side (issue 10 part 3; see internal/trace).
// When the daemon publishes the trace area (memzone traceMemzone), Init
// attaches to it; each device points at its vdev's control, each thread
// writes its own ring (trace.Area.AppRing). RecvBurst records app-rx and
// SendBurst and SendIP app-tx events for packets the control's filter
// selects; SendIP records a drop (reason unresolved) for a packet it drops
// for want of a neighbour. With tracing off the cost is one load and one
// predictable branch per burst; the build tag notrace compiles even that
// out (traceCompiled false).
//
// The daemon's workers record port-rx, dist, port-tx and drop events in
// their own rings of the same area (tools/mrzcpd/internal/daemon/trace.go).

// traceMemzone is the trace area's memzone (MR_TRACE_MEMZONE).
const traceMemzone = trace.Memzone

// traceOff is the control of devices without a trace area: always off.
var traceOff trace.Control

// attachTrace binds the daemon's trace area when it has one.
func (i *Instance) attachTrace() {
	addr, size, err := i.mem.memzone(traceMemzone)
	if err != nil || !i.mem.contains(addr, size) {
		return
	}
	a, err := trace.Attach(unsafe.Slice((*byte)(ptrAt(addr)), size))
	if err != nil {
		return
	}
	i.tr = a
}

// traceControl returns vdev index's control, or the always-off one.
func (i *Instance) traceControl(index uint32) *trace.Control {
	if i.tr != nil {
		if c := i.tr.Control(int(index)); c != nil {
			return c
		}
	}
	return &traceOff
}

// traceBurst records stage events for bufs (tracing is on for d).
func (t *Thread) traceBurst(d *Device, bufs []Buffer, stage trace.Stage) {
	t.traceEvents(d, bufs, stage, trace.DropNone)
}

// traceDropWords records Drop events with reason for the mbufs at objs
// (tracing is on for d), before they are freed.
func (t *Thread) traceDropWords(d *Device, objs []uintptr, reason uint8) {
	t.traceWords(d, objs, trace.Drop, reason)
}

// traceWords records stage events for the mbufs at objs (tracing is on
// for d).
func (t *Thread) traceWords(d *Device, objs []uintptr, stage trace.Stage, reason uint8) {
	t.traceEvents(d, unsafe.Slice((*Buffer)(unsafe.Pointer(unsafe.SliceData(objs))), len(objs)), stage, reason)
}

// traceEvents records one stage event per buffer of bufs that d's filter
// and sampling select, in this thread's ring.
func (t *Thread) traceEvents(d *Device, bufs []Buffer, stage trace.Stage, reason uint8) {
	if t.tw == nil {
		i := t.inst
		if i.tr == nil {
			return
		}
		r := i.tr.AppRing(int(i.slot), t.id)
		if r < 0 {
			return
		}
		w, err := i.tr.Writer(r)
		if err != nil {
			return
		}
		t.tw = w
	}
	w, n := t.tw, len(bufs)
	w.Burst()
	// Skip: with a match-all filter sampling 1/N, one call per chosen
	// packet instead of one Select per packet.
	for i := w.Skip(d.tc, n); i < n; i += 1 + w.Skip(d.tc, n-i-1) {
		b := bufs[i]
		w.Trace(d.tc, stage, reason, 0xffff, uint16(d.index), uint16(t.id), b.m.Data(), b.m.Hash())
	}
}
