package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/internal/pcapio"
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
