package main

import (
	"bufio"
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// generateABI mirrors every struct mr_* and every MR_* macro of the
// gen/abi/*.h headers into zz_generated/abi, compiled with the installed
// DPDK's include flags (the headers may include DPDK's).
func generateABI(hs []string, models []*versionModel, cfg config) error {
	var names []string
	for _, h := range hs {
		names = append(names, filepath.Base(h))
	}
	sort.Strings(names)
	absDir, err := filepath.Abs(cfg.abiDir)
	if err != nil {
		return err
	}
	cflags := []string{"-I" + absDir}
	if out, err := exec.Command("pkg-config", "--cflags", "libdpdk").Output(); err == nil {
		cflags = append(cflags, strings.Fields(string(out))...)
	}
	tmp, err := os.MkdirTemp("", "gomarsio-gen-abi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Macros: every object-like MR_* define with a value.
	var crows []constRow
	for _, n := range names {
		args := append([]string{"-dM", "-E", "-x", "c"}, cflags...)
		out, err := exec.Command("gcc", append(args, filepath.Join(absDir, n))...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("gcc -dM -E %s: %w: %s", n, err, lastLines(string(out), 3))
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), " ", 3)
			if len(f) < 3 || f[0] != "#define" || !strings.HasPrefix(f[1], "MR_") || strings.Contains(f[1], "(") || strings.TrimSpace(f[2]) == "" {
				continue
			}
			crows = append(crows, constRow{Name: f[1], Str: strings.HasPrefix(strings.TrimSpace(f[2]), "\"")})
		}
	}
	sort.Slice(crows, func(i, j int) bool { return crows[i].Name < crows[j].Name })

	// Structs: every struct mr_* defined by the headers.
	var inc strings.Builder
	for _, n := range names {
		fmt.Fprintf(&inc, "#include \"%s\"\n", n)
	}
	probe := "#include <stdint.h>\n" + inc.String() + "int gm_abi_anchor;\n"
	obj, err := compile(tmp, "probe_abi", probe, append([]string{"-fno-eliminate-unused-debug-types"}, cflags...))
	if err != nil {
		return err
	}
	cstructs, err := abiStructs(obj)
	if err != nil {
		return err
	}
	var rows []typeRow
	for _, c := range cstructs {
		rows = append(rows, typeRow{Go: camel(strings.TrimPrefix(c, "mr_")), C: c, File: "abi"})
	}
	// Second probe: the constants and the types through the usual path.
	obj, err = compile(tmp, "probe_abi2", probeSource(nil, rows, crows, inc.String()), cflags)
	if err != nil {
		return err
	}
	res, err := readProbe(obj, rows, crows)
	if err != nil {
		return err
	}
	v := dpdkVersion{Name: "abi", Pkg: "abi"}
	m := &versionModel{V: v, H: &headers{Installed: false}, ABI: &abiInfo{Dir: cfg.abiDir, Headers: names}}
	mirrored := map[string]string{}
	for _, r := range rows {
		mirrored[r.C] = r.Go
	}
	for _, r := range rows {
		st := res.Types[r.Go]
		if st == nil {
			return fmt.Errorf("struct %s: no definition in DWARF", r.C)
		}
		l, err := buildLayout(r, st, mirrored)
		if err != nil {
			return err
		}
		m.Layouts = append(m.Layouts, l)
	}
	sort.Slice(m.Layouts, func(i, j int) bool { return m.Layouts[i].Row.Go < m.Layouts[j].Row.Go })
	for _, c := range crows {
		val, ok := res.Consts[c.Name]
		if !ok {
			return fmt.Errorf("macro %s has no constant value (an expression the probe cannot evaluate)", c.Name)
		}
		m.Consts = append(m.Consts, val)
	}
	// Every run regenerates the ABI package identically; line 1 names the
	// shortest command that does.
	cmd := "go run ./gen -dpdk " + defaultVersion
	files := map[string][]byte{}
	doc := newFile("abi", cmd)
	doc.PackageComment(fmt.Sprintf(`Package abi mirrors the daemon/app shared-memory ABI declared in C in
%s/%s: every struct mr_* as a Go type (the C name without mr_, in
CamelCase) whose sizes and offsets equal C's, Offsetof/Sizeof constants,
every MR_* macro under its C name, and the Fields table.

Everything here is written by gen (%s); zlayout_test.go proves it against
the C compiler. The C headers are the single source of truth: change them,
then run make generate.`, cfg.abiDir, strings.Join(names, ", "+cfg.abiDir+"/"), cmd))
	if files["zdoc.go"], err = render(doc); err != nil {
		return err
	}
	tf := newFile("abi", cmd)
	tf.ImportName("unsafe", "unsafe")
	tf.Commentf("This file mirrors the structs of %s.", strings.Join(names, ", "))
	tf.Line()
	for _, l := range m.Layouts {
		emitLayout(tf, m, l)
	}
	if files["ztypes_abi.go"], err = render(tf); err != nil {
		return err
	}
	if files["zconsts.go"], err = emitConsts(m, cmd); err != nil {
		return err
	}
	if files["zfields.go"], err = emitFields(m, cmd); err != nil {
		return err
	}
	if files["zlayout_test.go"], err = emitLayoutTest(m, cmd); err != nil {
		return err
	}
	return replaceDir(filepath.Join(cfg.out, "abi"), files, nil)
}

// abiStructs lists the complete struct mr_* types in obj's DWARF.
func abiStructs(obj string) ([]string, error) {
	f, err := elf.Open(obj)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if decl, _ := e.Val(dwarf.AttrDeclaration).(bool); decl || !strings.HasPrefix(name, "mr_") {
			continue
		}
		seen[name] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
