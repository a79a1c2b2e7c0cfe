//go:build amd64 && gc && !purego

package fastpath

import "unsafe"

const haveAsm = true

// enqueue is __rte_ring_do_enqueue_elem in one assembly call: head move,
// copy, tail publish (ring_amd64.s).
//
//go:noescape
func enqueue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32

// dequeue is __rte_ring_do_dequeue_elem in one assembly call (ring_amd64.s).
//
//go:noescape
func dequeue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32

// enqueue8 is enqueue for pointer-sized elements (ring_amd64.s).
//
//go:noescape
func enqueue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32

// dequeue8 is dequeue for pointer-sized elements (ring_amd64.s).
//
//go:noescape
func dequeue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32
