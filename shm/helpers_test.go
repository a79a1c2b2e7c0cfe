package shm_test

import (
	"os"
	"path/filepath"
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

func u64(a uintptr) *uint64 { return (*uint64)(*(*unsafe.Pointer)(unsafe.Pointer(&a))) }

// checkLeaks fails the test on leaked descriptors — on the pure-Go path.
// rte_eal_cleanup keeps some of EAL's files open (and mapped), a DPDK
// limitation the EAL path inherits.
func checkLeaks(t *testing.T) {
	if !ealPath {
		testenv.CheckFDLeaks(t)
	}
}
