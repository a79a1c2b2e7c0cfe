//go:build !amd64 || !gc || purego

package flowhash

func hasAsm() bool { return false }

func disableSSE42() func() { return func() {} }

func asmCRCKeys(k *key, n int, seed uint32, out *uint32) { crcKeysGeneric(k, n, seed, out) }

func disableFastParse() func() { return func() {} }

func asmXXHKeys(k *key, n int, seed uint32, out *uint32) { xxhKeysGeneric(k, n, seed, out) }
