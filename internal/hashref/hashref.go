// Package hashref is the test-and-benchmark-only reference for the flow
// hash: it runs DPDK 22.11's own inline rte_hash_crc (rte_hash_crc.h)
// through cgo, so tests prove fastpath/flowhash's CRC core equals it bit for
// bit and tools/mrbench measures both in the same run. It also holds the
// C twin of flowhash (HashBurst: the same header parsing and symmetric key
// in C, then rte_hash_crc), the fair C reference of the hash suite, its
// sym_xxhash twin (XXHBurst: the same key, then the xxHash library's
// XXH64, from Debian's libxxhash-dev), and DPDK's software Toeplitz hash
// with a symmetric key (SoftRSSBurst). It needs no EAL.
//
// Only tests and tools/mrbench import this package; the library never does.
package hashref

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -O3 -msse4.2
#include "hashref.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath/flowhash"
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

func addrsPtr(addrs []uintptr) *C.uintptr_t {
	return (*C.uintptr_t)(unsafe.Pointer(unsafe.SliceData(addrs)))
}

func lensPtr(lens []uint16) *C.uint16_t { return (*C.uint16_t)(unsafe.Pointer(unsafe.SliceData(lens))) }

// HashBurst is the C twin of flowhash's HashBurstAddrs with sym_crc: for
// each packet (addrs[i], lens[i] bytes; the caller keeps the memory alive
// and unmoved, e.g. Go heap slices with runtime.KeepAlive) it parses the
// headers for mode exactly as flowhash does, builds the same symmetric
// key, and stores rte_hash_crc(key, len, seed) in out[i] (0 when the
// packet has no key). len(addrs) and len(lens) must be at least len(out).
func HashBurst(mode flowhash.DistMode, seed uint32, addrs []uintptr, lens []uint16, out []uint32) {
	if len(out) == 0 {
		return
	}
	_, _ = addrs[len(out)-1], lens[len(out)-1]
	C.href_hash_burst(addrsPtr(addrs), lensPtr(lens), C.uint32_t(len(out)), C.int(mode), C.uint32_t(seed),
		(*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))))
}

// BenchBurst runs HashBurst iters times in a C loop (one cgo call) and
// returns the elapsed time (thread CPU time when threadCPU is set).
func BenchBurst(mode flowhash.DistMode, seed uint32, addrs []uintptr, lens []uint16, iters int, out []uint32, threadCPU bool) time.Duration {
	if len(out) == 0 || iters <= 0 {
		return 0
	}
	_, _ = addrs[len(out)-1], lens[len(out)-1]
	return time.Duration(C.href_bench_burst(addrsPtr(addrs), lensPtr(lens), C.uint32_t(len(out)), C.int(mode), C.uint32_t(seed),
		C.uint64_t(iters), (*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))), cbool(threadCPU)))
}

// XXHBurst is the C twin of flowhash's HashBurstAddrs with sym_xxhash: the
// same parsing and key as HashBurst, then the xxHash library's XXH64(key,
// len, seed) (libxxhash-dev, inlined) folded to 32 bits, low ^ high (0
// when the packet has no key).
func XXHBurst(mode flowhash.DistMode, seed uint32, addrs []uintptr, lens []uint16, out []uint32) {
	if len(out) == 0 {
		return
	}
	_, _ = addrs[len(out)-1], lens[len(out)-1]
	C.href_xxh_burst(addrsPtr(addrs), lensPtr(lens), C.uint32_t(len(out)), C.int(mode), C.uint32_t(seed),
		(*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))))
}

// BenchXXH runs XXHBurst iters times in a C loop (one cgo call) and
// returns the elapsed time (thread CPU time when threadCPU is set).
func BenchXXH(mode flowhash.DistMode, seed uint32, addrs []uintptr, lens []uint16, iters int, out []uint32, threadCPU bool) time.Duration {
	if len(out) == 0 || iters <= 0 {
		return 0
	}
	_, _ = addrs[len(out)-1], lens[len(out)-1]
	return time.Duration(C.href_bench_xxh(addrsPtr(addrs), lensPtr(lens), C.uint32_t(len(out)), C.int(mode), C.uint32_t(seed),
		C.uint64_t(iters), (*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))), cbool(threadCPU)))
}

// XXH64 returns the xxHash library's XXH64(b, len(b), seed).
func XXH64(b []byte, seed uint64) uint64 {
	return uint64(C.href_xxh64(unsafe.Pointer(unsafe.SliceData(b)), C.uint32_t(len(b)), C.uint64_t(seed)))
}

// SoftRSSBurst parses each packet as HashBurst does for mode and stores
// DPDK's software Toeplitz hash of its tuple (rte_thash.h, addresses and,
// in a 4-tuple mode, ports, in packet order) with the symmetric RSS key
// 0x6d5a repeated: rte_softrss_be with the converted key when be is set,
// else rte_softrss. Packets with no key hash to 0.
func SoftRSSBurst(mode flowhash.DistMode, be bool, addrs []uintptr, lens []uint16, out []uint32) {
	if len(out) == 0 {
		return
	}
	_, _ = addrs[len(out)-1], lens[len(out)-1]
	C.href_softrss_burst(addrsPtr(addrs), lensPtr(lens), C.uint32_t(len(out)), C.int(mode), cbool(be),
		(*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))))
}

// BenchSoftRSS runs SoftRSSBurst's rte_softrss_be form iters times in a C
// loop and returns the elapsed time.
func BenchSoftRSS(mode flowhash.DistMode, addrs []uintptr, lens []uint16, iters int, out []uint32, threadCPU bool) time.Duration {
	if len(out) == 0 || iters <= 0 {
		return 0
	}
	_, _ = addrs[len(out)-1], lens[len(out)-1]
	return time.Duration(C.href_bench_softrss(addrsPtr(addrs), lensPtr(lens), C.uint32_t(len(out)), C.int(mode),
		C.uint64_t(iters), (*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(out))), cbool(threadCPU)))
}
