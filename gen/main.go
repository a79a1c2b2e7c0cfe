// Command gen mirrors DPDK's C structure layouts and constants into Go.
//
//	go run ./gen -dpdk 20.11 -dpdk 22.11 -dpdk 24.11
//
// For each version it obtains that version's headers (the installed DPDK
// through pkg-config, or Debian's libdpdk-dev fetched with a private apt
// configuration into .cache/gen), compiles a C probe with gcc -g, reads every
// layout from the DWARF and every constant from the object's data, and
// writes zz_generated/dpdkXXYY, the zz_generated/dpdk selector, the
// zz_generated/abi package (from gen/abi/*.h) and zz_generated/DIFFERENCES.md.
// The tables in table.go say what is mirrored; README.md explains them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type config struct {
	types                        []typeRow  // the struct table (table.go)
	consts                       []constRow // the constant table (table.go)
	out, cache, internal, abiDir string
	verbose                      bool
	logf                         func(string, ...any)
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var vers listFlag
	fs.Var(&vers, "dpdk", "DPDK version to generate (repeatable): 20.11, 22.11, 24.11")
	cfg := config{types: types, consts: consts}
	fs.StringVar(&cfg.out, "out", "zz_generated", "output directory")
	fs.StringVar(&cfg.cache, "cache", ".cache/gen", "cache for downloaded Debian packages (git-ignored)")
	fs.StringVar(&cfg.internal, "internal", "gen/internal", "our declarations of DPDK's internal structs, per version")
	fs.StringVar(&cfg.abiDir, "abi", "gen/abi", "the daemon/app ABI headers (*.h)")
	fs.BoolVar(&cfg.verbose, "v", false, "log every step")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(vers) == 0 || fs.NArg() > 0 {
		return errors.New("usage: go run ./gen -dpdk 20.11 [-dpdk 22.11 ...] (run from the module root)")
	}
	cfg.logf = func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
	var vs []dpdkVersion
	seen := map[string]bool{}
	for _, name := range vers {
		v, err := lookupVersion(name)
		if err != nil {
			return err
		}
		if !seen[v.Name] {
			seen[v.Name] = true
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the module root (go.mod not found in the current directory)")
	}

	var models []*versionModel
	for _, v := range vs {
		m, err := buildVersion(v, cfg)
		if err != nil {
			return fmt.Errorf("DPDK %s: %w", v.Name, err)
		}
		models = append(models, m)
	}
	if err := checkAPI(models); err != nil {
		return err
	}
	for _, m := range models {
		if err := writeVersion(m, cfg); err != nil {
			return fmt.Errorf("DPDK %s: %w", m.V.Name, err)
		}
		if err := writeSelector(m, cfg); err != nil {
			return fmt.Errorf("DPDK %s selector: %w", m.V.Name, err)
		}
	}
	if len(models) == len(knownVersions) {
		if err := writeDifferences(models, cfg); err != nil {
			return err
		}
	}
	if err := writeABI(models, cfg); err != nil {
		return fmt.Errorf("gen/abi: %w", err)
	}
	return nil
}

// command is line 1 of every file of a version: the command that makes it.
func command(v dpdkVersion) string {
	return "go run ./gen -dpdk " + v.Name
}

