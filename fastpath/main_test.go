package fastpath

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dpdkref.Cleanup()
	os.Exit(code)
}

// requireDPDK initialises the in-process reference EAL or skips (fails when
// GOMARSIO_REQUIRE_ALL=1).
func requireDPDK(t testing.TB) {
	t.Helper()
	if err := dpdkref.Init(); err != nil {
		msg := fmt.Sprintf("DPDK reference harness unavailable (%v): install libdpdk-dev with 'make deps'", err)
		if os.Getenv("GOMARSIO_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// mmapMem maps size bytes of anonymous memory outside the Go heap (as shared
// memory would be) and unmaps it when the test ends.
func mmapMem(t testing.TB, size int) uintptr {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap %d: %v", size, err)
	}
	t.Cleanup(func() { syscall.Munmap(b) })
	return uintptr(unsafe.Pointer(&b[0]))
}

func memBytes(addr uintptr, n int) []byte { return unsafe.Slice((*byte)(ptrAt(addr)), n) }
