package neigh

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodTable = `# static neighbours
198.18.0.1   02:6d:72:00:00:01            # every device
198.18.0.9   02-6D-72-00-00-09  vdev0
198.18.0.9   02:6d:72:00:00:0a  vdev1
	2001:db8::1	02:6d:72:00:00:02	vdev1
`

func TestParseTable(t *testing.T) {
	es, err := ParseTable(strings.NewReader(goodTable), "mrneigh.table")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"198.18.0.1 02:6d:72:00:00:01",
		"198.18.0.9 02:6d:72:00:00:09 vdev0",
		"198.18.0.9 02:6d:72:00:00:0a vdev1",
		"2001:db8::1 02:6d:72:00:00:02 vdev1",
	}
	if len(es) != len(want) {
		t.Fatalf("%d entries: %v", len(es), es)
	}
	for i, e := range es {
		if e.String() != want[i] {
			t.Errorf("entry %d = %q, want %q", i, e, want[i])
		}
	}
	if es[1].Line != 3 {
		t.Errorf("line %d, want 3", es[1].Line)
	}

	tb, _ := mustTable(t, Config{})
	if n, err := tb.AddStaticEntries(es, "vdev0"); err != nil || n != 2 {
		t.Fatalf("AddStaticEntries(vdev0) = %d %v", n, err)
	}
	if m, _ := tb.Resolve(netip.MustParseAddr("198.18.0.9")); m != (MAC{2, 0x6d, 0x72, 0, 0, 9}) {
		t.Errorf("vdev0 got %v", m)
	}
	if _, ok := tb.Resolve(netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("vdev1's entry loaded for vdev0")
	}
	small, _ := mustTable(t, Config{MaxEntries: 1})
	if _, err := small.AddStaticEntries(es, "vdev1"); !errors.Is(err, ErrTableFull) || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("full table: %v", err)
	}
}

func TestParseTableErrors(t *testing.T) {
	for _, c := range []struct{ text, why string }{
		{"198.18.0.1", "got 1 field"},
		{"198.18.0.1 02:00:00:00:00:01 vdev0 extra", "got 4 field"},
		{"198.18.0.300 02:00:00:00:00:01", "bad IP address"},
		{"fe80::1%eth0 02:00:00:00:00:01", "has a zone"},
		{"::ffff:198.18.0.1 02:00:00:00:00:01", "IPv4-mapped"},
		{"0.0.0.0 02:00:00:00:00:01", "not a unicast address"},
		{"224.0.0.1 02:00:00:00:00:01", "not a unicast address"},
		{"255.255.255.255 02:00:00:00:00:01", "not a unicast address"},
		{"198.18.0.1 02:00:00:00:00", "bad MAC"},
		{"198.18.0.1 02:00:00-00:00:01", "bad MAC"},
		{"198.18.0.1 0g:00:00:00:00:01", "bad MAC"},
		{"198.18.0.1 01:00:5e:00:00:01", "not a unicast"},
		{"198.18.0.1 00:00:00:00:00:00", "not a unicast"},
		{"198.18.0.1 02:00:00:00:00:01 " + strings.Repeat("v", 64), "longer than 63"},
		{"198.18.0.1 02:00:00:00:00:01 a\x01b", "control character"},
		{"198.18.0.1 02:00:00:00:00:01\n198.18.0.1 02:00:00:00:00:02", "already listed at line 3"},
		{"198.18.0.1 02:00:00:00:00:01 vdev0\n198.18.0.1 02:00:00:00:00:02", "already listed at line 3"},
		{"198.18.0.1 02:00:00:00:00:01\n" + strings.Repeat("x", 70000), "longer than 64 KiB"},
	} {
		_, err := ParseTable(strings.NewReader("# header\n\n"+c.text+"\n"), "/etc/x/mrneigh.table")
		var pe *ParseError
		if !errors.Is(err, ErrBadTable) || !errors.As(err, &pe) {
			t.Errorf("%q: err = %v, want a ParseError", c.text, err)
			continue
		}
		wantLine := 3 + strings.Count(c.text, "\n")
		if pe.File != "/etc/x/mrneigh.table" || pe.Line != wantLine || !strings.Contains(err.Error(), c.why) ||
			!strings.HasPrefix(err.Error(), "neigh: /etc/x/mrneigh.table:") {
			t.Errorf("%q: %v (line %d), want line %d and %q", c.text, err, pe.Line, wantLine, c.why)
		}
	}
}

func TestLoadStatic(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mrglobal.conf")
	if p := StaticPath(conf); p != filepath.Join(dir, "mrneigh.table") {
		t.Fatalf("StaticPath = %s", p)
	}
	if es, err := LoadStatic(StaticPath(conf)); err != nil || es != nil {
		t.Fatalf("missing file: %v %v", es, err)
	}
	os.WriteFile(StaticPath(conf), []byte(goodTable+"bogus\n"), 0o644)
	_, err := LoadStatic(StaticPath(conf))
	if !errors.Is(err, ErrBadTable) || !strings.Contains(err.Error(), StaticPath(conf)+":6:") {
		t.Fatalf("bad file: %v", err)
	}
	if DefaultStaticPath != "/opt/tsg/mrzcpd/etc/mrneigh.table" {
		t.Error("DefaultStaticPath differs from the seed's")
	}
}

// FuzzParseTable: never panics; whatever parses formats back to text that
// parses to the same entries; errors are always ParseErrors naming a line.
func FuzzParseTable(f *testing.F) {
	for _, s := range []string{
		goodTable,
		"",
		"# only a comment\n",
		"10.0.0.1 02:00:00:00:00:01\r\n10.0.0.2 02:00:00:00:00:02 dev\r\n",
		"10.0.0.1 02:00:00:00:00:01#x\n",
		"fe80::1 02:00:00:00:00:01 vdev0\nfe80::1 02:00:00:00:00:01 vdev1\n",
		"10.0.0.1 02:00:00:00:00:01\n10.0.0.1 02:00:00:00:00:01 x\n",
		"::ffff:1.2.3.4 02:00:00:00:00:01\n",
		"1.2.3.4 ff:ff:ff:ff:ff:ff\n",
		"1.2.3.4 02:00:00:00:00:01 \xff\xfe\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := ParseTable(strings.NewReader(s), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.File != "fuzz" {
				t.Fatalf("error %v is not a ParseError with a line", err)
			}
			return
		}
		var b strings.Builder
		for _, e := range es {
			if !e.MAC.IsUnicast() || !e.IP.IsValid() || e.IP.IsMulticast() {
				t.Fatalf("accepted bad entry %v", e)
			}
			b.WriteString(e.String() + "\n")
		}
		again, err := ParseTable(strings.NewReader(b.String()), "again")
		if err != nil || len(again) != len(es) {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		for i := range es {
			if again[i].IP != es[i].IP || again[i].MAC != es[i].MAC || again[i].DevSym != es[i].DevSym {
				t.Fatalf("entry %d: %v became %v", i, es[i], again[i])
			}
		}
	})
}
