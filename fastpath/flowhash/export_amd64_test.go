//go:build amd64 && gc && !purego

package flowhash

// hasAsm reports whether an assembly kernel is in use.
func hasAsm() bool { return useSSE42 }

// disableSSE42 switches the assembly kernel off until the returned function
// is called: defer disableSSE42()().
func disableSSE42() func() {
	old, oldFast := useSSE42, useFastParse
	useSSE42, useFastParse = false, false
	return func() { useSSE42, useFastParse = old, oldFast }
}

// disableFastParse switches only the assembly parse fast path off.
func disableFastParse() func() {
	old := useFastParse
	useFastParse = false
	return func() { useFastParse = old }
}

// asmCRCKeys runs the assembly kernel regardless of the switch.
func asmCRCKeys(k *key, n int, seed uint32, out *uint32) { crcKeysSSE42(k, n, seed, out) }

// asmXXHKeys runs the assembly XXH64 kernel regardless of the switch.
func asmXXHKeys(k *key, n int, seed uint32, out *uint32) { xxhKeysAsm(k, n, seed, out) }
