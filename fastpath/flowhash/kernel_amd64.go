//go:build amd64 && gc && !purego

package flowhash

import "github.com/klauspost/cpuid/v2"

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
