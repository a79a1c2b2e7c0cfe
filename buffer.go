package marsio

import (
	"unsafe"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Buffer is a handle on one packet buffer: an rte_mbuf in the daemon's
// shared memory, received from a device or allocated from a pool. It is a
// single machine word (a []Buffer has the layout of DPDK's struct rte_mbuf *
// array, so bursts move without copying or allocating). A Buffer is valid
// from the receive or allocation that produced it until it is sent or freed,
// and never after the instance's Close; the []byte returned by Data aliases
// the packet memory with the same lifetime.
type Buffer struct{ p uintptr }

// Offsets inside struct rte_mbuf of the DPDK version this build mirrors.
const (
	mbufBufAddr    = dpdk.OffsetofMbufBufAddr
	mbufDataOff    = dpdk.OffsetofMbufDataOff
	mbufRefcnt     = dpdk.OffsetofMbufRefcnt
	mbufNbSegs     = dpdk.OffsetofMbufNbSegs
	mbufPort       = dpdk.OffsetofMbufPort
	mbufOlFlags    = dpdk.OffsetofMbufOlFlags
	mbufPacketType = dpdk.OffsetofMbufPacketType
	mbufPktLen     = dpdk.OffsetofMbufPktLen
	mbufDataLen    = dpdk.OffsetofMbufDataLen
	mbufHash       = dpdk.OffsetofMbufHashRss
	mbufBufLen     = dpdk.OffsetofMbufBufLen
	mbufPool       = dpdk.OffsetofMbufPool
	mbufNext       = dpdk.OffsetofMbufNext
)

func (b Buffer) at(off uintptr) unsafe.Pointer { return ptrAt(b.p + off) }

// IsZero reports whether b is the zero Buffer.
func (b Buffer) IsZero() bool { return b.p == 0 }

// Addr returns the address of the rte_mbuf.
func (b Buffer) Addr() uintptr { return b.p }

// BufferAt wraps the rte_mbuf at addr (for interoperating code; the address
// is not checked).
func BufferAt(addr uintptr) Buffer { return Buffer{addr} }

// Data returns the first segment's packet bytes, zero-copy.
func (b Buffer) Data() []byte {
	base := *(*uintptr)(b.at(mbufBufAddr))
	off := *(*uint16)(b.at(mbufDataOff))
	n := *(*uint16)(b.at(mbufDataLen))
	return unsafe.Slice((*byte)(ptrAt(base+uintptr(off))), int(n))
}

// dataAddr returns the address of the first data byte.
func (b Buffer) dataAddr() uintptr {
	return *(*uintptr)(b.at(mbufBufAddr)) + uintptr(*(*uint16)(b.at(mbufDataOff)))
}

// Len returns the packet length (all segments).
func (b Buffer) Len() int { return int(*(*uint32)(b.at(mbufPktLen))) }

// SegLen returns the first segment's data length.
func (b Buffer) SegLen() int { return int(*(*uint16)(b.at(mbufDataLen))) }

// Segments returns the number of segments.
func (b Buffer) Segments() int { return int(*(*uint16)(b.at(mbufNbSegs))) }

// Next returns the next segment, or the zero Buffer.
func (b Buffer) Next() Buffer { return Buffer{*(*uintptr)(b.at(mbufNext))} }

// Port returns the input port id the daemon set on receive.
func (b Buffer) Port() uint16 { return *(*uint16)(b.at(mbufPort)) }

// SetPort sets the port field.
func (b Buffer) SetPort(port uint16) { *(*uint16)(b.at(mbufPort)) = port }

// Hash returns the flow hash the daemon distributed the packet by (stored in
// the mbuf's hash.rss field on receive; 0 on buffers the app allocated).
func (b Buffer) Hash() uint32 { return *(*uint32)(b.at(mbufHash)) }

// SetHash sets the hash.rss field.
func (b Buffer) SetHash(h uint32) { *(*uint32)(b.at(mbufHash)) = h }

// Headroom returns the free bytes before the data.
func (b Buffer) Headroom() int { return int(*(*uint16)(b.at(mbufDataOff))) }

// Tailroom returns the free bytes after the first segment's data.
func (b Buffer) Tailroom() int {
	return int(*(*uint16)(b.at(mbufBufLen))) - int(*(*uint16)(b.at(mbufDataOff))) - int(*(*uint16)(b.at(mbufDataLen)))
}

// asWords views a []Buffer as the []uintptr the rings move.
func asWords(bufs []Buffer) []uintptr {
	return unsafe.Slice((*uintptr)(unsafe.Pointer(unsafe.SliceData(bufs))), len(bufs))
}

// owner returns the address of b's owner tag (the MR_OWNER_DYNFIELD).
func (i *Instance) ownerTag(p uintptr) *uint32 { return (*uint32)(ptrAt(p + i.ownerOff)) }
