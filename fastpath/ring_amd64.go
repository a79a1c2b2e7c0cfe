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

// The pointer-sized element kernels behind the Ring burst and bulk methods,
// one per method (ring_amd64.s): n objects at objs, the count moved
// returned. HTS/RTS ends tail-call enqueueSyncBurst8 and its siblings.

//go:noescape
func spEnqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func mpEnqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func enqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func spEnqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func mpEnqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func enqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func scDequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func mcDequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func dequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func scDequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func mcDequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32

//go:noescape
func dequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32

// Single-element kernels (ring_amd64.s): enqueue one pointer-sized element
// (SP, MP, or following the ring's sync type) and return the count, 0 or 1.
// HTS/RTS producers tail-call enqueueOneSync.

//go:noescape
func spEnqueueOne(r unsafe.Pointer, obj uintptr) uint32

//go:noescape
func mpEnqueueOne(r unsafe.Pointer, obj uintptr) uint32

//go:noescape
func enqueueOne(r unsafe.Pointer, obj uintptr) uint32

// Dequeue one pointer-sized element: n is 1 and obj the element, or n is 0
// and obj 0. HTS/RTS consumers tail-call dequeueOneSync.

//go:noescape
func scDequeueOne(r unsafe.Pointer) (obj uintptr, n uint32)

//go:noescape
func mcDequeueOne(r unsafe.Pointer) (obj uintptr, n uint32)

//go:noescape
func dequeueOne(r unsafe.Pointer) (obj uintptr, n uint32)

// The stall paths of the kernels' MP/MC tail waits (ring_amd64.s): after
// stallSpins looks at the tail a kernel stores old_head and the count into
// argument slots it is done with and tail-calls one of these, whose frame is
// identical to its own; they finish the wait in Go (stallWait: yield, give
// up with 0 when the ring is abandoned, else publish the tail) and return
// the kernel's result to its caller. The elements are already copied.

// enqueueStall finishes enqueue: old_head in n, the count in flags.
//
//lint:ignore U1000 tail-called from ring_amd64.s
func enqueueStall(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, old uint32, cnt uint32) uint32 {
	return stallWait(r, ringProdTail, old, cnt)
}

// dequeueStall finishes dequeue (see enqueueStall).
//
//lint:ignore U1000 tail-called from ring_amd64.s
func dequeueStall(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, old uint32, cnt uint32) uint32 {
	return stallWait(r, ringConsTail, old, cnt)
}

// enqueueStall8 finishes the pointer enqueue kernels (and enqMP1<> for
// them): old_head | count<<32 in n.
//
//lint:ignore U1000 tail-called from ring_amd64.s
func enqueueStall8(r unsafe.Pointer, objs *uintptr, st uint64) uint32 {
	return stallWait(r, ringProdTail, uint32(st), uint32(st>>32))
}

// dequeueStall8 finishes the pointer dequeue kernels (see enqueueStall8).
//
//lint:ignore U1000 tail-called from ring_amd64.s
func dequeueStall8(r unsafe.Pointer, objs *uintptr, st uint64) uint32 {
	return stallWait(r, ringConsTail, uint32(st), uint32(st>>32))
}

// enqueueOneStall finishes mpEnqueueOne and enqueueOne: old_head in obj.
//
//lint:ignore U1000 tail-called from ring_amd64.s
func enqueueOneStall(r unsafe.Pointer, old uintptr) uint32 {
	return stallWait(r, ringProdTail, uint32(old), 1)
}

// dequeueOneStall finishes mcDequeueOne and dequeueOne (assembly: it calls
// stallWait from a frame of its own, since those have no slot to spare).
//
//lint:ignore U1000 jumped to from ring_amd64.s
//go:noescape
func dequeueOneStall(r unsafe.Pointer) (obj uintptr, n uint32)
