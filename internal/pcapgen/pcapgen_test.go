package pcapgen

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ipLayers decodes data with gopacket and returns the addresses of every IP
// layer, outermost first, and whether gopacket reported a decode failure.
func ipLayers(data []byte) (srcs, dsts []netip.Addr, failed bool) {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	for _, l := range pkt.Layers() {
		switch ip := l.(type) {
		case *layers.IPv4:
			s, _ := netip.AddrFromSlice(ip.SrcIP.To4())
			d, _ := netip.AddrFromSlice(ip.DstIP.To4())
			srcs, dsts = append(srcs, s), append(dsts, d)
		case *layers.IPv6:
			s, _ := netip.AddrFromSlice(ip.SrcIP)
			d, _ := netip.AddrFromSlice(ip.DstIP)
			srcs, dsts = append(srcs, s), append(dsts, d)
		}
	}
	return srcs, dsts, pkt.ErrorLayer() != nil
}

// TestGopacketAgrees decodes every well-formed packet with gopacket (an
// independent decoder) and checks the IP layers it finds against the
// tuples the generator recorded.
func TestGopacketAgrees(t *testing.T) {
	pkts, err := Generate(Config{Seed: 42, Flows: 260, Packets: 2600})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Kind]int{}
	for _, p := range pkts {
		seen[p.Kind]++
		if !p.Symmetric {
			continue
		}
		if p.Kind == QinQ && bytes.Equal(p.Data[12:14], []byte{0x91, 0x00}) {
			continue // gopacket does not know TPID 0x9100
		}
		srcs, dsts, failed := ipLayers(p.Data)
		if failed && p.Kind != Frag {
			t.Fatalf("%v: gopacket failed to decode %x", p.Kind, p.Data)
		}
		if len(srcs) == 0 {
			t.Fatalf("%v: gopacket found no IP layer in %x", p.Kind, p.Data)
		}
		in := len(srcs) - 1
		if srcs[in] != p.Inner.Src || dsts[in] != p.Inner.Dst {
			t.Fatalf("%v: gopacket inner %v>%v, generator %v>%v", p.Kind, srcs[in], dsts[in], p.Inner.Src, p.Inner.Dst)
		}
		if p.Tunnel {
			if len(srcs) != 2 || srcs[0] != p.Outer.Src || dsts[0] != p.Outer.Dst {
				t.Fatalf("%v: gopacket IP layers %v>%v, generator outer %v>%v", p.Kind, srcs, dsts, p.Outer.Src, p.Outer.Dst)
			}
		} else if len(srcs) != 1 {
			t.Fatalf("%v: %d IP layers in a non-tunnel packet", p.Kind, len(srcs))
		}
	}
	for _, k := range AllKinds() {
		if seen[k] == 0 {
			t.Errorf("no %v packets generated", k)
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 3, Flows: 30, Packets: 300}
	a, _ := Generate(cfg)
	b, _ := Generate(cfg)
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("packet %d differs between runs", i)
		}
	}
	cfg.Seed = 4
	c, _ := Generate(cfg)
	same := 0
	for i := range a {
		if bytes.Equal(a[i].Data, c[i].Data) {
			same++
		}
	}
	if same > len(a)/10 {
		t.Fatalf("seeds 3 and 4 share %d of %d packets", same, len(a))
	}
}

// TestDirections: each flow alternates direction, and the reverse
// direction's tuple is the forward one swapped.
func TestDirections(t *testing.T) {
	pkts, _ := Generate(Config{Seed: 8, Flows: 26, Packets: 260, Mix: []Kind{Plain4, VXLAN}})
	fwd := map[int]Packet{}
	for _, p := range pkts {
		if p.Dir == 0 {
			fwd[p.Flow] = p
			continue
		}
		f, ok := fwd[p.Flow]
		if !ok {
			t.Fatalf("flow %d: reverse before forward", p.Flow)
		}
		if f.Inner.Src != p.Inner.Dst || f.Inner.SrcPort != p.Inner.DstPort || f.Outer.Src != p.Outer.Dst {
			t.Fatalf("flow %d: reverse tuple %+v is not forward %+v swapped", p.Flow, p.Inner, f.Inner)
		}
	}
}

func TestParseMix(t *testing.T) {
	ks, err := ParseMix("plain4, vxlan,gtpu")
	if err != nil || len(ks) != 3 || ks[1] != VXLAN {
		t.Fatalf("%v %v", ks, err)
	}
	if ks, _ := ParseMix("all"); len(ks) != int(numKinds) {
		t.Fatal("all")
	}
	if _, err := ParseMix("plain4,nope"); !errors.Is(err, ErrMix) {
		t.Fatalf("bad mix: %v", err)
	}
	if _, err := Generate(Config{Flows: 0}); err == nil {
		t.Fatal("0 flows accepted")
	}
}
