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

func enqueue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32 {
	return enqueue8Go(r, objs, flags)
}

func dequeue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32 {
	return dequeue8Go(r, objs, flags)
}
