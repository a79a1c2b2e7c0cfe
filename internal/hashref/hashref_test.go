package hashref

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/pcapgen"
)

var algs = []struct {
	name string
	alg  Alg
}{{"sw", AlgSW}, {"sse42", AlgSSE42}, {"sse42_x64", AlgSSE42x64}}

// TestCRCEqualsDPDK: flowhash.CRC equals rte_hash_crc for every length
// 0..512 with random seeds, under each of DPDK's implementations.
func TestCRCEqualsDPDK(t *testing.T) {
	defer SetAlg(AlgSSE42x64)
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 512+8)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, a := range algs {
		SetAlg(a.alg)
		for n := 0; n <= 512; n++ {
			for _, off := range []int{0, 1, 3, 7} { // unaligned starts
				b := buf[off : off+n]
				seed := rng.Uint32()
				if got, want := flowhash.CRC(b, seed), CRC(b, seed); got != want {
					t.Fatalf("%s len %d off %d seed %#x: flowhash %#x, rte_hash_crc %#x", a.name, n, off, seed, got, want)
				}
			}
		}
		for range 10000 {
			v, s := rng.Uint64(), rng.Uint32()
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], v)
			if flowhash.CRC(b[:], s) != CRC8(v, s) || flowhash.CRC(b[:4], s) != CRC4(uint32(v), s) {
				t.Fatalf("%s: 4/8-byte forms differ for %#x seed %#x", a.name, v, s)
			}
		}
	}
}

// TestHashEqualsDPDK: for every generated packet and every distribution
// mode, the sym_crc hash (batch and single paths, assembly kernel) equals
// rte_hash_crc over the packet's documented key.
func TestHashEqualsDPDK(t *testing.T) {
	checkKeyHash(t, flowhash.HashSymCRC, 99, "rte_hash_crc(key)", CRC)
}

// checkKeyHash checks, for the packets of a pcapgen capture made with
// genSeed, every distribution mode and several hash seeds, that hash mode
// hm's burst and single paths give ref(key, seed) over each packet's
// documented key (flowhash.Hasher.AppendKey), and 0 for an empty key.
func checkKeyHash(t *testing.T, hm flowhash.HashMode, genSeed uint64, refName string, ref func(key []byte, seed uint32) uint32) {
	t.Helper()
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: genSeed, Flows: 300, Packets: 3000})
	if err != nil {
		t.Fatal(err)
	}
	data := make([][]byte, len(pkts))
	for i, p := range pkts {
		data[i] = p.Data
	}
	out := make([]uint32, len(data))
	for _, mode := range allModes {
		for _, seed := range []uint32{0, 1, 0xffffffff, 0x9e3779b9} {
			h, err := flowhash.New(mode, hm, seed)
			if err != nil {
				t.Fatal(err)
			}
			h.HashBurst(data, out)
			for i, p := range data {
				k := h.AppendKey(nil, p)
				want := uint32(0)
				if len(k) > 0 {
					want = ref(k, seed)
				}
				if out[i] != want || h.Hash(p) != want {
					t.Fatalf("%v seed %#x %v packet %d: burst %#x single %#x, %s %#x", mode, seed, pkts[i].Kind, i, out[i], h.Hash(p), refName, want)
				}
			}
		}
	}
}

// TestXXH64EqualsLibrary: cespare/xxhash (flowhash's documented sym_xxhash
// definition) equals the xxHash library's XXH64 (the C twin's) for every
// length 0..256 with random seeds.
func TestXXH64EqualsLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	buf := make([]byte, 256+8)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n <= 256; n++ {
		for _, off := range []int{0, 1, 3, 7} {
			b := buf[off : off+n]
			seed := rng.Uint64()
			if n%3 == 0 {
				seed = uint64(uint32(seed)) // flowhash's seeds are 32-bit
			}
			d := xxhash.NewWithSeed(seed)
			d.Write(b)
			if got, want := d.Sum64(), XXH64(b, seed); got != want {
				t.Fatalf("len %d off %d seed %#x: cespare/xxhash %#x, libxxhash %#x", n, off, seed, got, want)
			}
		}
	}
}

// TestXXHashEqualsLibrary: for every generated packet and every
// distribution mode, the sym_xxhash hash (batch and single paths) equals
// the xxHash library's XXH64 over the packet's documented key, folded.
func TestXXHashEqualsLibrary(t *testing.T) {
	checkKeyHash(t, flowhash.HashSymXXHash, 98, "XXH64(key) folded", func(k []byte, seed uint32) uint32 {
		x := XXH64(k, uint64(seed))
		return uint32(x) ^ uint32(x>>32)
	})
}

func TestBenchKeys(t *testing.T) {
	keys := make([]byte, 32*16)
	for i := range keys {
		keys[i] = byte(i * 7)
	}
	out := make([]uint32, 32)
	kl := make([]uint32, 32)
	for i := range kl {
		kl[i] = 12
	}
	kl[3] = 0
	if d := BenchKeys(keys, kl, 16, 5, 3, out, false); d <= 0 {
		t.Fatalf("elapsed %v", d)
	}
	for i := range out {
		want := flowhash.CRC(keys[i*16:i*16+12], 5)
		if i == 3 {
			want = 0
		}
		if out[i] != want {
			t.Fatalf("key %d", i)
		}
	}
}

func TestSuite(t *testing.T) {
	rs, err := RunSuite(2*time.Millisecond, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(SuiteCases()) {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		if r.Suite != "hash" || r.GoNs <= 0 || r.CNs <= 0 || r.Ratio <= 0 {
			t.Errorf("bad result %+v", r)
		}
	}
}
