package main

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
	"golang.org/x/tools/imports"
)

// cLayoutSource is the C side of the layout proof: it prints every size,
// offset, bitfield position and constant as the C compiler sees them,
// without DWARF (offsetof, sizeof, and setting bitfields in a zeroed struct).
func cLayoutSource(m *versionModel) string {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n#include <string.h>\n#include <stddef.h>\n#include <stdint.h>\n")
	if m.ABI != nil {
		for _, h := range m.ABI.Headers {
			fmt.Fprintf(&b, "#include \"%s\"\n", h)
		}
	} else {
		for _, h := range publicIncludes {
			fmt.Fprintf(&b, "#include <%s>\n", h)
		}
		b.WriteString("#include \"internal.h\"\n")
	}
	b.WriteString(`static char gm_buf[1 << 20];
static size_t gm_n;
#define GM_P(...) (gm_n += (size_t)snprintf(gm_buf + gm_n, sizeof(gm_buf) - gm_n, __VA_ARGS__))
static void gm_bits(const char *name, const unsigned char *p, size_t n)
{
	long first = -1, count = 0;
	for (size_t i = 0; i < n * 8; i++) {
		if (p[i / 8] & (1u << (i % 8))) {
			if (first < 0)
				first = (long)i;
			count++;
		}
	}
	GM_P("B %s %ld %ld\n", name, first, count);
}
static const char *gm_layout(void)
{
	gm_n = 0;
`)
	for _, l := range m.Layouts {
		ct := "struct " + l.Row.C
		fmt.Fprintf(&b, "\tGM_P(\"S %s %%zu\\n\", sizeof(%s));\n", l.Row.Go, ct)
		for _, lf := range l.Leaves {
			key := l.Row.Go + "." + lf.GoName
			switch {
			case lf.Access == accBits:
				fmt.Fprintf(&b, "\t{ static %s x; memset(&x, 0, sizeof(x)); x.%s = -1; gm_bits(\"%s\", (const unsigned char *)&x, sizeof(x)); }\n", ct, lf.CPath, key)
			case lf.Size == 0:
				fmt.Fprintf(&b, "\tGM_P(\"L %s %%zu 0\\n\", offsetof(%s, %s));\n", key, ct, lf.CPath)
			default:
				fmt.Fprintf(&b, "\tGM_P(\"L %s %%zu %%zu\\n\", offsetof(%s, %s), sizeof(((%s *)0)->%s));\n", key, ct, lf.CPath, ct, lf.CPath)
			}
		}
	}
	for _, c := range m.Consts {
		if c.IsStr {
			fmt.Fprintf(&b, "\tGM_P(\"Q %s %%s\\n\", %s);\n", c.Name, c.C)
		} else {
			fmt.Fprintf(&b, "\tGM_P(\"C %s %%llu\\n\", (unsigned long long)(%s));\n", c.Name, c.C)
		}
	}
	b.WriteString("\treturn gm_buf;\n}\n")
	return b.String()
}

