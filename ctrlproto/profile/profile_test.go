package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# global config
[eal]
virtaddr = 0x7f0000000000
nohuge=0   # inline comment
loglevel=7

; another comment
[service]
poll_wait_enable=1
mp_cache_size=9999
name="  quoted # kept "
path=/tmp/a#b

[eal]
extra=--foo
`

func TestParse(t *testing.T) {
	f, err := Parse("/x/mrglobal.conf", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ s, k, want string }{
		{"eal", "virtaddr", "0x7f0000000000"},
		{"eal", "nohuge", "0"},
		{"eal", "extra", "--foo"},
		{"service", "name", "  quoted # kept "},
		{"service", "path", "/tmp/a#b"},
	} {
		if got, ok := f.Get(c.s, c.k); !ok || got != c.want {
			t.Errorf("[%s] %s = %q, %v; want %q", c.s, c.k, got, ok, c.want)
		}
	}
	if len(f.Sections()) != 2 {
		t.Errorf("sections: %d", len(f.Sections()))
	}
	v, err := f.Uint("eal", "virtaddr", 0, 0, ^uint64(0))
	if err != nil || v != 0x7f0000000000 {
		t.Errorf("hex uint: %x %v", v, err)
	}
	_, err = f.Uint("service", "mp_cache_size", 256, 0, 512)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	want := "config /x/mrglobal.conf: [service] mp_cache_size=9999: must be <= 512"
	if err.Error() != want {
		t.Errorf("error text\n got %q\nwant %q", err.Error(), want)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Line != 10 || pe.Key != "mp_cache_size" {
		t.Errorf("typed error: %+v", pe)
	}
	if d, _ := f.Uint("service", "absent", 32, 0, 100); d != 32 {
		t.Errorf("default: %d", d)
	}
	if b, err := f.Bool("service", "poll_wait_enable", false); !b || err != nil {
		t.Errorf("bool: %v %v", b, err)
	}
	if err := f.Unknown("service", "poll_wait_enable", "mp_cache_size", "name"); err == nil ||
		!strings.Contains(err.Error(), "[service] path=/tmp/a#b: unknown key") {
		t.Errorf("unknown: %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"key=1\n", "config f:1: key=: key outside of any [section]"},
		{"[a\n", "config f:1: section header without ']'"},
		{"[]\n", "config f:1: empty section name"},
		{"[a]\njunk\n", `config f:2: [a]: line "junk" is not key=value`},
		{"[a]\nk=1\nk=2\n", "config f:3: [a] k=: duplicate key (first at line 2)"},
		{"[a]\n=2\n", "config f:2: [a]: empty key"},
		{"[a] x\n", `config f:1: text after section header: "x"`},
	} {
		_, err := Parse("f", []byte(c.text))
		if !errors.Is(err, ErrSyntax) || err.Error() != c.want {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f := New("gen")
	f.Set("eal", "loglevel", "7")
	f.Set("vdev:vxe0", "apps", "a, b")
	f.Set("vdev:vxe0", "odd", " spaced # hash")
	f.Set("eal", "loglevel", "8")
	path := filepath.Join(t.TempDir(), "c.conf")
	if err := os.WriteFile(path, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Get("eal", "loglevel"); v != "8" {
		t.Errorf("loglevel %q", v)
	}
	if v, _ := g.Get("vdev:vxe0", "odd"); v != " spaced # hash" {
		t.Errorf("odd %q", v)
	}
	if l := g.List("vdev:vxe0", "apps", nil); len(l) != 2 || l[1] != "b" {
		t.Errorf("list %q", l)
	}
	if s := g.SectionsWithPrefix("vdev:"); len(s) != 1 {
		t.Errorf("prefix %d", len(s))
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("[a]\nk=\"v\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		q, err := Parse("again", p.Bytes())
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, p.Bytes())
		}
		for _, s := range p.Sections() {
			for _, e := range s.Entries {
				if strings.Contains(e.Value, "\"") && needsQuotes(e.Value) {
					continue // not representable; documented on WriteTo
				}
				if v, ok := q.Get(s.Name, e.Key); !ok || v != e.Value {
					t.Fatalf("[%s] %s: %q vs %q", s.Name, e.Key, e.Value, v)
				}
			}
		}
	})
}
