//go:build amd64 && gc && !purego

package flowhash

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/pcapgen"
)

// BenchmarkExpress is the assembly fast path called directly on bursts of
// 1..64 untagged IPv4 packets (the express loops' traffic): the per-call
// cost shows in the small bursts, the per-packet cost in the large ones.
func BenchmarkExpress(b *testing.B) {
	requireFastParse(b)
	gp, err := pcapgen.Generate(pcapgen.Config{Seed: 3, Flows: 64, Packets: 64, Mix: []pcapgen.Kind{pcapgen.Plain4}})
	if err != nil {
		b.Fatal(err)
	}
	ptrs := make([]unsafe.Pointer, len(gp))
	lens := make([]uint16, len(gp))
	for i, p := range gp {
		ptrs[i] = unsafe.Pointer(unsafe.SliceData(p.Data))
		lens[i] = uint16(len(p.Data))
	}
	var out [64]uint32
	for _, mode := range []DistMode{DistOuterTuple2, DistOuterTuple4} {
		for _, n := range []int{1, 8, 32, 64} {
			b.Run(fmt.Sprintf("%v/%d", mode, n), func(b *testing.B) {
				cpu := startCPU(b)
				for b.Loop() {
					fastCRCSSE42(&ptrs[0], &lens[0], n, uint64(mode), 0, &out[0])
				}
				cpu.report(b, n)
			})
		}
	}
	keepAlive(gp)
}

// TestExpressMutations: every value of every byte of the first 40 of an
// untagged IPv4 frame (the bytes the express loops test and read), with the
// frame at each position of a burst among unmutated frames, hashes as the
// Go parser hashes it in every mode: whatever an express loop does not
// accept goes to the general code unchanged.
func TestExpressMutations(t *testing.T) {
	gp, err := pcapgen.Generate(pcapgen.Config{Seed: 9, Flows: 8, Packets: 8, Mix: []pcapgen.Kind{pcapgen.Plain4}})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range allModes {
		h, _ := New(mode, HashSymCRC, 0x5eed)
		for pos := 0; pos < 40; pos++ {
			for v := 0; v < 256; v++ {
				pkts := make([][]byte, 5)
				for i := range pkts {
					pkts[i] = append([]byte(nil), gp[i].Data...)
				}
				at := (pos + v) % len(pkts)
				if pos < len(pkts[at]) {
					pkts[at][pos] = byte(v)
				}
				// A fifth frame cut short of its ports.
				pkts[(at+2)%len(pkts)] = pkts[(at+2)%len(pkts)][:36+v%3]
				got := make([]uint32, len(pkts))
				want := make([]uint32, len(pkts))
				h.HashBurst(pkts, got)
				restore := disableFastParse()
				h.HashBurst(pkts, want)
				restore()
				for i := range pkts {
					if got[i] != want[i] {
						t.Fatalf("%v: byte %d = %#x, frame %d of %d (%x): %#x, Go parser %#x", mode, pos, v, i, len(pkts), pkts[i], got[i], want[i])
					}
				}
			}
		}
	}
}
