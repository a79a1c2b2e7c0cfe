//go:build !(amd64 && gc && !purego)

package fastpath

func reverseCopy(dst, src []uintptr) { reverseCopyGo(dst, src) }
