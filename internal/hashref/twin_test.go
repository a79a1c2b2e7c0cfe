package hashref

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/pcapgen"
)

var allModes = []flowhash.DistMode{flowhash.DistOuterTuple2, flowhash.DistOuterTuple4, flowhash.DistInnerTuple2, flowhash.DistInnerTuple4}

func addrsLens(pkts []pcapgen.Packet) ([]uintptr, []uint16) {
	addrs := make([]uintptr, len(pkts))
	lens := make([]uint16, len(pkts))
	for i, p := range pkts {
		addrs[i] = uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
		lens[i] = uint16(len(p.Data))
	}
	return addrs, lens
}

var allHashes = []flowhash.HashMode{flowhash.HashSymCRC, flowhash.HashSymXXHash}

// twinBurst is the C twin of hash mode hm: HashBurst (rte_hash_crc) or
// XXHBurst (the xxHash library's XXH64).
func twinBurst(hm flowhash.HashMode, mode flowhash.DistMode, seed uint32, addrs []uintptr, lens []uint16, out []uint32) {
	if hm == flowhash.HashSymXXHash {
		XXHBurst(mode, seed, addrs, lens, out)
		return
	}
	HashBurst(mode, seed, addrs, lens, out)
}

// TestCTwinEqualsFlowhash: the C twins (their own header parsing and key
// building, then rte_hash_crc or the xxHash library's XXH64) give
// flowhash's hash for every packet of a capture of every kind (malformed
// and truncated included), in every distribution and hash mode, with
// several seeds.
func TestCTwinEqualsFlowhash(t *testing.T) {
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 7, Flows: 500, Packets: 5000})
	if err != nil {
		t.Fatal(err)
	}
	addrs, lens := addrsLens(pkts)
	goOut := make([]uint32, len(pkts))
	cOut := make([]uint32, len(pkts))
	for _, hm := range allHashes {
		for _, mode := range allModes {
			for _, seed := range []uint32{0, 1, 0xffffffff, 0x9e3779b9} {
				h, err := flowhash.New(mode, hm, seed)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < len(pkts); i += 64 {
					j := min(i+64, len(pkts))
					h.HashBurstAddrs(addrs[i:j], lens[i:j], goOut[i:j])
				}
				twinBurst(hm, mode, seed, addrs, lens, cOut)
				for i := range pkts {
					if goOut[i] != cOut[i] {
						t.Fatalf("%v %v seed %#x packet %d (%v): flowhash %#x, C twin %#x", hm, mode, seed, i, pkts[i].Kind, goOut[i], cOut[i])
					}
				}
			}
		}
	}
	runtime.KeepAlive(pkts)
}

// TestSoftRSS: rte_softrss and rte_softrss_be agree, and with the
// symmetric key both directions of every flow hash equal.
func TestSoftRSS(t *testing.T) {
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 8, Flows: 200, Packets: 2000})
	if err != nil {
		t.Fatal(err)
	}
	addrs, lens := addrsLens(pkts)
	a := make([]uint32, len(pkts))
	b := make([]uint32, len(pkts))
	for _, mode := range allModes {
		SoftRSSBurst(mode, false, addrs, lens, a)
		SoftRSSBurst(mode, true, addrs, lens, b)
		byFlow := map[int]uint32{}
		for i, p := range pkts {
			if a[i] != b[i] {
				t.Fatalf("%v packet %d: rte_softrss %#x, rte_softrss_be %#x", mode, i, a[i], b[i])
			}
			if !p.Symmetric {
				continue
			}
			if h, ok := byFlow[p.Flow]; ok && h != a[i] {
				t.Fatalf("%v packet %d (%v, dir %d): %#x, flow's other packets %#x", mode, i, p.Kind, p.Dir, a[i], h)
			}
			byFlow[p.Flow] = a[i]
		}
	}
	runtime.KeepAlive(pkts)
}
