package shm_test

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/shm"
)

// startPrimary starts a testpmd primary for the test.
func startPrimary(t *testing.T, o testenv.TestpmdOptions) *testenv.Testpmd {
	t.Helper()
	return testenv.StartTestpmd(t, o)
}

// mustAttach attaches (by the path this build tests: pure Go, or EAL with
// -tags eal) and detaches at cleanup, checking that Detach leaves nothing.
func mustAttach(t *testing.T, o shm.Options) *shm.Handle {
	t.Helper()
	h, err := attach(o)
	if err != nil {
		t.Fatalf("attach %s: %v", o.FilePrefix, err)
	}
	t.Cleanup(func() {
		if err := h.Detach(); err != nil && err != shm.ErrDetached {
			t.Errorf("detach: %v", err)
		}
	})
	return h
}

// assertNothingLeft checks that no hugepage file, fbarray or mp socket of
// prefix is mapped or bound by this process.
func assertNothingLeft(t *testing.T, prefix string) {
	t.Helper()
	if m := testenv.MappingsMatching(prefix); len(m) > 0 && !ealPath {
		t.Errorf("still mapped after detach/failed attach: %+v", m)
	}
	socks, _ := filepath.Glob(filepath.Join(shm.RuntimeDir(prefix), "mp_socket_"+itoa(os.Getpid())+"_*"))
	if len(socks) > 0 {
		t.Errorf("our mp socket still exists: %v", socks)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

func mem(addr uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), n)
}

// ringDequeueMC / ringEnqueueMP are a minimal multi-consumer dequeue and
// multi-producer enqueue on a 22.11 rte_ring of 8-byte objects, for tests
// only (the library's is fastpath's). They follow
// __rte_ring_move_cons_head / __rte_ring_update_tail (C11 flavour).
func ringDequeueMC(r shm.Ring, objs []uintptr) int {
	cons := r.Addr + 256
	prod := r.Addr + 128
	n := uint32(len(objs))
	var head uint32
	for {
		head = atomic.LoadUint32(u32(cons))
		prodTail := atomic.LoadUint32(u32(prod + 4))
		if prodTail-head < n {
			return 0
		}
		if atomic.CompareAndSwapUint32(u32(cons), head, head+n) {
			break
		}
	}
	for i := uint32(0); i < n; i++ {
		objs[i] = *(*uintptr)(unsafe.Pointer(u64(r.Addr + 384 + uintptr((head+i)&r.Mask)*8)))
	}
	for atomic.LoadUint32(u32(cons+4)) != head {
	}
	atomic.StoreUint32(u32(cons+4), head+n)
	return int(n)
}

func ringEnqueueMP(r shm.Ring, objs []uintptr) int {
	cons := r.Addr + 256
	prod := r.Addr + 128
	n := uint32(len(objs))
	var head uint32
	for {
		head = atomic.LoadUint32(u32(prod))
		consTail := atomic.LoadUint32(u32(cons + 4))
		if r.Capacity+consTail-head < n {
			return 0
		}
		if atomic.CompareAndSwapUint32(u32(prod), head, head+n) {
			break
		}
	}
	for i := uint32(0); i < n; i++ {
		*(*uintptr)(unsafe.Pointer(u64(r.Addr + 384 + uintptr((head+i)&r.Mask)*8))) = objs[i]
	}
	for atomic.LoadUint32(u32(prod+4)) != head {
	}
	atomic.StoreUint32(u32(prod+4), head+n)
	return int(n)
}

func u32(a uintptr) *uint32 { return (*uint32)(*(*unsafe.Pointer)(unsafe.Pointer(&a))) }
func u64(a uintptr) *uint64 { return (*uint64)(*(*unsafe.Pointer)(unsafe.Pointer(&a))) }

// checkLeaks fails the test on leaked descriptors — on the pure-Go path.
// rte_eal_cleanup keeps some of EAL's files open (and mapped), a DPDK
// limitation the EAL path inherits.
func checkLeaks(t *testing.T) {
	if !ealPath {
		testenv.CheckFDLeaks(t)
	}
}