// emitLayoutTest renders zlayout_test.go: Go's view of every fact, compared
// with the C program's output (compiled through cgo for the installed
// version, or by running gcc on the cached headers).
func emitLayoutTest(m *versionModel, cmd string) ([]byte, error) {
	f := newFile(m.V.Pkg, cmd)
	f.ImportName("unsafe", "unsafe")
	f.ImportName("testing", "testing")
	f.ImportName("os", "os")
	f.ImportName("os/exec", "exec")
	f.ImportName("path/filepath", "filepath")
	f.ImportName("strings", "strings")
	f.ImportName("strconv", "strconv")

	f.Comment("cSource is the C side of the proof (see gen/layouttest.go).")
	f.Const().Id("cSource").Op("=").Lit(cLayoutSource(m) + "int main(void) { fputs(gm_layout(), stdout); return 0; }\n")
	f.Line()
	f.Comment("cLayoutCgo, when set (cgo builds of the installed version), returns the C facts.")
	f.Var().Id("cLayoutCgo").Func().Params().String()
	f.Line()

	f.Comment("goFacts is Go's view: key -> {offset, size, constant offset} (bitfields: first bit, width).")
	var body []jen.Code
	body = append(body, jen.Id("f").Op(":=").Map(jen.String()).Index(jen.Lit(3)).Uint64().Values())
	for _, l := range m.Layouts {
		v := "v" + l.Row.Go
		body = append(body, jen.Id(v).Op(":=").New(jen.Id(l.Row.Go)))
		needBase := false
		for _, lf := range l.Leaves {
			needBase = needBase || lf.Access == accPointer
		}
		if needBase {
			body = append(body, jen.Id("base"+l.Row.Go).Op(":=").Uintptr().Call(jen.Qual("unsafe", "Pointer").Call(jen.Id(v))))
		}
		body = append(body, jen.Id("f").Index(jen.Lit("S "+l.Row.Go)).Op("=").Index(jen.Lit(3)).Uint64().Values(
			jen.Lit(0), jen.Uint64().Call(jen.Qual("unsafe", "Sizeof").Call(jen.Op("*").Id(v))), jen.Id("Sizeof"+l.Row.Go)))
		for _, lf := range l.Leaves {
			key := l.Row.Go + "." + lf.GoName
			off := jen.Id("Offsetof" + l.Row.Go + lf.GoName)
			switch lf.Access {
			case accField:
				body = append(body, jen.Id("f").Index(jen.Lit("L "+key)).Op("=").Index(jen.Lit(3)).Uint64().Values(
					jen.Uint64().Call(jen.Qual("unsafe", "Offsetof").Call(jen.Id(v).Dot(lf.GoName))),
					jen.Uint64().Call(jen.Qual("unsafe", "Sizeof").Call(jen.Id(v).Dot(lf.GoName))), off))
			case accPointer:
				body = append(body, jen.Id("f").Index(jen.Lit("L "+key)).Op("=").Index(jen.Lit(3)).Uint64().Values(
					jen.Uint64().Call(jen.Uintptr().Call(jen.Qual("unsafe", "Pointer").Call(jen.Id(v).Dot(lf.GoName).Call())).Op("-").Id("base"+l.Row.Go)),
					jen.Uint64().Call(jen.Qual("unsafe", "Sizeof").Call(jen.Op("*").Id(v).Dot(lf.GoName).Call())), off))
			case accOffset:
				body = append(body, jen.Id("f").Index(jen.Lit("L "+key)).Op("=").Index(jen.Lit(3)).Uint64().Values(
					off, jen.Lit(int(lf.Size)), off))
			case accBits:
				ret := lf.Type.Name
				var allOnes jen.Code = jen.Id(fmt.Sprintf("%#x", uint64(1)<<uint(lf.BitSize)-1))
				if lf.Signed {
					ret = strings.TrimPrefix(ret, "u")
					allOnes = jen.Lit(-1)
				}
				body = append(body, jen.Block(
					jen.Id("z").Op(":=").New(jen.Id(l.Row.Go)),
					jen.Id("z").Dot("Set"+lf.GoName).Call(jen.Op("^").Id(ret).Call(jen.Lit(0))),
					jen.List(jen.Id("first"), jen.Id("n")).Op(":=").Id("bitsSet").Call(jen.Qual("unsafe", "Slice").Call(jen.Parens(jen.Op("*").Byte()).Call(jen.Qual("unsafe", "Pointer").Call(jen.Id("z"))), jen.Qual("unsafe", "Sizeof").Call(jen.Op("*").Id("z")))),
					// The getter reads back what the setter stored: all ones, then 1.
					jen.If(jen.Id("z").Dot(lf.GoName).Call().Op("!=").Add(allOnes)).Block(jen.Id("first").Op("=").Lit(-2)),
					jen.Id("z").Dot("Set"+lf.GoName).Call(jen.Lit(0)),
					jen.Id("z").Dot("Set"+lf.GoName).Call(jen.Lit(1)),
					jen.If(jen.List(jen.Id("f1"), jen.Id("n1")).Op(":=").Id("bitsSet").Call(jen.Qual("unsafe", "Slice").Call(jen.Parens(jen.Op("*").Byte()).Call(jen.Qual("unsafe", "Pointer").Call(jen.Id("z"))), jen.Qual("unsafe", "Sizeof").Call(jen.Op("*").Id("z")))), jen.Id("z").Dot(lf.GoName).Call().Op("!=").Lit(1).Op("||").Id("n1").Op("!=").Lit(1).Op("||").Id("f1").Op("!=").Id("first")).Block(jen.Id("first").Op("=").Lit(-3)),
					jen.Id("f").Index(jen.Lit("B "+key)).Op("=").Index(jen.Lit(3)).Uint64().Values(
						jen.Uint64().Call(jen.Id("first")), jen.Uint64().Call(jen.Id("n")), jen.Uint64().Call(off).Op("*").Lit(8).Op("+").Lit(int(lf.BitOff))),
				))
			}
		}
	}
	body = append(body, jen.Return(jen.Id("f")))
	f.Func().Id("goFacts").Params().Map(jen.String()).Index(jen.Lit(3)).Uint64().Block(body...)
	f.Line()

	var cs []jen.Code
	for _, c := range m.Consts {
		if c.IsStr {
			cs = append(cs, jen.Lit("Q "+c.Name).Op(":").Id(c.Name))
		} else {
			cs = append(cs, jen.Lit("C "+c.Name).Op(":").Qual("strconv", "FormatUint").Call(jen.Uint64().Call(jen.Id(c.Name)), jen.Lit(10)))
		}
	}
	f.Comment("goConsts is every generated constant as text.")
	f.Var().Id("goConsts").Op("=").Map(jen.String()).String().Values(multiline(cs)...)
	f.Line()

	suite, installed := m.V.Suite, m.H.Installed
	f.Op(bitsSetText)
	if m.ABI != nil {
		f.Op(fmt.Sprintf(abiCLayoutText, m.ABI.Dir))
	} else {
		f.Op(fmt.Sprintf(dpdkCLayoutText, installed, m.V.Name, suite, m.V.Name, m.V.Name, m.V.Pkg))
	}
	title := "DPDK " + m.V.Name
	if m.ABI != nil {
		title = "the ABI headers (" + strings.Join(m.ABI.Headers, ", ") + ")"
	}
	f.Op(fmt.Sprintf(testLayoutText, title, title))
	b, err := render(f)
	if err != nil {
		return nil, err
	}
	// The hand-written half above uses packages jennifer cannot see.
	return imports.Process("zlayout_test.go", b, nil)
}

