//go:build amd64 && gc && !purego

package fastpath

// reverseCopy sets dst[i] = src[len(dst)-1-i] (copy_amd64.s): taking objects
// off a mempool cache, which is a stack.
//
//go:noescape
func reverseCopy(dst, src []uintptr)
