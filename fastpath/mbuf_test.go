package fastpath

import (
	"errors"
	"testing"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// mbufFields returns the fields of an mbuf that do not depend on its address.
func mbufFields(m Mbuf) [12]uint64 {
	p := m.ptr()
	return [12]uint64{
		uint64(ld16(p, mbufOffDataOff)), uint64(ld16(p, mbufOffRefcnt)), uint64(ld16(p, mbufOffNbSegs)),
		uint64(ld16(p, mbufOffPort)), ld64(p, mbufOffOlFlags), uint64(ld32(p, mbufOffPacketType)),
		uint64(ld32(p, mbufOffPktLen)), uint64(ld16(p, mbufOffDataLen)), uint64(ld16(p, mbufOffVlanTci)),
		uint64(ld16(p, mbufOffBufLen)), ld64(p, mbufOffTxOffload), uint64(ld16(p, mbufOffVlanTciOuter)),
	}
}

// dirty scribbles over the fields rte_pktmbuf_reset must restore.
func dirty(m Mbuf) {
	p := m.ptr()
	st16(p, mbufOffDataOff, 7)
	st16(p, mbufOffPort, 3)
	st64(p, mbufOffOlFlags, 0x1234|mbufFExternal)
	st32(p, mbufOffPacketType, 0x11)
	st32(p, mbufOffPktLen, 99)
	st16(p, mbufOffDataLen, 99)
	st16(p, mbufOffVlanTci, 5)
	st16(p, mbufOffVlanTciOuter, 6)
	st64(p, mbufOffTxOffload, 77)
	st16(p, mbufOffNbSegs, 4)
}

func TestMbufResetDPDK(t *testing.T) {
	requireDPDK(t)
	mp := newPool(t, 63, 0, "")
	a, b := Mbuf(dpdkref.PktmbufAlloc(mp)), Mbuf(dpdkref.PktmbufAlloc(mp))
	defer dpdkref.PktmbufFree(uintptr(a))
	defer dpdkref.PktmbufFree(uintptr(b))
	dirty(a)
	dirty(b)
	dpdkref.PktmbufReset(uintptr(a))
	b.Reset()
	if mbufFields(a) != mbufFields(b) {
		t.Fatalf("reset differs:\n C %v\nGo %v", mbufFields(a), mbufFields(b))
	}
	// dirty set RTE_MBUF_F_EXTERNAL, which reset keeps: clear it before the
	// deferred frees (there is no external buffer).
	st64(a.ptr(), mbufOffOlFlags, 0)
	st64(b.ptr(), mbufOffOlFlags, 0)
}

// TestMbufAllocFreeDPDK: mbufs allocated by Go and freed by C and the
// reverse, single and bulk, chains and indirect mbufs; every pool returns to
// full.
func TestMbufAllocFreeDPDK(t *testing.T) {
	requireDPDK(t)
	const n = 255
	addr := newPool(t, n, 0, "")
	addr2 := newPool(t, n, 0, "")
	mp, err := MempoolAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCache(32)
	full := func(what string) {
		t.Helper()
		mp.Flush(c)
		if got := dpdkref.PoolAvail(addr); got != n {
			t.Fatalf("%s: pool has %d of %d", what, got, n)
		}
		if got := dpdkref.PoolAvail(addr2); got != n {
			t.Fatalf("%s: pool 2 has %d of %d", what, got, n)
		}
	}

	// Go alloc (single + bulk) → C free; compare with C-allocated fields.
	ref := Mbuf(dpdkref.PktmbufAlloc(addr))
	m, err := mp.AllocMbuf(c)
	if err != nil {
		t.Fatal(err)
	}
	if mbufFields(m) != mbufFields(ref) || m.Next() != 0 || m.Pool() != addr {
		t.Fatalf("alloc fields: Go %v, C %v", mbufFields(m), mbufFields(ref))
	}
	dpdkref.PktmbufFree(uintptr(m))
	dpdkref.PktmbufFree(uintptr(ref))
	ms := make([]Mbuf, 40)
	if err := mp.AllocMbufs(ms, c); err != nil {
		t.Fatal(err)
	}
	dpdkref.PktmbufFreeBulk(Uintptrs(ms))
	full("Go alloc, C free")

	// C alloc → Go free (single, bulk, chains across two pools).
	cm := make([]uintptr, 40)
	if dpdkref.PktmbufAllocBulk(addr, cm) != 0 {
		t.Fatal("C alloc bulk")
	}
	for _, x := range cm[:10] {
		if err := mp.FreeMbuf(Mbuf(x), c); err != nil {
			t.Fatal(err)
		}
	}
	other := dpdkref.PktmbufAlloc(addr2)
	if dpdkref.PktmbufChain(cm[10], cm[11]) != 0 || dpdkref.PktmbufChain(cm[10], other) != 0 || dpdkref.PktmbufChain(cm[10], cm[12]) != 0 {
		t.Fatal("C chain")
	}
	list := MbufsOf(append([]uintptr{cm[10], 0}, cm[13:]...))
	if err := mp.FreeMbufs(list, c); err != nil {
		t.Fatal(err)
	}
	full("C alloc, Go free")

	// Go chain → C free.
	if err := mp.AllocMbufs(ms[:3], c); err != nil {
		t.Fatal(err)
	}
	for _, x := range ms[:3] {
		if _, err := x.Append(100); err != nil {
			t.Fatal(err)
		}
	}
	if err := ms[0].Chain(ms[1]); err != nil {
		t.Fatal(err)
	}
	if err := ms[0].Chain(ms[2]); err != nil {
		t.Fatal(err)
	}
	if ms[0].NbSegs() != 3 || ms[0].PktLen() != 300 {
		t.Fatalf("chain: segs %d len %d", ms[0].NbSegs(), ms[0].PktLen())
	}
	mp.Flush(c)
	dpdkref.PktmbufFree(uintptr(ms[0]))
	full("Go chain, C free")

	// Indirect mbufs: clones from pool 2 of a direct mbuf of pool 1; free
	// in both orders, by Go.
	for order := 0; order < 2; order++ {
		d := dpdkref.PktmbufAlloc(addr)
		c1 := dpdkref.PktmbufClone(d, addr2)
		c2 := dpdkref.PktmbufClone(d, addr2)
		if c1 == 0 || c2 == 0 || Mbuf(d).Refcnt() != 3 {
			t.Fatalf("clone: refcnt %d", Mbuf(d).Refcnt())
		}
		seq := []uintptr{d, c1, c2}
		if order == 1 {
			seq = []uintptr{c1, c2, d}
		}
		for _, x := range seq {
			if err := mp.FreeMbuf(Mbuf(x), c); err != nil {
				t.Fatal(err)
			}
		}
		full("indirect")
	}
	// Indirect made by Go-side refcount + C attach, freed by C.
	d, _ := mp.AllocMbuf(c)
	ind := dpdkref.PktmbufAlloc(addr2)
	dpdkref.PktmbufAttach(ind, uintptr(d))
	if err := mp.FreeMbuf(d, c); err != nil {
		t.Fatal(err)
	}
	mp.Flush(c)
	dpdkref.PktmbufFree(ind)
	full("indirect, C free")

	// Double free (refcnt already 0) is detected and changes nothing.
	x, _ := mp.AllocMbuf(c)
	st16(x.ptr(), mbufOffRefcnt, 0)
	before := mp.AvailCount(c)
	if err := mp.FreeMbuf(x, c); !errors.Is(err, ErrDoubleFree) {
		t.Fatalf("double free: %v", err)
	}
	if mp.AvailCount(c) != before {
		t.Fatal("double free changed the pool")
	}
	st16(x.ptr(), mbufOffRefcnt, 1)
	if err := mp.FreeMbuf(x, c); err != nil {
		t.Fatal(err)
	}
	full("double free")
}

// TestMbufExtbufDPDK: an external buffer with a C free callback is refused
// (ErrExtBufCallback, mbuf intact for C to free); pinned external buffers
// are freed normally.
func TestMbufExtbufDPDK(t *testing.T) {
	requireDPDK(t)
	addr := newPool(t, 63, 0, "")
	mp, _ := MempoolAt(addr)
	m := dpdkref.PktmbufAlloc(addr)
	if err := dpdkref.AttachExtbuf(m, 512); err != nil {
		t.Fatal(err)
	}
	if err := mp.FreeMbuf(Mbuf(m), Cache{}); !errors.Is(err, ErrExtBufCallback) {
		t.Fatalf("extbuf free: %v", err)
	}
	if Mbuf(m).Refcnt() != 1 || Mbuf(m).OlFlags()&mbufFExternal == 0 {
		t.Fatal("refused extbuf mbuf was changed")
	}
	frees := dpdkref.ExtbufFrees()
	// Shared: a second reference through the refcount; Go drops one (fine),
	// the last is refused again.
	Mbuf(m).RefcntUpdate(1)
	if err := mp.FreeMbuf(Mbuf(m), Cache{}); err != nil {
		t.Fatal(err)
	}
	dpdkref.PktmbufFree(m)
	if dpdkref.ExtbufFrees() != frees+1 || dpdkref.PoolAvail(addr) != 63 {
		t.Fatalf("C free of extbuf: callbacks %d→%d, pool %d", frees, dpdkref.ExtbufFrees(), dpdkref.PoolAvail(addr))
	}

	pinned, err := dpdkref.PoolCreatePinned(dpdkref.Unique("pin"), 63, 0, 2048, 2048)
	if err != nil {
		t.Fatal(err)
	}
	defer dpdkref.PoolFree(pinned)
	pmp, err := MempoolAt(pinned)
	if err != nil {
		t.Fatal(err)
	}
	ms := make([]Mbuf, 10)
	if err := pmp.AllocMbufs(ms, Cache{}); err != nil {
		t.Fatal(err)
	}
	if ms[0].OlFlags()&mbufFExternal == 0 {
		t.Fatal("pinned pool mbuf is not external")
	}
	if err := pmp.FreeMbufs(ms[:5], Cache{}); err != nil {
		t.Fatal(err)
	}
	dpdkref.PktmbufFreeBulk(Uintptrs(ms[5:]))
	if dpdkref.PoolAvail(pinned) != 63 {
		t.Fatalf("pinned pool has %d", dpdkref.PoolAvail(pinned))
	}
}

func TestMbufBadInput(t *testing.T) {
	mem := mmapMem(t, 4096)
	m := Mbuf(mem)
	st64(m.ptr(), mbufOffBufAddr, uint64(mem+256))
	st16(m.ptr(), mbufOffBufLen, 1024)
	m.Reset()
	if _, err := m.Prepend(129); !errors.Is(err, ErrNoHeadroom) {
		t.Error(err)
	}
	if _, err := m.Append(1024 - 128 + 1); !errors.Is(err, ErrNoTailroom) {
		t.Error(err)
	}
	if err := m.Adj(1); !errors.Is(err, ErrTooLong) {
		t.Error(err)
	}
	if err := m.Trim(1); !errors.Is(err, ErrTooLong) {
		t.Error(err)
	}
	st16(m.ptr(), mbufOffNbSegs, 0xffff)
	if err := m.Chain(m); !errors.Is(err, ErrChainTooLong) {
		t.Error(err)
	}
	st16(m.ptr(), mbufOffNbSegs, 1)
	b, err := m.Append(10)
	if err != nil || len(b) != 10 || m.DataLen() != 10 || m.PktLen() != 10 {
		t.Fatal(err)
	}
	copy(b, "0123456789")
	if string(m.Data()) != "0123456789" {
		t.Fatalf("data %q", m.Data())
	}
}