const bitsSetText = `// bitsSet returns the index of the first set bit of p and the number of set bits.
func bitsSet(p []byte) (first, n int) {
	first = -1
	for i := 0; i < len(p)*8; i++ {
		if p[i/8]&(1<<(i%8)) != 0 {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	return first, n
}
`

const moduleRootText = `// moduleRoot finds the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}
`

const dpdkCLayoutText = moduleRootText + `
// cLayout runs the C side: through cgo when available, else with gcc.
func cLayout(t *testing.T) string {
	if cLayoutCgo != nil {
		return cLayoutCgo()
	}
	const installed = %t
	skip := func(msg string) {
		if installed && os.Getenv("GOMARSIO_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root := moduleRoot(t)
	var flags []string
	if installed {
		out, err := exec.Command("pkg-config", "--cflags", "libdpdk").Output()
		if err != nil {
			skip("DPDK %s headers missing (pkg-config libdpdk failed: " + err.Error() + "): run make deps")
		}
		flags = strings.Fields(string(out))
	} else {
		inc := filepath.Join(root, ".cache", "gen", %q, "dev", "usr", "include")
		if _, err := os.Stat(filepath.Join(inc, "dpdk", "rte_mbuf.h")); err != nil {
			skip("DPDK %s headers not cached in " + inc + ": run go run ./gen -dpdk %s (make generate) to fetch them")
		}
		flags = []string{"-I" + filepath.Join(inc, "dpdk"), "-I" + filepath.Join(inc, "x86_64-linux-gnu", "dpdk"), "-include", "rte_config.h"}
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		skip("gcc not found: run make deps")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "layout.c")
	if err := os.WriteFile(src, []byte(cSource), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layout")
	args := append([]string{"-w", "-DALLOW_EXPERIMENTAL_API", "-o", bin, "-I" + filepath.Join(root, "gen", "internal", %q)}, flags...)
	if out, err := exec.Command("gcc", append(args, src)...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %%v\n%%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("%%s: %%v", bin, err)
	}
	return string(out)
}
`

