package fastpath

import (
	"slices"
	"testing"
)

func TestReverseCopyTwin(t *testing.T) {
	src := make([]uintptr, 70)
	for i := range src {
		src[i] = uintptr(i*7 + 1)
	}
	for n := 0; n <= len(src); n++ {
		a, b := make([]uintptr, n+1), make([]uintptr, n+1)
		reverseCopy(a[:n], src[len(src)-n:])
		reverseCopyGo(b[:n], src[len(src)-n:])
		want := slices.Clone(src[len(src)-n:])
		slices.Reverse(want)
		if !slices.Equal(a, b) || !slices.Equal(a[:n], want) || a[n] != 0 {
			t.Fatalf("n=%d: %v vs %v", n, a, b)
		}
	}
}
