package main

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/gomarsio/marsio/internal/pcapgen"
)

func TestFilterExpressions(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.1.9")
	tcp := &pkt{ip4: true, proto: layers.IPProtocolTCP, tcp: true, ports: true, src: a, dst: b, sport: 40000, dport: 443}
	udp := &pkt{ip4: true, vlan: true, proto: layers.IPProtocolUDP, udp: true, ports: true, src: b, dst: a, sport: 53, dport: 5353}
	v6 := &pkt{ip6: true, icmp6: true, src: netip.MustParseAddr("2001:db8::1"), dst: netip.MustParseAddr("2001:db8::2")}
	arp := &pkt{arp: true}
	all := []*pkt{tcp, udp, v6, arp}
	for _, c := range []struct {
		expr string
		want []*pkt
	}{
		{"", all},
		{"tcp", []*pkt{tcp}},
		{"udp or arp", []*pkt{udp, arp}},
		{"host 10.0.0.1", []*pkt{tcp, udp}},
		{"src host 10.0.0.1", []*pkt{tcp}},
		{"dst host 10.0.0.1", []*pkt{udp}},
		{"net 192.168.0.0/16 and not vlan", []*pkt{tcp}},
		{"dst net 192.168.0.0/16", []*pkt{tcp}},
		{"port 53", []*pkt{udp}},
		{"src port 443", nil},
		{"dst port 443", []*pkt{tcp}},
		{"portrange 5000-6000", []*pkt{udp}},
		{"ip6 || arp", []*pkt{v6, arp}},
		{"!ip && !ip6", []*pkt{arp}},
		{"tcp or udp and port 53", []*pkt{tcp, udp}}, // and binds tighter
		{"(tcp or udp) and port 53", []*pkt{udp}},
		{"host 2001:db8::2 and icmp6", []*pkt{v6}},
		{"ip and not (tcp or port 5353)", nil},
		{"TCP AND PORT 443", []*pkt{tcp}},
	} {
		f, err := parseFilter(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		var got []*pkt
		for _, p := range all {
			if f == nil || f(p) {
				got = append(got, p)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: matched %d packets, want %d", c.expr, len(got), len(c.want))
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: match %d differs", c.expr, i)
			}
		}
	}
	for _, bad := range []string{"tcp and", "host", "host 1.2.3", "port 70000", "portrange 9-3", "port 1-2",
		"(tcp", "tcp)", "src tcp", "frobnicate", "net 10.0.0.0"} {
		if _, err := parseFilter(bad); !errors.Is(err, ErrFilter) {
			t.Errorf("%q: err %v, want ErrFilter", bad, err)
		}
	}
}

// TestDecode: the decoder finds the addresses and ports pcapgen put in its
// well-formed untunnelled packets (plain, VLAN and QinQ, IPv4 and IPv6).
func TestDecode(t *testing.T) {
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 5, Flows: 64, Packets: 512,
		Mix: []pcapgen.Kind{pcapgen.Plain4, pcapgen.Plain6, pcapgen.VLAN, pcapgen.QinQ, pcapgen.V6Ext}})
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder()
	var p pkt
	checked := 0
	for i, g := range pkts {
		if !g.Symmetric || g.Tunnel {
			continue
		}
		d.decode(g.Data, &p)
		if p.src != g.Inner.Src || p.dst != g.Inner.Dst {
			t.Fatalf("packet %d (%v): addresses %v → %v, want %v → %v", i, g.Kind, p.src, p.dst, g.Inner.Src, g.Inner.Dst)
		}
		if g.Inner.Ports && (!p.ports || p.sport != g.Inner.SrcPort || p.dport != g.Inner.DstPort) {
			t.Fatalf("packet %d (%v): ports %v %d → %d, want %d → %d", i, g.Kind, p.ports, p.sport, p.dport,
				g.Inner.SrcPort, g.Inner.DstPort)
		}
		if (g.Kind == pcapgen.VLAN || g.Kind == pcapgen.QinQ) != p.vlan {
			t.Fatalf("packet %d (%v): vlan %v", i, g.Kind, p.vlan)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d packets checked", checked)
	}
}

func BenchmarkDecodeFilter(b *testing.B) {
	pkts, _ := pcapgen.Generate(pcapgen.Config{Seed: 5, Flows: 64, Packets: 512})
	f, _ := parseFilter("udp and port 53 or host 10.1.2.3")
	d := newDecoder()
	var p pkt
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.decode(pkts[i%len(pkts)].Data, &p)
		f(&p)
	}
}
