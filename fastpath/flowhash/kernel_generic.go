//go:build !amd64 || !gc || purego

package flowhash

// crcKeys hashes n keys with the pure-Go kernel (no assembly in this build).
func crcKeys(k *key, n int, seed uint32, out *uint32) { crcKeysGeneric(k, n, seed, out) }
