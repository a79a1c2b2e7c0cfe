package marsio

import (
	"errors"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath"
)

// Buffer is a handle on one packet buffer: an rte_mbuf in the daemon's
// shared memory, received from a device or allocated from a pool. It is a
// single machine word (a []Buffer has the layout of DPDK's struct rte_mbuf *
// array, so bursts move without copying or allocating). A Buffer is valid
// from the receive or allocation that produced it until it is sent or freed,
// and never after the instance's Close; the []byte returned by Data aliases
// the packet memory with the same lifetime.
type Buffer struct{ m fastpath.Mbuf }

// BufferAt wraps the rte_mbuf at addr (for interoperating code; the address
// is not checked).
func BufferAt(addr uintptr) Buffer { return Buffer{fastpath.Mbuf(addr)} }

// Mbuf returns the underlying fastpath handle.
func (b Buffer) Mbuf() fastpath.Mbuf { return b.m }

// IsZero reports whether b is the zero Buffer.
func (b Buffer) IsZero() bool { return b.m == 0 }

// Addr returns the address of the rte_mbuf.
func (b Buffer) Addr() uintptr { return uintptr(b.m) }

// Data returns the first segment's packet bytes, zero-copy. Take a new view
// after Prepend or Adj.
func (b Buffer) Data() []byte { return b.m.Data() }

// Len returns the packet length (all segments).
func (b Buffer) Len() int { return b.m.PktLen() }

// SegLen returns the first segment's data length.
func (b Buffer) SegLen() int { return b.m.DataLen() }

// Segments returns the number of segments.
func (b Buffer) Segments() int { return b.m.NbSegs() }

// Next returns the next segment, or the zero Buffer.
func (b Buffer) Next() Buffer { return Buffer{b.m.Next()} }

// Port returns the input port id the daemon set on receive.
func (b Buffer) Port() uint16 { return b.m.Port() }

// SetPort sets the port field.
func (b Buffer) SetPort(port uint16) { b.m.SetPort(port) }

// Hash returns the mbuf's hash.rss field: the flow hash the daemon
// distributed the packet by, when the daemon stores it (0 on buffers the
// application allocated). Thread.FlowHash computes it from the packet.
func (b Buffer) Hash() uint32 { return b.m.Hash() }

// Headroom returns the free bytes before the data.
func (b Buffer) Headroom() int { return b.m.Headroom() }

// Tailroom returns the free bytes after the last segment's data.
func (b Buffer) Tailroom() int { return b.m.LastSeg().Tailroom() }

// Prepend grows the data by n bytes at the front and returns them
// (rte_pktmbuf_prepend); the error matches fastpath.ErrNoHeadroom.
func (b Buffer) Prepend(n int) ([]byte, error) { return b.m.Prepend(n) }

// Append grows the data by n bytes at the end and returns them
// (rte_pktmbuf_append); the error matches fastpath.ErrNoTailroom.
func (b Buffer) Append(n int) ([]byte, error) { return b.m.Append(n) }

// Adj removes n bytes from the front (rte_pktmbuf_adj).
func (b Buffer) Adj(n int) error { return b.m.Adj(n) }

// Trim removes n bytes from the end (rte_pktmbuf_trim).
func (b Buffer) Trim(n int) error { return b.m.Trim(n) }

// Chain appends tail's segments to b (rte_pktmbuf_chain); tail is b's from
// then on. Both must come from this application.
func (b Buffer) Chain(tail Buffer) error { return b.m.Chain(tail.m) }

// SetData replaces the packet with a copy of p (one segment): a convenience
// for building packets in freshly allocated buffers.
func (b Buffer) SetData(p []byte) error {
	if b.m.NbSegs() != 1 {
		return errors.New("marsio: SetData on a chained buffer")
	}
	if err := b.m.Trim(b.m.DataLen()); err != nil {
		return err
	}
	d, err := b.m.Append(len(p))
	if err != nil {
		return err
	}
	copy(d, p)
	return nil
}

// asWords views a []Buffer as the []uintptr the rings move.
func asWords(bufs []Buffer) []uintptr {
	return unsafe.Slice((*uintptr)(unsafe.Pointer(unsafe.SliceData(bufs))), len(bufs))
}

// ownerTag returns the address of the owner tag (MR_OWNER_DYNFIELD) of the
// mbuf at p.
func (i *Instance) ownerTag(p uintptr) *uint32 { return (*uint32)(ptrAt(p + i.ownerOff)) }
