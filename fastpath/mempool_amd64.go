//go:build amd64 && gc && !purego

package fastpath

import "unsafe"

// mempoolGet is Mempool.GetBulk (mempool_amd64.s): the cache hit in
// assembly, anything else tail-calls mempoolGetSlow.
//
//go:noescape
func mempoolGet(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) error

// mempoolPut is Mempool.PutBulk (mempool_amd64.s): the cache fit in
// assembly, anything else tail-calls mempoolPutSlow.
//
//go:noescape
func mempoolPut(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool)
