//go:build amd64 && gc && !purego

package flowhash

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

// useSSE42 selects the assembly CRC kernel; detected once at start-up,
// switched off by tests to run the Go kernel in the same process.
var useSSE42 = cpuid.CPU.Supports(cpuid.SSE42)

// crcKeys hashes n keys with the fastest kernel this CPU has.
func crcKeys(k *key, n int, seed uint32, out *uint32) {
	if useSSE42 {
		crcKeysSSE42(k, n, seed, out)
		return
	}
	crcKeysGeneric(k, n, seed, out)
}

// crcKeysSSE42 is crcKeysGeneric with the CRC32 instruction, four keys in
// flight.
//
//go:noescape
func crcKeysSSE42(k *key, n int, seed uint32, out *uint32)

// useFastParse selects the assembly parse-and-CRC fast path for sym_crc
// (SSE4.2 CRC32, AVX2, BMI2 RORX, MOVBE, POPCNT: x86-64-v3, every x86-64
// since Haswell and Excavator); switched off by tests like useSSE42.
// Without it, the Go parser and the CRC kernel hash every packet.
var useFastParse = cpuid.CPU.Supports(cpuid.SSE42, cpuid.AVX, cpuid.AVX2, cpuid.BMI2, cpuid.MOVBE, cpuid.POPCNT)

// fastCRC runs the assembly fast path when enabled; ok is false otherwise.
func fastCRC(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64, ok bool) {
	if !useFastParse {
		return 0, false
	}
	return fastCRCSSE42(ptrs, lens, n, mode, seed, out), true
}

// haveFastCRC reports whether fastCRCBurst may be called.
func haveFastCRC() bool { return useFastParse }

// fastCRCBurst is the assembly fast path; only when haveFastCRC.
func fastCRCBurst(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64) {
	return fastCRCSSE42(ptrs, lens, n, mode, seed, out)
}

// fastCRCSSE42 hashes the fast-path packets of a burst of n <= 64 and
// returns the mask of the others (see fast_amd64.s).
//
//go:noescape
func fastCRCSSE42(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64)

// fastXXHBurst is the sym_xxhash express path (fastxxh_amd64.s); only when
// haveFastCRC.
func fastXXHBurst(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64) {
	return fastXXH(ptrs, lens, n, mode, seed, out)
}

// fastXXH hashes the untagged IPv4 and IPv6 packets of a burst of n <= 64
// with sym_xxhash and returns the mask of the others (see
// fastxxh_amd64.s).
//
//go:noescape
func fastXXH(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64)

// xxhKeys hashes n keys with sym_xxhash, in assembly where the fast path's
// extensions are (it uses RORX), at most 64 keys per call.
func xxhKeys(k *key, n int, seed uint32, out *uint32) {
	if !useFastParse {
		xxhKeysGeneric(k, n, seed, out)
		return
	}
	for n > burst {
		xxhKeysAsm(k, burst, seed, out)
		k = (*key)(unsafe.Add(unsafe.Pointer(k), burst*unsafe.Sizeof(key{})))
		out = (*uint32)(unsafe.Add(unsafe.Pointer(out), burst*4))
		n -= burst
	}
	xxhKeysAsm(k, n, seed, out)
}

// xxhKeysAsm is xxhKeysGeneric in assembly (fastxxh_amd64.s) for n <= 64
// keys of the lengths the parsers make: 0, 8, 12, 32 or 36 bytes.
//
//go:noescape
func xxhKeysAsm(k *key, n int, seed uint32, out *uint32)
