package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/pcapgen"
	"github.com/gomarsio/marsio/internal/pcapio"
	"github.com/google/gopacket/pcapgo"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	var out bytes.Buffer
	if err := run([]string{"-o", a, "-flows", "40", "-packets", "400", "-seed", "5"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "400 packets, 40 flows") || !strings.Contains(out.String(), "vxlan=") {
		t.Errorf("summary: %q", out.String())
	}
	if err := run([]string{"-q", "-o", b, "-flows", "40", "-packets", "400", "-seed", "5"}, &out); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("same flags gave different files")
	}
	r, err := pcapio.NewReader(bytes.NewReader(da))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if n != 400 {
		t.Fatalf("%d records", n)
	}
	if err := run([]string{"-q", "-o", b, "-seed", "6", "-flows", "40", "-packets", "400"}, &out); err != nil {
		t.Fatal(err)
	}
	if db, _ = os.ReadFile(b); bytes.Equal(da, db) {
		t.Fatal("different seeds gave the same file")
	}
	for _, bad := range [][]string{{}, {"-o", a, "-mix", "bogus"}, {"-o", a, "-flows", "0"}, {"-o", a, "extra"}} {
		if err := run(bad, &out); err == nil {
			t.Errorf("run(%q) succeeded", bad)
		}
	}
}

// TestFileHashes reads a generated file back with gopacket's pcapgo (an
// independent reader) and checks, on those bytes, that the burst and
// single-packet hash paths agree in every mode, and that the file holds
// exactly the packets pcapgen.Generate returns.
func TestFileHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.pcap")
	if err := run([]string{"-q", "-o", path, "-flows", "130", "-packets", "1300", "-seed", "9"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, data)
	}
	gen, _ := pcapgen.Generate(pcapgen.Config{Seed: 9, Flows: 130, Packets: 1300})
	if len(gen) != len(pkts) {
		t.Fatalf("%d packets in file, %d generated", len(pkts), len(gen))
	}
	for i := range gen {
		if !bytes.Equal(gen[i].Data, pkts[i]) {
			t.Fatalf("packet %d differs from pcapgen.Generate", i)
		}
	}
	out := make([]uint32, len(pkts))
	for _, mode := range []flowhash.DistMode{0, 1, 2, 3} {
		for _, hm := range []flowhash.HashMode{0, 1} {
			h, _ := flowhash.New(mode, hm, 0x5eed)
			h.HashBurst(pkts, out)
			for i, p := range pkts {
				if h.Hash(p) != out[i] {
					t.Fatalf("%v %v packet %d: burst %#x, single %#x", mode, hm, i, out[i], h.Hash(p))
				}
				if gen[i].Symmetric && out[i] == 0 {
					t.Fatalf("%v %v: well-formed %v packet hashed to 0", mode, hm, gen[i].Kind)
				}
			}
		}
	}
}
