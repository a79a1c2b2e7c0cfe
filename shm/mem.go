package shm

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// ptr turns an address in the shared mapping into an unsafe.Pointer. The
// memory is not Go heap memory, so the garbage collector ignores it; going
// through a *uintptr keeps go vet's unsafeptr check quiet about a conversion
// that is valid here (the address is not a Go object).
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

func ld32(a uintptr) uint32 { return *(*uint32)(ptr(a)) }
func ld64(a uintptr) uint64 { return *(*uint64)(ptr(a)) }

// ldAcq32 is an atomic (acquire) load of a 32-bit word in shared memory.
func ldAcq32(a uintptr) uint32 { return atomic.LoadUint32((*uint32)(ptr(a))) }

// cstring reads a NUL-terminated string of at most n bytes at a.
func cstring(a uintptr, n int) string {
	b := unsafe.Slice((*byte)(ptr(a)), n)
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// cstr returns the C string in b (up to the first NUL).
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// rte_rwlock_t (22.11, lib/eal/include/generic/rte_rwlock.h): an int32 cnt;
// readers add rwlRead, a writer sets rwlWrite, a waiting writer rwlWait.
const (
	rwlWait  = 0x1
	rwlWrite = 0x2
	rwlMask  = rwlWait | rwlWrite
	rwlRead  = 0x4
)

// rwlockReadLock mirrors rte_rwlock_read_lock, with a deadline so a writer
// that died holding the lock cannot hang us.
func rwlockReadLock(a uintptr, timeout time.Duration) error {
	cnt := (*int32)(ptr(a))
	deadline := time.Now().Add(timeout)
	for spins := 0; ; spins++ {
		// R0: wait while a writer holds the lock or waits for it.
		if atomic.LoadInt32(cnt)&rwlMask == 0 {
			// R1: pairs with the writer's CAS in rte_rwlock_write_lock.
			if atomic.AddInt32(cnt, rwlRead)&rwlMask == 0 {
				return nil
			}
			// Lost the race with a writer: back out.
			atomic.AddInt32(cnt, -rwlRead)
		}
		if spins&1023 == 1023 {
			if time.Now().After(deadline) {
				return ErrBusy
			}
			runtime.Gosched()
		}
	}
}

// rwlockReadUnlock mirrors rte_rwlock_read_unlock.
func rwlockReadUnlock(a uintptr) { atomic.AddInt32((*int32)(ptr(a)), -rwlRead) }

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }
