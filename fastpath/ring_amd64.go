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
