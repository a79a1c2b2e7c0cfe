package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/zz_generated/dpdk2211"
)

// need skips (or fails under GOMARSIO_REQUIRE_ALL=1) when a tool is missing.
func need(t *testing.T, tool, how string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		msg := tool + " not found: " + how
		if os.Getenv("GOMARSIO_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// installed returns a config for the installed DPDK 22.11, skipping when
// the machine has another one.
func installed(t *testing.T) (dpdkVersion, config) {
	t.Helper()
	need(t, "gcc", "run make deps")
	need(t, "pkg-config", "run make deps")
	out, err := exec.Command("pkg-config", "--modversion", "libdpdk").Output()
	if err != nil || !strings.HasPrefix(string(out), "22.11.") {
		msg := "DPDK 22.11 not installed (pkg-config libdpdk): run make deps"
		if os.Getenv("GOMARSIO_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	v, _ := lookupVersion("22.11")
	return v, config{
		types: types, consts: consts,
		out: t.TempDir(), cache: "../.cache/gen", internal: "internal", abiDir: "abi",
		logf: t.Logf,
	}
}

func TestUnknownVersion(t *testing.T) {
	err := run([]string{"-dpdk", "21.11", "-out", t.TempDir()})
	if !errors.Is(err, errUnknownVersion) || !strings.Contains(err.Error(), `"21.11"`) {
		t.Fatalf("run -dpdk 21.11 = %v, want errUnknownVersion naming 21.11", err)
	}
	if err := run(nil); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("run() = %v, want usage", err)
	}
}

func TestMissingStructFieldConstant(t *testing.T) {
	v, cfg := installed(t)
	for _, c := range []struct {
		name   string
		types  []typeRow
		consts []constRow
		want   string
	}{
		{"struct", append([]typeRow{{Go: "Nope", C: "rte_nope", File: "ring"}}, types...), consts,
			"struct rte_nope (Nope) is not defined by the DPDK 22.11 headers"},
		{"field", []typeRow{{Go: "Ring", C: "rte_ring", File: "ring", Require: []string{"no_such_member"}}}, consts,
			`struct rte_ring has no member "no_such_member"`},
		{"fixup", []typeRow{{Go: "Ring", C: "rte_ring", File: "ring", Fixups: []fixup{{Kind: fixRename, Field: "gone", Arg: "X"}}}}, consts,
			`fix-up names member "gone"`},
		{"constant", types, append([]constRow{{Name: "RTE_NO_SUCH_CONSTANT", Alt: []string{"NO_SUCH_EITHER"}}}, consts...),
			"constant RTE_NO_SUCH_CONSTANT is not defined by the DPDK 22.11 headers (tried RTE_NO_SUCH_CONSTANT, NO_SUCH_EITHER)"},
		{"compiler", types, append([]constRow{{Name: "RTE_NO_SUCH_ENUMERATOR", Enum: true}}, consts...),
			"RTE_NO_SUCH_ENUMERATOR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfg
			cfg.types, cfg.consts = c.types, c.consts
			_, err := buildVersion(v, cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if c.name == "compiler" && !strings.Contains(err.Error(), "gcc probe_dpdk2211.c failed") {
				t.Errorf("compiler error %q does not name gcc", err)
			}
		})
	}
}

func TestNoNetwork(t *testing.T) {
	need(t, "apt-get", "this test needs Debian's apt")
	dir := t.TempDir()
	src := filepath.Join(dir, "unreachable.sources")
	// Port 9 (discard) on loopback: connection refused, no traffic leaves the machine.
	if err := os.WriteFile(src, []byte("Types: deb\nURIs: http://127.0.0.1:9/debian\nSuites: bookworm\nComponents: main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := aptSources
	aptSources = []string{src}
	t.Cleanup(func() { aptSources = old })
	v, _ := lookupVersion("20.11")
	_, err := getHeaders(v, filepath.Join(dir, "cache"), t.Logf)
	if err == nil || !strings.Contains(err.Error(), "apt-get update for Debian bullseye failed") {
		t.Fatalf("getHeaders with an unreachable mirror = %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func TestMachineMirrors(t *testing.T) {
	dir := t.TempDir()
	deb822 := "Types: deb deb-src\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /k.gpg\n\n" +
		"Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
	list := "deb [arch=amd64 signed-by=/l.gpg] http://other.example/debian bookworm main\ndeb http://other.example/debian bookworm-updates main\n"
	if err := os.WriteFile(filepath.Join(dir, "a.sources"), []byte(deb822), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	old := aptSources
	aptSources = []string{filepath.Join(dir, "*.sources"), filepath.Join(dir, "sources.list")}
	t.Cleanup(func() { aptSources = old })
	ms, err := machineMirrors()
	if err != nil {
		t.Fatal(err)
	}
	want := []mirror{{URI: "http://mirror.example/debian", SignedBy: "/k.gpg"}, {URI: "http://other.example/debian", SignedBy: "/l.gpg"}}
	if len(ms) != len(want) || ms[0] != want[0] || ms[1] != want[1] {
		t.Fatalf("mirrors %+v, want %+v", ms, want)
	}
}

// TestTranslation checks the DWARF -> Go translation on a synthetic struct
// with every shape the generator handles.
func TestTranslation(t *testing.T) {
	need(t, "gcc", "run make deps")
	src := `#include <stdint.h>
struct mir { uint64_t x; };
struct pair { uint32_t a; uint16_t b; };
struct wrap { volatile int32_t cnt; };
struct shapes {
	uint8_t c;
	uint64_t packed __attribute__((packed));
	union { uint32_t u32; struct { uint16_t lo, hi; }; };
	union { uint64_t w; uint8_t b8[8]; } named;
	struct pair two[2];
	struct mir m;
	struct wrap lock;
	struct { uint16_t p, q; } anon_named;
	uint32_t f1 : 3, f2 : 5;
	int32_t s1 : 4;
	char name[5];
	void *flex[];
};
struct shapes *gm_t_Shapes;
struct mir *gm_t_Mir;
`
	dir := t.TempDir()
	obj, err := compile(dir, "shapes", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := []typeRow{{Go: "Shapes", C: "shapes", Fixups: []fixup{{Kind: fixRename, Field: "c", Arg: "First", Why: "test"}}}, {Go: "Mir", C: "mir"}}
	res, err := readProbe(obj, rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := buildLayout(rows[0], res.Types["Shapes"], map[string]string{"mir": "Mir", "shapes": "Shapes"})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		off, size   int64
		acc         access
		typ         string
		bitOff, bit int64
	}
	wants := map[string]want{
		"First":      {0, 1, accField, "uint8", 0, 0},
		"Packed":     {1, 8, accField, "[8]byte", 0, 0}, // misaligned: bytes
		"U32":        {12, 4, accPointer, "uint32", 0, 0},
		"Lo":         {12, 2, accPointer, "uint16", 0, 0},
		"Hi":         {14, 2, accPointer, "uint16", 0, 0},
		"Named":      {16, 8, accField, "[8]byte", 0, 0},
		"NamedW":     {16, 8, accPointer, "uint64", 0, 0},
		"NamedB8":    {16, 8, accPointer, "[8]uint8", 0, 0},
		"Two":        {24, 16, accField, "[16]byte", 0, 0},
		"M":          {40, 8, accField, "Mir", 0, 0},
		"Lock":       {48, 4, accField, "int32", 0, 0},
		"AnonNamed":  {52, 4, accOffset, "", 0, 0},
		"AnonNamedP": {52, 2, accField, "uint16", 0, 0},
		"AnonNamedQ": {54, 2, accField, "uint16", 0, 0},
		"F1":         {56, 4, accBits, "uint32", 0, 3},
		"F2":         {56, 4, accBits, "uint32", 3, 5},
		"S1":         {56, 4, accBits, "uint32", 8, 4},
		"Name":       {58, 5, accField, "[5]byte", 0, 0},
		"Flex":       {64, 0, accOffset, "", 0, 0},
	}
	got := map[string]leaf{}
	for _, lf := range l.Leaves {
		got[lf.GoName] = lf
	}
	for name, w := range wants {
		lf, ok := got[name]
		if !ok {
			t.Errorf("no leaf %s", name)
			continue
		}
		if lf.Off != w.off || lf.Size != w.size || lf.Access != w.acc || (w.typ != "" && lf.Type.String() != w.typ) || lf.BitOff != w.bitOff || lf.BitSize != w.bit {
			t.Errorf("%s: got off %d size %d access %d type %s bits %d+%d, want %+v", name, lf.Off, lf.Size, lf.Access, lf.Type, lf.BitOff, lf.BitSize, w)
		}
	}
	if !got["S1"].Signed || got["F1"].Signed {
		t.Error("bitfield signedness")
	}
	// Items tile the struct exactly.
	var at int64
	for _, it := range l.Items {
		if it.Off != at {
			t.Fatalf("item %s at %d, want %d", it.Name, it.Off, at)
		}
		at += it.Type.Size
	}
	if at != l.Size || l.Size != 64 {
		t.Fatalf("items end at %d, size %d, want 64", at, l.Size)
	}
}

// TestDesignFacts pins the 22.11 layout facts measured on a live primary
// (DESIGN.md §5 and §6) against the generated package.
func TestDesignFacts(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"sizeof rte_mem_config", dpdk2211.SizeofMemConfig, 25344},
		{"magic", dpdk2211.OffsetofMemConfigMagic, 0},
		{"version", dpdk2211.OffsetofMemConfigVersion, 4},
		{"memsegs", dpdk2211.OffsetofMemConfigMemsegs, 136},
		{"sizeof rte_memseg_list", dpdk2211.SizeofMemsegList, 136},
		{"tailq_head", dpdk2211.OffsetofMemConfigTailqHead, 17544},
		{"mem_cfg_addr", dpdk2211.OffsetofMemConfigMemCfgAddr, 25288},
		{"sizeof rte_ring", dpdk2211.SizeofRing, 384},
		{"ring prod", dpdk2211.OffsetofRingProd, 128},
		{"ring cons", dpdk2211.OffsetofRingCons, 256},
		{"ring size", dpdk2211.OffsetofRingSize, 48},
		{"ring mask", dpdk2211.OffsetofRingMask, 52},
		{"ring capacity", dpdk2211.OffsetofRingCapacity, 56},
		{"sizeof rte_mbuf", dpdk2211.SizeofMbuf, 128},
		{"buf_addr", dpdk2211.OffsetofMbufBufAddr, 0},
		{"data_off", dpdk2211.OffsetofMbufDataOff, 16},
		{"refcnt", dpdk2211.OffsetofMbufRefcnt, 18},
		{"nb_segs", dpdk2211.OffsetofMbufNbSegs, 20},
		{"port", dpdk2211.OffsetofMbufPort, 22},
		{"ol_flags", dpdk2211.OffsetofMbufOlFlags, 24},
		{"packet_type", dpdk2211.OffsetofMbufPacketType, 32},
		{"pkt_len", dpdk2211.OffsetofMbufPktLen, 36},
		{"data_len", dpdk2211.OffsetofMbufDataLen, 40},
		{"hash", dpdk2211.OffsetofMbufHash, 44},
		{"buf_len", dpdk2211.OffsetofMbufBufLen, 54},
		{"pool", dpdk2211.OffsetofMbufPool, 56},
		{"next", dpdk2211.OffsetofMbufNext, 64},
		{"headroom", dpdk2211.RTE_PKTMBUF_HEADROOM, 128},
		{"magic value", dpdk2211.RTE_MAGIC, 0x12e6fee},
		{"sizeof mp_msg_internal", dpdk2211.SizeofMpMsgInternal, 364},
		{"sizeof rte_mp_msg", dpdk2211.SizeofMpMsg, 360},
	} {
		if c.got != c.want {
			t.Errorf("%s: generated %d, DESIGN.md says %d", c.name, c.got, c.want)
		}
	}
}
