//go:build amd64 && gc && !purego

package flowhash

import (
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/pcapgen"
)

// TestFastPathCoverage: the assembly fast path hashes every well-formed
// packet of every kind (plain, VLAN, QinQ, every tunnel, IPv6 extension
// headers, fragments) in every mode itself, leaving only malformed and
// truncated packets to the Go parser. A kind falling back to the Go parser
// would still hash right, only slower: this catches it.
func TestFastPathCoverage(t *testing.T) {
	requireFastParse(t)
	pkts := wellFormed(t, 7)
	for _, mode := range allModes {
		for _, p := range pkts {
			ptr := unsafe.Pointer(unsafe.SliceData(p.Data))
			n := uint16(len(p.Data))
			var out uint32
			if slow := fastCRCSSE42(&ptr, &n, 1, uint64(mode), 0, &out); slow != 0 {
				t.Errorf("%v: a %v packet went to the Go parser: %x", mode, p.Kind, p.Data)
			}
		}
	}
}

// requireFastParse skips the test or benchmark on a CPU without the
// assembly fast paths' extensions.
func requireFastParse(tb testing.TB) {
	tb.Helper()
	if !useFastParse {
		tb.Skip("the CPU lacks the fast path's extensions (SSE4.2, AVX2, BMI2, MOVBE, POPCNT)")
	}
}

// wellFormed returns the well-formed packets (every kind but Malformed and
// Truncated) of a pcapgen capture of 500 flows, 5000 packets made with seed.
func wellFormed(t *testing.T, seed uint64) []pcapgen.Packet {
	t.Helper()
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: seed, Flows: 500, Packets: 5000})
	if err != nil {
		t.Fatal(err)
	}
	var ok []pcapgen.Packet
	for _, p := range pkts {
		if p.Kind != pcapgen.Malformed && p.Kind != pcapgen.Truncated {
			ok = append(ok, p)
		}
	}
	return ok
}
