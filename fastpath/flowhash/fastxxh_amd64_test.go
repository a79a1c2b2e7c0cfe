//go:build amd64 && gc && !purego

package flowhash

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/pcapgen"
)

// TestXXHExpressCoverage: the sym_xxhash express path (fastXXH) itself
// hashes, right, every well-formed packet of every kind in every mode. A
// kind falling back to the keys mode would still hash right, only slower:
// this catches it. The packets it does hash must hash as Hash does (the
// Go parser).
func TestXXHExpressCoverage(t *testing.T) {
	requireFastParse(t)
	pkts := wellFormed(t, 11)
	for _, mode := range allModes {
		h, _ := New(mode, HashSymXXHash, 0x12345678)
		for _, p := range pkts {
			ptr := unsafe.Pointer(unsafe.SliceData(p.Data))
			n := uint16(len(p.Data))
			var out uint32
			slow := fastXXH(&ptr, &n, 1, uint64(mode), h.seed, &out)
			if slow == 0 {
				if want := h.Hash(p.Data); out != want {
					t.Fatalf("%v %v: express hash %#x, want %#x: %x", mode, p.Kind, out, want, p.Data)
				}
				continue
			}
			t.Errorf("%v: a %v packet left the express path: %x", mode, p.Kind, p.Data)
		}
	}
}

// BenchmarkXXHParts times the pieces of sym_xxhash's fast path on a burst
// of 32 packets per traffic and mode: the express path alone (fastXXH),
// the keys mode alone over the whole burst, the XXH64 kernel alone over
// the burst's keys, the whole (HashBurstAddrs), and sym_crc's fast path
// for comparison.
func BenchmarkXXHParts(b *testing.B) {
	requireFastParse(b)
	mixed := []pcapgen.Kind{pcapgen.Plain4, pcapgen.Plain6, pcapgen.VLAN, pcapgen.QinQ, pcapgen.IPIP, pcapgen.GRE, pcapgen.NVGRE, pcapgen.VXLAN, pcapgen.GTPU, pcapgen.V6Ext, pcapgen.Frag}
	for _, tr := range []struct {
		name string
		mix  []pcapgen.Kind
	}{{"plain6", []pcapgen.Kind{pcapgen.Plain6}}, {"mixed", mixed}} {
		pkts, addrs, lens := benchPackets(b, tr.mix)
		n := len(pkts)
		ptrs := (*unsafe.Pointer)(unsafe.Pointer(&addrs[0]))
		for _, mode := range allModes {
			h, _ := New(mode, HashSymXXHash, 0)
			var out [64]uint32
			var keys [64]key
			fastCRCSSE42(ptrs, &lens[0], n, uint64(mode)|fastKeys, 0, (*uint32)(unsafe.Pointer(&keys[0])))
			parts := []struct {
				name string
				f    func()
			}{
				{"express", func() { fastXXH(ptrs, &lens[0], n, uint64(mode), 0, &out[0]) }},
				{"keysmode", func() { fastCRCSSE42(ptrs, &lens[0], n, uint64(mode)|fastKeys, 0, (*uint32)(unsafe.Pointer(&keys[0]))) }},
				{"kernel", func() { xxhKeysAsm(&keys[0], n, 0, &out[0]) }},
				{"all", func() { h.HashBurstAddrs(addrs, lens, out[:n]) }},
				{"crc", func() { fastCRCSSE42(ptrs, &lens[0], n, uint64(mode), 0, &out[0]) }},
			}
			for _, pt := range parts {
				b.Run(tr.name+"/"+mode.String()+"/"+pt.name, func(b *testing.B) {
					cpu := startCPU(b)
					for b.Loop() {
						pt.f()
					}
					cpu.report(b, n)
				})
			}
		}
		keepAlive(pkts)
	}
}

// TestXXHExpressMutations: every generated packet with single bytes of
// its first 128 changed (headers, tunnel fields, extension header
// lengths and types, fragment words), and cut at random lengths: the
// express path either leaves the packet or hashes it as the Go parser
// does, in every mode.
func TestXXHExpressMutations(t *testing.T) {
	requireFastParse(t)
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 12, Flows: 300, Packets: 600})
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t)
	rng := rand.New(rand.NewPCG(12, 13))
	vals := []byte{0, 1, 4, 5, 6, 8, 17, 0x2c, 0x2b, 0x29, 0x2f, 0x3c, 0x30, 0x34, 0x45, 0x46, 0x60, 0x65, 0x81, 0x86, 0x88, 0xa8, 0x91, 0xdd, 0xff, 0xb5, 0x12, 0x08, 0x68, 0x58}
	buf := make([]byte, 0, 2048)
	checked, express := 0, 0
	for _, p := range pkts {
		for range 150 {
			buf = append(buf[:0], p.Data...)
			for range 1 + rng.IntN(2) {
				if i := rng.IntN(min(len(buf), 128)); rng.IntN(2) == 0 {
					buf[i] = vals[rng.IntN(len(vals))]
				} else {
					buf[i] = byte(rng.Uint32())
				}
			}
			if rng.IntN(4) == 0 {
				buf = buf[:rng.IntN(len(buf)+1)]
			}
			g.place(buf)
			ptr := unsafe.Pointer(unsafe.SliceData(g.mem[len(g.mem)-len(buf):]))
			n := uint16(len(buf))
			for _, mode := range allModes {
				h, _ := New(mode, HashSymXXHash, 7)
				var out uint32
				checked++
				if fastXXH(&ptr, &n, 1, uint64(mode), h.seed, &out) != 0 {
					continue
				}
				express++
				if want := h.Hash(buf); out != want {
					t.Fatalf("%v %v mutated: express %#x, Go parser %#x: %x", mode, p.Kind, out, want, buf)
				}
			}
		}
	}
	t.Logf("%d of %d mutated packets through the express path", express, checked)
}
