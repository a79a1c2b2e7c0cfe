//go:build debug

package fastpath

import (
	"strings"
	"testing"
)

// TestDebugChecks: with -tags debug, taking an mbuf that is not free from
// the pool panics with a precise message.
func TestDebugChecks(t *testing.T) {
	requireDPDK(t)
	mp, err := MempoolAt(newPool(t, 63, 0, ""))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCache(8)
	m, err := mp.AllocMbuf(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := mp.FreeMbuf(m, c); err != nil {
		t.Fatal(err)
	}
	st16(m.ptr(), mbufOffRefcnt, 2) // corrupt the free mbuf in the cache
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "not free") {
			t.Fatalf("recover() = %v, want the sanity-check panic", r)
		}
		st16(m.ptr(), mbufOffRefcnt, 1)
		mp.PutBulk([]uintptr{uintptr(m)}, c)
		mp.Flush(c)
	}()
	mp.AllocMbuf(c)
}
