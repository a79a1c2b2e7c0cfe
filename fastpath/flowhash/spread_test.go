package flowhash

import (
	"testing"

	"github.com/gomarsio/marsio/internal/pcapgen"
)

// TestSpread: 1,000 flows (one packet each, every well-formed kind of
// traffic; malformed packets have no key and all go to stream 0 by
// definition) hashed in every distribution and hash mode with the default
// seed and distributed over 8 streams with Distribute: the busiest stream
// carries at most 1.25 times the mean. The packets come from a fixed seed,
// so the figures are deterministic; they are logged.
func TestSpread(t *testing.T) {
	const flows, streams, limit = 1000, 8, 1.25
	var mix []pcapgen.Kind
	for _, k := range pcapgen.AllKinds() {
		if k != pcapgen.Malformed && k != pcapgen.Truncated {
			mix = append(mix, k)
		}
	}
	for _, traffic := range []struct {
		name string
		mix  []pcapgen.Kind
	}{{"plain4", []pcapgen.Kind{pcapgen.Plain4}}, {"plain6", []pcapgen.Kind{pcapgen.Plain6}}, {"mixed", mix}} {
		pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 2026, Flows: flows, Packets: flows, Mix: traffic.mix})
		if err != nil {
			t.Fatal(err)
		}
		data := make([][]byte, len(pkts))
		for i, p := range pkts {
			data[i] = p.Data
		}
		out := make([]uint32, len(pkts))
		for _, hm := range []HashMode{HashSymCRC, HashSymXXHash} {
			for _, dm := range []DistMode{DistOuterTuple2, DistOuterTuple4, DistInnerTuple2, DistInnerTuple4} {
				h, err := New(dm, hm, 0)
				if err != nil {
					t.Fatal(err)
				}
				h.HashBurst(data, out)
				var cnt [streams]int
				for _, x := range out {
					cnt[Distribute(x, streams)]++
				}
				busiest := 0
				for _, c := range cnt {
					busiest = max(busiest, c)
				}
				ratio := float64(busiest) / (float64(flows) / streams)
				t.Logf("%-6s %-10v %-12v busiest stream %d flows, max/mean %.3f  %v", traffic.name, hm, dm, busiest, ratio, cnt)
				if ratio > limit {
					t.Errorf("%s %v %v: busiest stream carries %.3f× the mean (%v), want ≤ %.2f", traffic.name, hm, dm, ratio, cnt, limit)
				}
			}
		}
	}
}

// TestPortProtoTables: the assembly's byte tables agree with hasPorts,
// isV6Ext and the tunnel protocols.
func TestPortProtoTables(t *testing.T) {
	for p := 0; p < 256; p++ {
		if (portProtoBytes[p] != 0) != hasPorts(uint8(p)) {
			t.Fatalf("protocol %d: byte table %d, hasPorts %v", p, portProtoBytes[p], hasPorts(uint8(p)))
		}
		want := uint8(1)
		switch p {
		case protoHopByHop, protoRouting, protoFragment, protoDstOpts, protoIPIP, protoIPv6, protoGRE:
			want = 0
		case protoTCP, protoUDP, protoSCTP, protoUDPLite:
			want = 2
		}
		if v6NextClass[p] != want {
			t.Fatalf("protocol %d: v6NextClass %d, want %d", p, v6NextClass[p], want)
		}
	}
}
