package main

import (
	"bufio"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// isGenerated reports whether a file carries the generated marker in its
// first lines (the avo rule: only such files are ever deleted).
func isGenerated(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 0; i < 3 && sc.Scan(); i++ {
		l := sc.Text()
		if strings.Contains(l, generatedLine) {
			return true
		}
	}
	return false
}

// replaceDir makes dir hold exactly files (relative path -> content) plus
// every file already there that is not marked generated, owned reports
// whether an existing generated file belongs to this run (others are kept).
// The new tree is written beside dir and renamed into place, so a failure
// never leaves a half-written package.
func replaceDir(dir string, files map[string][]byte, owned func(rel string) bool) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := os.Stat(dir); err == nil {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if isGenerated(p) && (owned == nil || owned(rel)) {
				return nil // deleted: regenerated below or stale
			}
			if _, ok := files[rel]; ok {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return writeFile(filepath.Join(tmp, rel), b)
		})
		if err != nil {
			return err
		}
	}
	for rel, b := range files {
		if err := writeFile(filepath.Join(tmp, rel), b); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := tmp + ".old"
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return err
	}
	return os.RemoveAll(old)
}

func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// writeVersion renders and installs zz_generated/dpdkXXYY.
func writeVersion(m *versionModel, cfg config) error {
	cmd := command(m.V)
	files := map[string][]byte{}
	add := func(name string, b []byte, err error) error {
		if err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		if b != nil {
			files[name] = b
		}
		return nil
	}
	b, err := emitDoc(m, cmd)
	if err := add("zdoc.go", b, err); err != nil {
		return err
	}
	for _, c := range sortedConcerns(m.Layouts) {
		b, err := emitTypes(m, c, cmd)
		if err := add("ztypes_"+c+".go", b, err); err != nil {
			return err
		}
	}
	b, err = emitConsts(m, cmd)
	if err := add("zconsts.go", b, err); err != nil {
		return err
	}
	b, err = emitFields(m, cmd)
	if err := add("zfields.go", b, err); err != nil {
		return err
	}
	b, err = emitLayoutTest(m, cmd)
	if err := add("zlayout_test.go", b, err); err != nil {
		return err
	}
	if m.H.Installed {
		p, d, t, err := emitCgoHelper(m, cmd)
		if err != nil {
			return err
		}
		files["internal/clayout/zclayout.go"] = p
		files["internal/clayout/zdoc.go"] = d
		files["zcgo_test.go"] = t
	}
	return replaceDir(filepath.Join(cfg.out, m.V.Pkg), files, nil)
}

// writeSelector installs this version's file of zz_generated/dpdk and the
// version-independent files.
func writeSelector(m *versionModel, cfg config) error {
	cmd := command(m.V)
	var b strings.Builder
	fmt.Fprintf(&b, "// %s\n// %s\n", cmd, generatedLine)
	var tag string
	switch m.V.Name {
	case defaultVersion:
		var not []string
		for _, v := range knownVersions {
			if v.Name != defaultVersion {
				not = append(not, "!"+v.Tag)
			}
		}
		tag = strings.Join(not, " && ")
	default:
		tag = m.V.Tag
		for _, v := range knownVersions {
			if v.Name < m.V.Name && v.Name != defaultVersion {
				tag += " && !" + v.Tag
			}
		}
	}
	fmt.Fprintf(&b, "//go:build %s\n\npackage dpdk\n\nimport v \"github.com/gomarsio/marsio/zz_generated/%s\"\n\n", tag, m.V.Pkg)
	var major, minor int
	fmt.Sscanf(m.V.Name, "%d.%d", &major, &minor)
	fmt.Fprintf(&b, "// Version is the DPDK release this build mirrors (build tag %s).\nconst Version = %q\n\n", m.V.Tag, m.V.Name)
	fmt.Fprintf(&b, "// VersionMajor and VersionMinor are Version's numbers, as in RTE_VER_YEAR and RTE_VER_MONTH.\nconst (\n\tVersionMajor = %d\n\tVersionMinor = %d\n)\n\n", major, minor)
	b.WriteString("// The mirrored types of the selected version (aliases).\ntype (\n\tField = v.Field\n\tType = v.Type\n")
	for _, l := range m.Layouts {
		fmt.Fprintf(&b, "\t%s = v.%s\n", l.Row.Go, l.Row.Go)
	}
	b.WriteString(")\n\n// The sizes, offsets and constants of the selected version.\nconst (\n")
	for _, l := range m.Layouts {
		fmt.Fprintf(&b, "\tSizeof%s = v.Sizeof%s\n", l.Row.Go, l.Row.Go)
		for _, lf := range l.Leaves {
			fmt.Fprintf(&b, "\tOffsetof%s%s = v.Offsetof%s%s\n", l.Row.Go, lf.GoName, l.Row.Go, lf.GoName)
		}
	}
	for _, c := range m.Consts {
		fmt.Fprintf(&b, "\t%s = v.%s\n", c.Name, c.Name)
	}
	b.WriteString(")\n\n// Types and Fields describe every mirrored struct and member of the selected version.\nvar (\n\tTypes = v.Types\n\tFields = v.Fields\n)\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("format selector: %w", err)
	}
	files := map[string][]byte{"zdpdk_" + m.V.Pkg + ".go": src}
	for name, text := range selectorCommon() {
		f, err := format.Source([]byte(strings.ReplaceAll(text, "CMD", cmd)))
		if err != nil {
			return fmt.Errorf("format %s: %w", name, err)
		}
		files[name] = f
	}
	return replaceDir(filepath.Join(cfg.out, "dpdk"), files, func(rel string) bool {
		if !strings.HasPrefix(rel, "zdpdk_") {
			return true
		}
		return rel == "zdpdk_"+m.V.Pkg+".go"
	})
}

