//go:build amd64 && gc && !purego

package fastpath

import "golang.org/x/sys/cpu"

// useAVX2 selects 32-byte copies in the pointer ring kernels and the mempool
// cache kernels where the CPU has AVX2 (tests switch it off to run the SSE2
// path, the amd64 baseline).
var useAVX2 = cpu.X86.HasAVX2

// reverseCopy sets dst[i] = src[len(dst)-1-i] (copy_amd64.s): taking objects
// off a mempool cache, which is a stack.
//
//go:noescape
func reverseCopy(dst, src []uintptr)
