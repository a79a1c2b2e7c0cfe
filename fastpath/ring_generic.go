//go:build !(amd64 && gc && !purego)

package fastpath

import "unsafe"

const haveAsm = false

func enqueue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32 {
	return enqueueGo(r, objs, esize, n, flags)
}

func dequeue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32 {
	return dequeueGo(r, objs, esize, n, flags)
}

func spEnqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueue8Go(r, unsafe.Slice(objs, n), kSingle|kFixed)
}

func mpEnqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueue8Go(r, unsafe.Slice(objs, n), kFixed)
}

func enqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueue8Go(r, unsafe.Slice(objs, n), kGeneric|kFixed)
}

func spEnqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueue8Go(r, unsafe.Slice(objs, n), kSingle)
}

func mpEnqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueue8Go(r, unsafe.Slice(objs, n), 0)
}

func enqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return enqueue8Go(r, unsafe.Slice(objs, n), kGeneric)
}

func scDequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeue8Go(r, unsafe.Slice(objs, n), kSingle|kFixed)
}

func mcDequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeue8Go(r, unsafe.Slice(objs, n), kFixed)
}

func dequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeue8Go(r, unsafe.Slice(objs, n), kGeneric|kFixed)
}

func scDequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeue8Go(r, unsafe.Slice(objs, n), kSingle)
}

func mcDequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeue8Go(r, unsafe.Slice(objs, n), 0)
}

func dequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32 {
	return dequeue8Go(r, unsafe.Slice(objs, n), kGeneric)
}

func spEnqueueOne(r unsafe.Pointer, obj uintptr) uint32 { return enqueueOneGo(r, obj, kSingle) }
func mpEnqueueOne(r unsafe.Pointer, obj uintptr) uint32 { return enqueueOneGo(r, obj, 0) }
func enqueueOne(r unsafe.Pointer, obj uintptr) uint32   { return enqueueOneGo(r, obj, kGeneric) }

func scDequeueOne(r unsafe.Pointer) (uintptr, uint32) { return dequeueOneGo(r, kSingle) }
func mcDequeueOne(r unsafe.Pointer) (uintptr, uint32) { return dequeueOneGo(r, 0) }
func dequeueOne(r unsafe.Pointer) (uintptr, uint32)   { return dequeueOneGo(r, kGeneric) }