const testLayoutText = `
// TestLayout compares every generated size, offset, bitfield and constant
// with what the C compiler says about %s.
func TestLayout(t *testing.T) {
	goF := goFacts()
	nf, nc := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(cLayout(t)), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		name, val, _ := strings.Cut(rest, " ")
		key := kind + " " + name
		switch kind {
		case "C", "Q":
			nc++
			if got, ok := goConsts[key]; !ok || got != val {
				t.Errorf("constant %%s: Go %%q, C %%q", name, got, val)
			}
			continue
		}
		g, ok := goF[key]
		if !ok {
			t.Errorf("%%s: no Go counterpart", key)
			continue
		}
		nf++
		var c []uint64
		for _, s := range strings.Fields(val) {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("bad C line %%q", line)
			}
			c = append(c, uint64(n))
		}
		switch kind {
		case "S":
			if g[1] != c[0] || g[2] != c[0] {
				t.Errorf("sizeof %%s: Go %%d (Sizeof const %%d), C %%d", name, g[1], g[2], c[0])
			}
		case "L":
			if g[0] != c[0] || g[2] != c[0] || g[1] != c[1] {
				t.Errorf("%%s: Go offset %%d (const %%d) size %%d, C offset %%d size %%d", name, g[0], g[2], g[1], c[0], c[1])
			}
		case "B":
			if g[0] != c[0] || g[1] != c[1] || g[2] != c[0] {
				t.Errorf("bitfield %%s: Go first bit %%d (const %%d) width %%d, C first bit %%d width %%d", name, int64(g[0]), g[2], g[1], int64(c[0]), c[1])
			}
		}
	}
	if nf != len(goF) || nc != len(goConsts) {
		t.Errorf("C reported %%d layout facts and %%d constants, Go has %%d and %%d", nf, nc, len(goF), len(goConsts))
	}
	t.Logf("%s: %%d layout facts and %%d constants checked against C", nf, nc)
}
`

const abiCLayoutText = moduleRootText + `
// cLayout compiles and runs the C side with gcc against the ABI headers.
func cLayout(t *testing.T) string {
	if cLayoutCgo != nil {
		return cLayoutCgo()
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		if os.Getenv("GOMARSIO_REQUIRE_ALL") == "1" {
			t.Fatal("gcc not found: run make deps")
		}
		t.Skip("gcc not found: run make deps")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "layout.c")
	if err := os.WriteFile(src, []byte(cSource), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layout")
	args := []string{"-w", "-o", bin, "-I" + filepath.Join(root, %q)}
	if out, err := exec.Command("pkg-config", "--cflags", "libdpdk").Output(); err == nil {
		args = append(args, strings.Fields(string(out))...)
	}
	if out, err := exec.Command("gcc", append(args, src)...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %%v\n%%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("%%s: %%v", bin, err)
	}
	return string(out)
}
`

// emitCgoHelper renders the cgo side for the installed version:
// internal/clayout (a package only tests import) and zcgo_test.go.
func emitCgoHelper(m *versionModel, cmd string) (pkgFile, docFile, testFile []byte, err error) {
	f := newFile("clayout", cmd)
	f.CgoPreamble(fmt.Sprintf("#cgo pkg-config: libdpdk\n#cgo CFLAGS: -w -DALLOW_EXPERIMENTAL_API -I${SRCDIR}/../../../../gen/internal/%s\n%s", m.V.Pkg, cLayoutSource(m)))
	f.Comment("Layout returns the C compiler's view of every mirrored size, offset,")
	f.Comment("bitfield and constant (one fact per line).")
	f.Func().Id("Layout").Params().String().Block(jen.Return(jen.Qual("C", "GoString").Call(jen.Qual("C", "gm_layout").Call())))
	if pkgFile, err = render(f); err != nil {
		return
	}
	d := newFile("clayout", cmd)
	d.PackageComment(fmt.Sprintf("Package clayout is the cgo half of %s's layout test: it compiles the\nC side against the installed DPDK %s headers. Only tests import it.", m.V.Pkg, m.V.Name))
	if docFile, err = render(d); err != nil {
		return
	}
	tf := newFile(m.V.Pkg, cmd)
	tf.HeaderComment("//go:build cgo")
	tf.Comment("Under cgo the C facts come from the installed headers through cgo.")
	tf.Func().Id("init").Params().Block(jen.Id("cLayoutCgo").Op("=").Qual("github.com/gomarsio/marsio/zz_generated/"+m.V.Pkg+"/internal/clayout", "Layout"))
	testFile, err = render(tf)
	return
}
