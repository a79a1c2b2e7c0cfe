package main

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// publicIncludes are the DPDK headers every probe includes.
var publicIncludes = []string{
	"rte_common.h", "rte_version.h", "rte_eal.h", "rte_memory.h", "rte_memzone.h",
	"rte_fbarray.h", "rte_tailq.h", "rte_malloc.h", "rte_ring.h", "rte_mempool.h",
	"rte_mbuf.h",
}

// probeDefines are added to every compilation of DPDK headers, the probe's
// and the layout tests': 20.11 declares RTE_RING_SYNC_MT_RTS/_HTS only for
// experimental-API users; no mirrored layout depends on the macro.
var probeDefines = []string{"-DALLOW_EXPERIMENTAL_API"}

// probeResult is what one compiled probe says.
type probeResult struct {
	Types  map[string]*dwarf.StructType // by Go name; nil when absent
	Consts map[string]constVal          // by Go name
}

type constVal struct {
	Name  string // Go name
	C     string // the C spelling that defined it
	Value uint64
	Str   string
	IsStr bool
}

// probeSource writes the C probe: the headers, one pointer variable per
// mirrored type (so its full definition lands in DWARF) and one const
// object per constant (read back from the object's data section).
func probeSource(includes []string, rows []typeRow, crows []constRow, extra string) string {
	var b strings.Builder
	b.WriteString("/* gomarsio gen probe: compiled with gcc -g, read back through DWARF. */\n#include <stddef.h>\n#include <stdint.h>\n")
	for _, h := range includes {
		fmt.Fprintf(&b, "#include <%s>\n", h)
	}
	b.WriteString(extra)
	for _, r := range rows {
		fmt.Fprintf(&b, "struct %s *gm_t_%s;\n", r.C, r.Go)
	}
	for _, c := range crows {
		spell := append([]string{c.Name}, c.Alt...)
		if c.Enum {
			fmt.Fprintf(&b, "const unsigned long long gm_c_%s = (unsigned long long)(%s);\n", c.Name, c.Name)
			continue
		}
		for i, s := range spell {
			kw := "#elif"
			if i == 0 {
				kw = "#if"
			}
			fmt.Fprintf(&b, "%s defined(%s)\n", kw, s)
			if c.Str {
				fmt.Fprintf(&b, "const char gm_s_%s__%s[] = %s;\n", c.Name, s, s)
			} else {
				fmt.Fprintf(&b, "const unsigned long long gm_c_%s__%s = (unsigned long long)(%s);\n", c.Name, s, s)
			}
		}
		b.WriteString("#endif\n")
	}
	return b.String()
}

// compile runs gcc on src and returns the object file's path.
func compile(dir, name, src string, cflags []string) (string, error) {
	c := filepath.Join(dir, name+".c")
	o := filepath.Join(dir, name+".o")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		return "", err
	}
	args := append([]string{"-g", "-O0", "-c", "-w", "-o", o}, probeDefines...)
	args = append(args, cflags...)
	args = append(args, c)
	cmd := exec.Command("gcc", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var errs []string
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(l, "error") {
				errs = append(errs, strings.TrimSpace(l))
			}
		}
		if len(errs) == 0 {
			errs = []string{lastLines(stderr.String(), 3)}
		}
		if len(errs) > 3 {
			errs = errs[:3]
		}
		kept := c
		if keep, err := filepath.Abs(filepath.Join(".cache", "gen", name+".c")); err == nil && writeFile(keep, []byte(src)) == nil {
			kept = keep
		}
		return "", fmt.Errorf("gcc %s failed: %w: %s (probe source kept in %s)", name+".c", err, strings.Join(errs, " | "), kept)
	}
	return o, nil
}

// readProbe reads the types and constants back from the object file.
func readProbe(obj string, rows []typeRow, crows []constRow) (*probeResult, error) {
	f, err := elf.Open(obj)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("read DWARF of %s: %w", obj, err)
	}
	res := &probeResult{Types: map[string]*dwarf.StructType{}, Consts: map[string]constVal{}}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("read DWARF of %s: %w", obj, err)
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagVariable {
			if e.Children && e.Tag != dwarf.TagCompileUnit {
				r.SkipChildren()
			}
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if !strings.HasPrefix(name, "gm_t_") {
			continue
		}
		off, ok := e.Val(dwarf.AttrType).(dwarf.Offset)
		if !ok {
			continue
		}
		t, err := d.Type(off)
		if err != nil {
			return nil, fmt.Errorf("DWARF type of %s: %w", name, err)
		}
		p, ok := t.(*dwarf.PtrType)
		if !ok {
			return nil, fmt.Errorf("DWARF: %s is not a pointer", name)
		}
		st, ok := strip(p.Type).(*dwarf.StructType)
		if !ok {
			return nil, fmt.Errorf("DWARF: %s does not point to a struct", name)
		}
		if st.Incomplete {
			continue
		}
		res.Types[strings.TrimPrefix(name, "gm_t_")] = st
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", obj, err)
	}
	byName := map[string]elf.Symbol{}
	for _, s := range syms {
		byName[s.Name] = s
	}
	read := func(s elf.Symbol) ([]byte, error) {
		if int(s.Section) >= len(f.Sections) {
			return nil, fmt.Errorf("symbol %s has no section", s.Name)
		}
		data, err := f.Sections[s.Section].Data()
		if err != nil {
			return nil, err
		}
		if s.Value+s.Size > uint64(len(data)) {
			return nil, fmt.Errorf("symbol %s out of its section", s.Name)
		}
		return data[s.Value : s.Value+s.Size], nil
	}
	for _, c := range crows {
		spell := append([]string{c.Name}, c.Alt...)
		if c.Enum {
			s, ok := byName["gm_c_"+c.Name]
			if !ok {
				return nil, fmt.Errorf("probe: enumerator %s missing from object", c.Name)
			}
			b, err := read(s)
			if err != nil {
				return nil, err
			}
			res.Consts[c.Name] = constVal{Name: c.Name, C: c.Name, Value: binary.LittleEndian.Uint64(b)}
			continue
		}
		for _, sp := range spell {
			if s, ok := byName["gm_s_"+c.Name+"__"+sp]; ok && c.Str {
				b, err := read(s)
				if err != nil {
					return nil, err
				}
				res.Consts[c.Name] = constVal{Name: c.Name, C: sp, Str: string(bytes.TrimRight(b, "\x00")), IsStr: true}
				break
			}
			if s, ok := byName["gm_c_"+c.Name+"__"+sp]; ok && !c.Str {
				b, err := read(s)
				if err != nil {
					return nil, err
				}
				res.Consts[c.Name] = constVal{Name: c.Name, C: sp, Value: binary.LittleEndian.Uint64(b)}
				break
			}
		}
	}
	return res, nil
}

// strip removes typedefs and qualifiers.
func strip(t dwarf.Type) dwarf.Type {
	for {
		switch x := t.(type) {
		case *dwarf.TypedefType:
			t = x.Type
		case *dwarf.QualType:
			t = x.Type
		default:
			return t
		}
	}
}
