package shm_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto"
	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/shm"
)

// procInfoPool parses dpdk-proc-info --show-mempool for pool name: its size
// and the available count (common_pool_count + every cache_count).
func procInfoPool(t *testing.T, out, name string) (size, avail int) {
	t.Helper()
	i := strings.Index(out, "mempool <"+name+">")
	if i < 0 {
		t.Fatalf("proc-info shows no mempool %s:\n%s", name, out)
	}
	sect := out[i:]
	if j := strings.Index(sect[1:], "mempool <"); j >= 0 {
		sect = sect[:j+1]
	}
	num := func(re string) []int {
		var out []int
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(sect, -1) {
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
		return out
	}
	sz := num(`\n  size=(\d+)`)
	common := num(`common_pool_count=(\d+)`)
	if len(sz) != 1 || len(common) != 1 {
		t.Fatalf("cannot parse proc-info output:\n%s", sect)
	}
	avail = common[0]
	for _, c := range num(`cache_count\[\d+\]=(\d+)`) {
		avail += c
	}
	return sz[0], avail
}

// TestTestpmd attaches to a forwarding dpdk-testpmd and exercises look-ups,
// dpdk-proc-info side by side, mbufs taken from its pool and given back,
// its bus_vdev_mp handler and a heap growth while we are attached.
func TestTestpmd(t *testing.T) {
	if inChild(t) {
		return
	}
	checkLeaks(t)
	tp := startPrimary(t, testenv.TestpmdOptions{Interactive: true, MemMB: 256})
	if _, err := tp.Command("start", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	h := mustAttach(t, shm.Options{FilePrefix: tp.Prefix})
	st := h.Stats()
	t.Logf("attached to %s (DPDK %s): %d pages, %d mmaps, %d MiB in %v",
		tp.Prefix, shm.VersionString(h.Version()), st.Pages, st.Mappings, st.Bytes>>20, st.Elapsed)

	var pool shm.Mempool
	t.Run("Lookups", func(t *testing.T) {
		mz, err := h.Memzone("MP_mb_pool_0")
		if err != nil {
			t.Fatal(err)
		}
		if !h.Contains(mz.Addr, mz.Len) {
			t.Errorf("memzone %s %#x+%d not inside mapped memory", mz.Name, mz.Addr, mz.Len)
		}
		if _, err := h.Memzone("no such zone"); !errors.Is(err, shm.ErrNotFound) {
			t.Errorf("missing memzone: %v, want ErrNotFound", err)
		}
		r, err := h.Ring("MP_mb_pool_0")
		if err != nil {
			t.Fatal(err)
		}
		if r.Capacity == 0 || r.Size != r.Mask+1 {
			t.Errorf("ring %+v", r)
		}
		pool, err = h.Mempool("mb_pool_0")
		if err != nil {
			t.Fatal(err)
		}
		if pool.Ops == nil || pool.Ops.Name != "MP_mb_pool_0" {
			t.Fatalf("mempool %s: ops ring %+v, want MP_mb_pool_0", pool.Name, pool.Ops)
		}
		if pool.CacheSize != 250 || pool.Size == 0 || pool.PopulatedSize != pool.Size {
			t.Errorf("mempool %+v", pool)
		}
		if _, err := h.Ring("nope"); !errors.Is(err, shm.ErrNotFound) {
			t.Errorf("missing ring: %v", err)
		}
		if st := *u64(h.MemConfig() + 32); !ealPath && h.Channel() != nil && byte(st>>32) != 2 {
			t.Errorf("mp_status %d after attaching with IPC, want 2 (MP_STATUS_ENABLED)", byte(st>>32))
		}
		if h.Contains(0x1000, 8) || h.Contains(mz.Addr, 0) || h.Contains(^uintptr(0)-4, 8) {
			t.Error("Contains accepts unmapped ranges")
		}
	})
	if pool.Ops == nil {
		t.FailNow()
	}

	t.Run("ProcInfoWhileForwarding", func(t *testing.T) {
		out := testenv.ProcInfo(t, tp.Prefix, "--show-mempool")
		size, theirs := procInfoPool(t, out, "mb_pool_0")
		ours := int(pool.Available())
		if size != int(pool.Size) {
			t.Errorf("size: proc-info %d, ours %d", size, pool.Size)
		}
		// Traffic flows: allow what can be in flight (caches, bursts, rings).
		if d := ours - theirs; d < -4096 || d > 4096 {
			t.Errorf("available: proc-info %d, ours %d", theirs, ours)
		}
		t.Logf("available while forwarding: proc-info %d, ours %d", theirs, ours)
	})

	t.Run("ProcInfoStopped", func(t *testing.T) {
		if _, err := tp.Command("stop", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		defer tp.Command("start", 10*time.Second)
		out := testenv.ProcInfo(t, tp.Prefix, "--show-mempool")
		_, theirs := procInfoPool(t, out, "mb_pool_0")
		if ours := int(pool.Available()); ours != theirs {
			t.Errorf("available with forwarding stopped: proc-info %d, ours %d", theirs, ours)
		}
	})

	t.Run("TakeAndReturnMbufs", func(t *testing.T) {
		// Forwarding runs: the ring is MP/MC, so a concurrent consumer is
		// fine. fastpath's ring operations work on the primary's ring.
		ring, err := fastpath.RingAt(pool.Ops.Addr)
		if err != nil {
			t.Fatal(err)
		}
		objs := make([]uintptr, 64)
		var n int
		for i := 0; i < 1000 && n == 0; i++ {
			n = ring.MCDequeueBulk(objs)
		}
		if n != len(objs) {
			t.Fatalf("dequeued %d mbufs", n)
		}
		mz, _ := h.Memzone("MP_mb_pool_0_0")
		for _, o := range objs {
			if !h.Contains(o, 128) || o < mz.Addr || o >= mz.Addr+mz.Len {
				t.Fatalf("mbuf %#x outside the pool's memory %#x+%#x", o, mz.Addr, mz.Len)
			}
			// rte_mbuf.pool at 56 points back to the mempool.
			if p := uintptr(binary.NativeEndian.Uint64(mem(o+56, 8))); p != pool.Addr {
				t.Fatalf("mbuf %#x: pool %#x, want %#x", o, p, pool.Addr)
			}
		}
		if got := ring.MPEnqueueBulk(objs); got != len(objs) {
			t.Fatalf("gave back %d of %d", got, len(objs))
		}
		if _, err := tp.Command("stop", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		defer tp.Command("start", 10*time.Second)
		out := testenv.ProcInfo(t, tp.Prefix, "--show-mempool")
		_, theirs := procInfoPool(t, out, "mb_pool_0")
		if ours := int(pool.Available()); ours != theirs {
			t.Errorf("after give-back: proc-info %d, ours %d", theirs, ours)
		}
		if out, err := tp.Command("show port stats all", 5*time.Second); err != nil || !strings.Contains(out, "RX-packets") {
			t.Errorf("testpmd unhealthy after our dequeue/enqueue: %v\n%q", err, out)
		}
	})

	t.Run("BusVdevMP", func(t *testing.T) {
		ch := h.Channel()
		if ch == nil {
			t.Skip("no rte_mp channel on this path")
		}
		var mu sync.Mutex
		var names []string
		ch.Handle("bus_vdev_mp", func(m *ctrlproto.Message, _ string) (*ctrlproto.Message, error) {
			if len(m.Param) >= 72 && binary.NativeEndian.Uint32(m.Param) == 2 { // VDEV_SCAN_ONE
				mu.Lock()
				names = append(names, cstr(m.Param[8:72]))
				mu.Unlock()
			}
			return nil, nil
		})
		defer ch.Handle("bus_vdev_mp", nil)
		req := make([]byte, 72)               // struct vdev_param {int type; int num; char name[64];}
		binary.NativeEndian.PutUint32(req, 1) // VDEV_SCAN_REQ
		rep, err := ch.Request("", &ctrlproto.Message{Name: "bus_vdev_mp", Param: req}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Type != ctrlproto.TypeRep || len(rep.Param) != 72 {
			t.Fatalf("reply %+v", rep)
		}
		typ, num := binary.NativeEndian.Uint32(rep.Param), binary.NativeEndian.Uint32(rep.Param[4:])
		if typ != 3 || num != 2 { // VDEV_SCAN_REP, two vdevs
			t.Errorf("reply type %d num %d, want 3 2", typ, num)
		}
		// The MP_MSG for each vdev is sent before the reply.
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(names, ",") != "net_null0,net_null1" {
			t.Errorf("scanned vdevs %q", names)
		}
	})

	t.Run("HeapGrowsWhileAttached", func(t *testing.T) {
		if h.Channel() == nil {
			t.Skip("no rte_mp channel on this path")
		}
		growHeap(t, h, 64<<20)
	})
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// growHeap makes the primary allocate size more bytes of hugepages: it asks
// it, as a secondary's rte_malloc would (mp_malloc_request, REQ_TYPE_ALLOC,
// malloc_mp.c), which makes the primary map new pages, broadcast
// mp_malloc_sync to every secondary (us) and only report success once all
// answered. Then the new pages must be mapped here and readable.
func growHeap(t *testing.T, h *shm.Handle, size uint64) {
	t.Helper()
	ch := h.Channel()
	before := h.Stats().Pages
	syncs := h.Syncs()
	segsBefore := h.Segments()
	id := rand.Uint64()
	resp := make(chan []byte, 1)
	ch.Handle("mp_malloc_response", func(m *ctrlproto.Message, _ string) (*ctrlproto.Message, error) {
		if len(m.Param) >= 80 && binary.NativeEndian.Uint64(m.Param[64:]) == id {
			resp <- m.Param
		}
		return nil, nil
	})
	defer ch.Handle("mp_malloc_response", nil)
	p := make([]byte, 80) // struct malloc_mp_req
	ne := binary.NativeEndian
	ne.PutUint32(p[0:], 0)      // REQ_TYPE_ALLOC
	ne.PutUint32(p[8:], 0)      // alloc_req.malloc_heap_idx (socket 0's heap)
	ne.PutUint64(p[16:], 2<<20) // page_sz
	ne.PutUint64(p[24:], size)  // elt_size
	ne.PutUint32(p[32:], 0)     // socket
	ne.PutUint32(p[36:], 0)     // flags
	ne.PutUint64(p[40:], 64)    // align
	ne.PutUint64(p[48:], 0)     // bound
	p[56] = 0                   // contig
	ne.PutUint64(p[64:], id)    // id
	if err := ch.Send("", &ctrlproto.Message{Name: "mp_malloc_request", Param: p}); err != nil {
		t.Fatal(err)
	}
	var r []byte
	select {
	case r = <-resp:
	case <-time.After(10 * time.Second):
		t.Fatal("no mp_malloc_response from the primary")
	}
	if res := ne.Uint32(r[72:]); res != 0 {
		t.Fatalf("primary reports allocation result %d (REQ_RESULT_FAIL: a secondary did not sync)", res)
	}
	if h.Syncs() == syncs {
		t.Fatal("primary grew its heap without asking us to sync")
	}
	// Find the new pages: segments now mapped that were not before.
	old := map[uintptr]bool{}
	for _, s := range segsBefore {
		for a := s.Addr; a < s.Addr+s.Len; a += s.PageSz {
			old[a] = true
		}
	}
	var fresh []uintptr
	for _, s := range h.Segments() {
		for a := s.Addr; a < s.Addr+s.Len; a += s.PageSz {
			if !old[a] {
				fresh = append(fresh, a)
			}
		}
	}
	if uint64(len(fresh))*(2<<20) < size {
		t.Fatalf("%d new pages mapped after growing by %d MiB", len(fresh), size>>20)
	}
	var sum byte
	for _, a := range fresh {
		if !h.Contains(a, 2<<20) {
			t.Fatalf("new page %#x not in Contains", a)
		}
		b := mem(a, 2<<20)
		sum += b[0] + b[len(b)-1] // touching faults the page in: it must be backed
	}
	t.Logf("primary grew by %d pages (we had %d at attach); %d syncs answered; checksum %d",
		len(fresh), before, h.Syncs()-syncs, sum)
}
