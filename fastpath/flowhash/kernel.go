package flowhash

import (
	"math/bits"
	"unsafe"
)

// crc32cTab is the slicing-by-8 table of the reflected Castagnoli polynomial.
var crc32cTab = func() (t [8][256]uint32) {
	const poly = 0x82F63B78
	for i := range 256 {
		c := uint32(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for j := 1; j < 8; j++ {
			c = t[0][c&0xff] ^ c>>8
			t[j][i] = c
		}
	}
	return t
}()

// crcWord64 is crc32q: the CRC32C register c advanced over the 8 bytes of
// the little-endian word v.
func crcWord64(c uint32, v uint64) uint32 {
	x := uint64(c) ^ v
	t := &crc32cTab
	return t[7][x&0xff] ^ t[6][x>>8&0xff] ^ t[5][x>>16&0xff] ^ t[4][x>>24&0xff] ^
		t[3][x>>32&0xff] ^ t[2][x>>40&0xff] ^ t[1][x>>48&0xff] ^ t[0][x>>56]
}

// crcWord32 is crc32l: c advanced over the 4 bytes of v.
func crcWord32(c uint32, v uint32) uint32 {
	x := c ^ v
	t := &crc32cTab
	return t[3][x&0xff] ^ t[2][x>>8&0xff] ^ t[1][x>>16&0xff] ^ t[0][x>>24]
}

// crcBytesGeneric is rte_hash_crc(b, len(b), seed) in pure Go: 8-byte words,
// then a 4-byte, 2-byte and 1-byte tail.
func crcBytesGeneric(b []byte, seed uint32) uint32 {
	c := seed
	for len(b) >= 8 {
		c = crcWord64(c, uint64(b[0])|uint64(b[1])<<8|uint64(b[2])<<16|uint64(b[3])<<24|
			uint64(b[4])<<32|uint64(b[5])<<40|uint64(b[6])<<48|uint64(b[7])<<56)
		b = b[8:]
	}
	if len(b) >= 4 {
		c = crcWord32(c, uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24)
		b = b[4:]
	}
	for _, x := range b { // rte_hash_crc_2byte then _1byte: bytewise is equal
		c = crc32cTab[0][byte(c)^x] ^ c>>8
	}
	return c
}

// crcKeysGeneric is the pure-Go CRC kernel: out[i] = CRC32C of key i with
// initial value seed, 0 for an empty key.
func crcKeysGeneric(k *key, n int, seed uint32, out *uint32) {
	keys := unsafe.Slice(k, n)
	outs := unsafe.Slice(out, n)
	for i := range keys {
		kk := &keys[i]
		if kk.n == 0 {
			outs[i] = 0
			continue
		}
		c := seed
		nw := int(kk.n >> 3)
		for j := 0; j < nw; j++ {
			c = crcWord64(c, kk.w[j])
		}
		if kk.n&4 != 0 {
			c = crcWord32(c, uint32(kk.w[nw]))
		}
		outs[i] = c
	}
}

// XXH64 primes.
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

func xxRound(acc, v uint64) uint64 {
	acc += v * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*prime1 + prime4
}

// xxhKey is XXH64(key bytes, seed) specialised for keys of at most 40
// bytes whose length is a multiple of 4, folded to 32 bits.
func xxhKey(k *key, seed uint64) uint32 {
	n := int(k.n)
	var h uint64
	i := 0
	if n >= 32 {
		v1 := seed + prime1 + prime2
		v2 := seed + prime2
		v3 := seed
		v4 := seed - prime1
		v1 = xxRound(v1, k.w[0])
		v2 = xxRound(v2, k.w[1])
		v3 = xxRound(v3, k.w[2])
		v4 = xxRound(v4, k.w[3])
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
		i = 4
	} else {
		h = seed + prime5
	}
	h += uint64(n)
	for ; (i+1)*8 <= n; i++ {
		h ^= xxRound(0, k.w[i])
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if i*8+4 <= n {
		h ^= uint64(uint32(k.w[i])) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
	}
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return uint32(h) ^ uint32(h>>32)
}

// xxhKeysGeneric is the pure-Go XXH64 kernel: out[i] = folded XXH64 of
// key i, 0 for an empty key.
func xxhKeysGeneric(k *key, n int, seed uint32, out *uint32) {
	keys := unsafe.Slice(k, n)
	outs := unsafe.Slice(out, n)
	for i := range keys {
		if keys[i].n == 0 {
			outs[i] = 0
			continue
		}
		outs[i] = xxhKey(&keys[i], uint64(seed))
	}
}
