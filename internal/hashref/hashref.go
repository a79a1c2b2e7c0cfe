// Package hashref is the test-and-benchmark-only reference for the flow
// hash: it runs DPDK 22.11's own inline rte_hash_crc (rte_hash_crc.h)
// through cgo, so tests prove fastpath/flowhash's CRC core equals it bit for
// bit and tools/mrbench measures both in the same run. It needs no EAL.
//
// Only tests and tools/mrbench import this package; the library never does.
package hashref

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -O3
#include "hashref.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// Alg selects rte_hash_crc's implementation (rte_hash_crc_set_alg).
type Alg int

// The implementations DPDK 22.11 has on x86-64.
const (
	AlgSW       Alg = 0 // CRC32_SW: table lookups
	AlgSSE42    Alg = 1 // CRC32_SSE42: crc32l/crc32w/crc32b
	AlgSSE42x64 Alg = 2 // CRC32_SSE42_x64: also crc32q (DPDK's default here)
)

// SetAlg switches rte_hash_crc's implementation for this process.
func SetAlg(a Alg) { C.href_set_alg(C.int(a)) }

// CRC returns rte_hash_crc(b, len(b), seed).
func CRC(b []byte, seed uint32) uint32 {
	return uint32(C.href_crc(unsafe.Pointer(unsafe.SliceData(b)), C.uint32_t(len(b)), C.uint32_t(seed)))
}

// CRC4 returns rte_hash_crc_4byte(v, seed).
func CRC4(v, seed uint32) uint32 { return uint32(C.href_crc_4byte(C.uint32_t(v), C.uint32_t(seed))) }

// CRC8 returns rte_hash_crc_8byte(v, seed).
func CRC8(v uint64, seed uint32) uint32 {
	return uint32(C.href_crc_8byte(C.uint64_t(v), C.uint32_t(seed)))
}

// BenchKeys hashes len(out) keys, key i being keyLens[i] bytes at
// keys[i*stride:], with one rte_hash_crc call per key (an empty key gives
// 0), iters times, in a C loop (one cgo call in all). It returns the
// elapsed time: the calling thread's CPU time when threadCPU is set (what a
// shared machine lets us compare), else wall time. out holds the last
// round's hashes.
func BenchKeys(keys []byte, keyLens []uint32, stride int, seed uint32, iters int, out []uint32, threadCPU bool) time.Duration {
	if len(out) == 0 || iters <= 0 {
		return 0
	}
	keyLens = keyLens[:len(out)]
	for i, l := range keyLens {
		if i*stride+int(l) > len(keys) || int(l) > stride {
			panic("hashref: key outside keys")
		}
	}
	ns := C.href_bench_keys((*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(keys))), (*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(keyLens))),
		C.uint32_t(stride), C.uint32_t(len(out)), C.uint32_t(seed), C.uint64_t(iters),
		(*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))), cbool(threadCPU))
	return time.Duration(ns)
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ThreadCPU returns the calling OS thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID); lock the goroutine to its thread around a
// measurement.
func ThreadCPU() time.Duration { return time.Duration(C.href_thread_cpu_ns()) }
