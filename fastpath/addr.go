package fastpath

import "unsafe"

// ptrAt turns an address in memory Go does not manage (hugepages, DPDK's
// anonymous memory) into an unsafe.Pointer. Such pointers are invisible to
// the garbage collector, which ignores addresses outside the Go heap; this
// spelling keeps go vet's unsafeptr check quiet for a conversion that is
// deliberate. unsafe.Add from nil, not a load of a's bytes as an
// unsafe.Pointer: that spelling makes the compiler store a loaded address to
// the stack and load it back (buf_addr in Mbuf.Data: a store-forwarding
// round trip on the way to the packet's first cache miss).
func ptrAt(a uintptr) unsafe.Pointer { return unsafe.Add(nil, a) }

func ld16(p unsafe.Pointer, off uintptr) uint16 { return *(*uint16)(unsafe.Add(p, off)) }
func ld32(p unsafe.Pointer, off uintptr) uint32 { return *(*uint32)(unsafe.Add(p, off)) }
func ld64(p unsafe.Pointer, off uintptr) uint64 { return *(*uint64)(unsafe.Add(p, off)) }
func ldp(p unsafe.Pointer, off uintptr) uintptr { return *(*uintptr)(unsafe.Add(p, off)) }

func st16(p unsafe.Pointer, off uintptr, v uint16) { *(*uint16)(unsafe.Add(p, off)) = v }
func st32(p unsafe.Pointer, off uintptr, v uint32) { *(*uint32)(unsafe.Add(p, off)) = v }
func st64(p unsafe.Pointer, off uintptr, v uint64) { *(*uint64)(unsafe.Add(p, off)) = v }
func stp(p unsafe.Pointer, off uintptr, v uintptr) { *(*uintptr)(unsafe.Add(p, off)) = v }

// cstring reads a NUL-terminated string of at most max bytes.
func cstring(p unsafe.Pointer, max int) (string, bool) {
	b := unsafe.Slice((*byte)(p), max)
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), true
		}
	}
	return "", false
}
