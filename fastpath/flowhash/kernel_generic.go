//go:build !amd64 || !gc || purego

package flowhash

import "unsafe"

// crcKeys hashes n keys with the pure-Go kernel (no assembly in this build).
func crcKeys(k *key, n int, seed uint32, out *uint32) { crcKeysGeneric(k, n, seed, out) }

// xxhKeys hashes n keys with the pure-Go XXH64 kernel.
func xxhKeys(k *key, n int, seed uint32, out *uint32) { xxhKeysGeneric(k, n, seed, out) }

// fastCRC has no fast path in this build.
func fastCRC(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64, ok bool) {
	return 0, false
}

// haveFastCRC is false: there is no fast path in this build.
func haveFastCRC() bool { return false }

// fastCRCBurst is never called in this build (haveFastCRC is false).
func fastCRCBurst(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64) {
	panic("flowhash: no fast path in this build")
}

// fastXXHBurst is never called in this build (haveFastCRC is false).
func fastXXHBurst(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64) {
	panic("flowhash: no fast path in this build")
}
