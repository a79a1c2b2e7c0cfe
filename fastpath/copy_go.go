package fastpath

// reverseCopyGo is the Go twin of reverseCopy: dst[i] = src[len(dst)-1-i].
func reverseCopyGo(dst, src []uintptr) {
	src = src[:len(dst)]
	for i, j := 0, len(src)-1; j >= 0; i, j = i+1, j-1 {
		dst[i] = src[j]
	}
}