// writeDifferences writes zz_generated/DIFFERENCES.md: every mirrored member
// and constant whose offset, size or value differs between versions.
func writeDifferences(models []*versionModel, cfg config) error {
	var names []string
	for _, m := range models {
		names = append(names, m.V.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- go run ./gen -dpdk %s -->\n<!-- %s -->\n\n", strings.Join(names, " -dpdk "), generatedLine)
	fmt.Fprintf(&b, "# Layout differences between DPDK %s\n\n", strings.Join(names, ", "))
	b.WriteString("Every mirrored member whose offset or size differs between the versions, or\nwhich exists only in some of them (`-`: absent). Offsets and sizes in bytes,\nwritten `offset/size` (bitfields: `offset/size:bit+width`).\n\n")

	typeSet := map[string]bool{}
	for _, m := range models {
		for _, l := range m.Layouts {
			typeSet[l.Row.Go] = true
		}
	}
	var tnames []string
	for t := range typeSet {
		tnames = append(tnames, t)
	}
	sort.Strings(tnames)
	header := "| member | C | " + strings.Join(names, " | ") + " |\n|---|---|" + strings.Repeat("---|", len(names)) + "\n"
	for _, t := range tnames {
		var rows []string
		sizes := make([]string, len(models))
		var order []string
		cpath := map[string]string{}
		cells := map[string][]string{}
		for i, m := range models {
			sizes[i] = "-"
			for _, l := range m.Layouts {
				if l.Row.Go != t {
					continue
				}
				sizes[i] = fmt.Sprint(l.Size)
				for _, lf := range l.Leaves {
					if _, ok := cells[lf.GoName]; !ok {
						cells[lf.GoName] = make([]string, len(models))
						for j := range cells[lf.GoName] {
							cells[lf.GoName][j] = "-"
						}
						order = append(order, lf.GoName)
						cpath[lf.GoName] = lf.CPath
					}
					v := fmt.Sprintf("%d/%d", lf.Off, lf.Size)
					if lf.BitSize > 0 {
						v += fmt.Sprintf(":%d+%d", lf.BitOff, lf.BitSize)
					}
					cells[lf.GoName][i] = v
				}
			}
		}
		if !allSame(sizes) {
			rows = append(rows, fmt.Sprintf("| (sizeof) | | %s |", strings.Join(sizes, " | ")))
		}
		for _, f := range order {
			if !allSame(cells[f]) {
				rows = append(rows, fmt.Sprintf("| %s | `%s` | %s |", f, cpath[f], strings.Join(cells[f], " | ")))
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n%s%s\n\n", t, header, strings.Join(rows, "\n"))
	}
	// Constants: values that differ, then spellings that differ.
	cval := map[string][]string{}
	cspell := map[string][]string{}
	var corder []string
	for i, m := range models {
		for _, c := range m.Consts {
			if _, ok := cval[c.Name]; !ok {
				cval[c.Name] = make([]string, len(models))
				cspell[c.Name] = make([]string, len(models))
				for j := range cval[c.Name] {
					cval[c.Name][j] = "-"
					cspell[c.Name][j] = "-"
				}
				corder = append(corder, c.Name)
			}
			v := fmt.Sprint(c.Value)
			if c.IsStr {
				v = fmt.Sprintf("%q", c.Str)
			} else if c.Value >= 0x10000 {
				v = fmt.Sprintf("%#x", c.Value)
			}
			cval[c.Name][i] = v
			cspell[c.Name][i] = "`" + c.C + "`"
		}
	}
	var crow, srow []string
	for _, c := range corder {
		if !allSame(cval[c]) {
			crow = append(crow, fmt.Sprintf("| %s | %s |", c, strings.Join(cval[c], " | ")))
		}
		var present []string
		for _, x := range cspell[c] {
			if x != "-" {
				present = append(present, x)
			}
		}
		if !allSame(present) {
			srow = append(srow, fmt.Sprintf("| %s | %s |", c, strings.Join(cspell[c], " | ")))
		}
	}
	sep := strings.Repeat("---|", len(names))
	if len(crow) > 0 {
		fmt.Fprintf(&b, "## Constants\n\n| constant | %s |\n|---|%s\n%s\n\n", strings.Join(names, " | "), sep, strings.Join(crow, "\n"))
	}
	if len(srow) > 0 {
		fmt.Fprintf(&b, "## Constant spellings\n\nThe Go name is always the 22.11 spelling.\n\n| Go name | %s |\n|---|%s\n%s\n", strings.Join(names, " | "), sep, strings.Join(srow, "\n"))
	}
	return writeAtomic(filepath.Join(cfg.out, "DIFFERENCES.md"), []byte(b.String()))
}

func allSame(s []string) bool {
	for _, x := range s {
		if x != s[0] {
			return false
		}
	}
	return true
}

func writeAtomic(p string, b []byte) error {
	tmp := p + ".tmp"
	if err := writeFile(tmp, b); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
