//go:build !(amd64 && gc && !purego)

package fastpath

// useAVX2 has no effect without the assembly kernels.
var useAVX2 = false

func reverseCopy(dst, src []uintptr) { reverseCopyGo(dst, src) }
