package daemon

/*
#include <rte_ring.h>
*/
import "C"

import "unsafe"

// uintptrOf returns the address of C memory.
func uintptrOf[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

// ptrOf turns an address stored in shared memory (C memory, never Go's)
// back into a pointer.
func ptrOf(a uint64) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(nil), uintptr(a))
}
