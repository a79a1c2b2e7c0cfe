//go:build !(amd64 && gc && !purego)

package fastpath

import "unsafe"

func mempoolGet(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) error {
	return mempoolGetGo(c, objs, n, mp)
}

func mempoolPut(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) {
	mempoolPutGo(c, objs, n, mp)
}