// buildVersion probes one version and builds its model.
func buildVersion(v dpdkVersion, cfg config) (*versionModel, error) {
	h, err := getHeaders(v, cfg.cache, cfg.logf)
	if err != nil {
		return nil, err
	}
	if cfg.verbose {
		cfg.logf("gen: DPDK %s: %s", v.Name, h.Origin)
	}
	internalDir, err := filepath.Abs(filepath.Join(cfg.internal, v.Pkg))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(internalDir, "internal.h")); err != nil {
		return nil, fmt.Errorf("no declaration of the internal structs: %w", err)
	}
	tmp, err := os.MkdirTemp("", "gomarsio-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	rows, consts := cfg.types, cfg.consts
	src := probeSource(publicIncludes, rows, consts, "#include \"internal.h\"\n")
	obj, err := compile(tmp, "probe_"+v.Pkg, src, append([]string{"-I" + internalDir}, h.CFlags...))
	if err != nil {
		return nil, fmt.Errorf("compile the probe against %s: %w", h.Origin, err)
	}
	res, err := readProbe(obj, rows, consts)
	if err != nil {
		return nil, err
	}
	m := &versionModel{V: v, H: h, Rows: consts}
	mirrored := map[string]string{}
	for _, r := range rows {
		if res.Types[r.Go] != nil {
			mirrored[r.C] = r.Go
		}
	}
	for _, r := range rows {
		st := res.Types[r.Go]
		if st == nil {
			if r.Optional {
				continue
			}
			return nil, fmt.Errorf("struct %s (%s) is not defined by the DPDK %s headers (%s)", r.C, r.Go, v.Name, h.Origin)
		}
		l, err := buildLayout(r, st, mirrored)
		if err != nil {
			return nil, err
		}
		m.Layouts = append(m.Layouts, l)
	}
	sort.Slice(m.Layouts, func(i, j int) bool { return m.Layouts[i].Row.Go < m.Layouts[j].Row.Go })
	names := map[string]string{}
	for _, l := range m.Layouts {
		for _, lf := range l.Leaves {
			n := "Offsetof" + l.Row.Go + lf.GoName
			if prev, ok := names[n]; ok {
				return nil, fmt.Errorf("%s would name both %s and %s.%s: add a fixRename row in gen/table.go", n, prev, l.Row.C, lf.CPath)
			}
			names[n] = l.Row.C + "." + lf.CPath
		}
	}
	for _, c := range consts {
		val, ok := res.Consts[c.Name]
		if !ok {
			if c.Optional {
				continue
			}
			return nil, fmt.Errorf("constant %s is not defined by the DPDK %s headers (tried %s)", c.Name, v.Name, strings.Join(append([]string{c.Name}, c.Alt...), ", "))
		}
		m.Consts = append(m.Consts, val)
	}
	if err := checkInternal(m, tmp, internalDir, cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// checkInternal compiles the real internal headers of the version's source
// package (when reachable) and compares every internal struct, member by
// member, with our declaration.
func checkInternal(m *versionModel, tmp, internalDir string, cfg config) error {
	if m.H.EALSrc == "" {
		cfg.logf("gen: warning: DPDK %s: internal structs not checked against the real headers: %v", m.V.Name, m.H.SrcErr)
		return nil
	}
	procC, err := os.ReadFile(filepath.Join(m.H.EALSrc, "eal_common_proc.c"))
	if err != nil {
		return err
	}
	s := string(procC)
	i := strings.Index(s, "struct mp_msg_internal {")
	if i < 0 {
		return fmt.Errorf("%s: struct mp_msg_internal not found", filepath.Join(m.H.EALSrc, "eal_common_proc.c"))
	}
	j := strings.Index(s[i:], "};")
	decl := s[i : i+j+2]
	var rows []typeRow
	for _, r := range cfg.types {
		if r.Internal {
			rows = append(rows, r)
		}
	}
	extra := "#include <sys/queue.h>\n#include \"malloc_elem.h\"\n#include \"malloc_heap.h\"\n#include \"eal_memcfg.h\"\n" + decl + "\n"
	obj, err := compile(tmp, "check_"+m.V.Pkg, probeSource(publicIncludes, rows, nil, extra), append([]string{"-I" + m.H.EALSrc}, m.H.CFlags...))
	if err != nil {
		return fmt.Errorf("compile the real internal headers of %s: %w", m.H.EALSrc, err)
	}
	res, err := readProbe(obj, rows, nil)
	if err != nil {
		return err
	}
	mirrored := map[string]string{}
	for _, l := range m.Layouts {
		mirrored[l.Row.C] = l.Row.Go
	}
	for _, r := range rows {
		st := res.Types[r.Go]
		if st == nil {
			return fmt.Errorf("the real internal headers in %s lack struct %s", m.H.EALSrc, r.C)
		}
		real, err := buildLayout(r, st, mirrored)
		if err != nil {
			return fmt.Errorf("real header: %w", err)
		}
		var ours *layout
		for _, l := range m.Layouts {
			if l.Row.Go == r.Go {
				ours = l
			}
		}
		if d := diffLayouts(ours, real); d != "" {
			return fmt.Errorf("gen/internal/%s/internal.h disagrees with the real %s in %s: %s", m.V.Pkg, r.C, m.H.EALSrc, d)
		}
		m.Checked = append(m.Checked, r.C)
	}
	if cfg.verbose {
		cfg.logf("gen: DPDK %s: internal declarations match the source package (%s)", m.V.Name, strings.Join(m.Checked, ", "))
	}
	return nil
}

// checkAPI makes sure a member every release mirrors is reached the same
// way (field, pointer method or bitfield methods) in each, so code written
// against zz_generated/dpdk compiles for every build tag.
func checkAPI(models []*versionModel) error {
	kind := map[access]string{accField: "a field", accPointer: "a pointer method", accBits: "a bitfield getter/setter"}
	type seen struct {
		acc access
		ver string
	}
	first := map[string]seen{}
	for _, m := range models {
		for _, l := range m.Layouts {
			for _, lf := range l.Leaves {
				if lf.Access == accOffset {
					continue // only a constant: compatible with anything
				}
				k := l.Row.Go + "." + lf.GoName
				if s, ok := first[k]; ok && s.acc != lf.Access {
					return fmt.Errorf("%s is %s in DPDK %s but %s in DPDK %s: add a fix-up in gen/table.go so every release has the same Go API", k, kind[s.acc], s.ver, kind[lf.Access], m.V.Name)
				}
				if _, ok := first[k]; !ok {
					first[k] = seen{lf.Access, m.V.Name}
				}
			}
		}
	}
	return nil
}

func diffLayouts(a, b *layout) string {
	if a.Size != b.Size {
		return fmt.Sprintf("size %d (ours) vs %d (real)", a.Size, b.Size)
	}
	if len(a.Leaves) != len(b.Leaves) {
		return fmt.Sprintf("%d members (ours) vs %d (real)", len(a.Leaves), len(b.Leaves))
	}
	for i := range a.Leaves {
		x, y := a.Leaves[i], b.Leaves[i]
		if x.CPath != y.CPath || x.Off != y.Off || x.Size != y.Size || x.BitOff != y.BitOff || x.BitSize != y.BitSize {
			return fmt.Sprintf("member %s@%d/%d (ours) vs %s@%d/%d (real)", x.CPath, x.Off, x.Size, y.CPath, y.Off, y.Size)
		}
	}
	return ""
}
