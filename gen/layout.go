package main

import (
	"debug/dwarf"
	"fmt"
	"path"
	"sort"
	"strings"
)

// gtype is a Go type expression of the mirror.
type gtype struct {
	Name  string // basic or mirrored type name; "" for arrays
	Elem  *gtype // array element
	Len   int64  // array length
	Size  int64
	Align int64
}

func (g gtype) String() string {
	if g.Elem != nil {
		return fmt.Sprintf("[%d]%s", g.Len, g.Elem.String())
	}
	return g.Name
}

func basic(name string, size int64) gtype { return gtype{Name: name, Size: size, Align: size} }

func bytesOf(n int64) gtype {
	e := basic("byte", 1)
	return gtype{Elem: &e, Len: n, Size: n, Align: 1}
}

// access says how a mirrored member is reached from Go.
type access int

const (
	accField   access = iota // a typed struct field of the same name
	accPointer               // a method returning a typed pointer (union members, misaligned members)
	accBits                  // getter/setter methods (bitfields)
	accOffset                // only an Offsetof constant (markers, aggregates flattened into their members)
)

// leaf is one named C member, flattened through anonymous and unmirrored
// aggregates.
type leaf struct {
	GoName  string // Go field or accessor name, e.g. HashFdirHi
	CPath   string // C member path usable in offsetof: hash.fdir.hi
	Off     int64  // byte offset (of the storage unit for bitfields)
	Size    int64  // byte size (of the storage unit for bitfields)
	BitOff  int64  // bitfields: bit offset inside the storage unit
	BitSize int64  // bitfields: width; 0 otherwise
	Signed  bool   // bitfields: sign-extended
	Type    gtype  // Go type for accField/accPointer; storage type for accBits
	Access  access
	CType   string // C type name, for comments
}

// item is one field of the Go struct, padding included.
type item struct {
	Name    string // "_" for padding and anonymous regions
	Type    gtype
	Off     int64
	Comment string
}

// layout is one mirrored type of one version.
type layout struct {
	Row    typeRow
	Size   int64
	Items  []item
	Leaves []leaf
}

type builder struct {
	row      typeRow
	mirrored map[string]string // C struct tag -> Go name (this version)
	items    []item
	leaves   []leaf
	fix      map[string]fixup
	used     map[string]bool
}

// buildLayout translates one DWARF struct into the Go mirror.
func buildLayout(row typeRow, st *dwarf.StructType, mirrored map[string]string) (*layout, error) {
	b := &builder{row: row, mirrored: mirrored, fix: map[string]fixup{}, used: map[string]bool{}}
	for _, f := range row.Fixups {
		b.fix[f.Field] = f
	}
	if err := b.walk(st, 0, "", "", false); err != nil {
		return nil, fmt.Errorf("struct %s: %w", row.C, err)
	}
	for _, f := range row.Fixups {
		if !b.used[f.Field] && f.Kind != fixPad {
			return nil, fmt.Errorf("struct %s: fix-up names member %q, which the headers lack", row.C, f.Field)
		}
	}
	have := map[string]bool{}
	for _, l := range b.leaves {
		have[l.CPath] = true
	}
	for _, r := range row.Require {
		if !have[r] {
			return nil, fmt.Errorf("struct %s has no member %q (required by gen/table.go)", row.C, r)
		}
	}
	l := &layout{Row: row, Size: st.ByteSize, Leaves: b.leaves}
	items, err := pad(b.items, st.ByteSize)
	if err != nil {
		return nil, fmt.Errorf("struct %s: %w", row.C, err)
	}
	l.Items = items
	seen := map[string]string{}
	for _, lf := range l.Leaves {
		if prev, ok := seen[lf.GoName]; ok {
			return nil, fmt.Errorf("struct %s: members %q and %q both map to Go name %s: add a fixRename row", row.C, prev, lf.CPath, lf.GoName)
		}
		seen[lf.GoName] = lf.CPath
	}
	return l, nil
}

// pad sorts items and fills every gap with explicit padding.
func pad(items []item, size int64) ([]item, error) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Off < items[j].Off })
	var out []item
	var at int64
	for _, it := range items {
		if it.Off < at {
			return nil, fmt.Errorf("field %s at %d overlaps the previous one (ends at %d)", it.Name, it.Off, at)
		}
		if it.Off > at {
			out = append(out, item{Name: "_", Type: bytesOf(it.Off - at), Off: at})
		}
		out = append(out, it)
		at = it.Off + it.Type.Size
	}
	if at > size {
		return nil, fmt.Errorf("fields end at %d beyond the size %d", at, size)
	}
	if at < size {
		out = append(out, item{Name: "_", Type: bytesOf(size - at), Off: at, Comment: "trailing padding"})
	}
	return out, nil
}

// camel turns a C identifier into a Go one: buf_addr -> BufAddr.
func camel(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(s, "_") {
		if p == "" {
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func join(prefix, sep, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + sep + name
}

// cTypeName is a short C spelling of t for comments.
func cTypeName(t dwarf.Type) string {
	if t == nil {
		return "void"
	}
	s := t.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// goType returns the typed Go mirror of t, or ok=false when t cannot be a
// typed field (unions, unmirrored multi-member structs, incomplete arrays).
func (b *builder) goType(t dwarf.Type) (gtype, bool) {
	switch x := strip(t).(type) {
	case *dwarf.PtrType, *dwarf.FuncType:
		return basic("uintptr", 8), true
	case *dwarf.BoolType:
		return basic("uint8", 1), true
	case *dwarf.CharType:
		if x.Name == "char" {
			return basic("byte", 1), true
		}
		return basic("int8", 1), true
	case *dwarf.UcharType:
		return basic("uint8", 1), true
	case *dwarf.IntType:
		return intType(true, x.ByteSize)
	case *dwarf.UintType:
		return intType(false, x.ByteSize)
	case *dwarf.EnumType:
		signed := false
		for _, v := range x.Val {
			if v.Val < 0 {
				signed = true
			}
		}
		return intType(signed, x.ByteSize)
	case *dwarf.FloatType:
		if x.ByteSize == 4 {
			return basic("float32", 4), true
		}
		if x.ByteSize == 8 {
			return basic("float64", 8), true
		}
	case *dwarf.ArrayType:
		if x.Count <= 0 {
			return gtype{}, false
		}
		e, ok := b.goType(x.Type)
		if !ok {
			return gtype{}, false
		}
		if e.Size*x.Count != x.Size() {
			return gtype{}, false
		}
		return gtype{Elem: &e, Len: x.Count, Size: x.Size(), Align: e.Align}, true
	case *dwarf.StructType:
		if x.Kind != "struct" || x.Incomplete {
			return gtype{}, false
		}
		if g, ok := b.mirrored[x.StructName]; ok && x.StructName != "" {
			return gtype{Name: g, Size: x.ByteSize, Align: structAlign(x)}, true
		}
		// A one-member wrapper (rte_rwlock_t, rte_spinlock_t, rte_atomic16_t,
		// LIST_HEAD) is mirrored as its member.
		if len(x.Field) == 1 && x.Field[0].BitSize == 0 && x.Field[0].ByteOffset == 0 {
			if e, ok := b.goType(x.Field[0].Type); ok && e.Size == x.ByteSize {
				return e, true
			}
		}
	}
	return gtype{}, false
}

func intType(signed bool, size int64) (gtype, bool) {
	names := map[int64]string{1: "int8", 2: "int16", 4: "int32", 8: "int64"}
	n, ok := names[size]
	if !ok {
		return gtype{}, false
	}
	if !signed {
		n = "u" + n
	}
	return basic(n, size), true
}

// structAlign is the Go alignment of a mirrored struct: the largest
// alignment of its scalar members, at most 8 (Go cannot express C's cache
// line alignment; the explicit size keeps arrays of it right).
func structAlign(st *dwarf.StructType) int64 {
	var a int64 = 1
	var visit func(t dwarf.Type)
	visit = func(t dwarf.Type) {
		switch x := strip(t).(type) {
		case *dwarf.StructType:
			for _, f := range x.Field {
				visit(f.Type)
			}
		case *dwarf.ArrayType:
			visit(x.Type)
		default:
			if s := t.Size(); s > a && s <= 8 {
				a = s
			}
		}
	}
	visit(st)
	return a
}

func isZeroSize(t dwarf.Type) bool {
	if at, ok := strip(t).(*dwarf.ArrayType); ok && at.Count <= 0 {
		return true
	}
	return strip(t).Size() == 0
}

// bitfield computes a bitfield's storage unit (the declared type's size,
// aligned) and its position inside it.
func bitfield(f *dwarf.StructField, base int64) (off, size, bitOff int64, err error) {
	size = strip(f.Type).Size()
	var abs int64
	if f.BitOffset != 0 && f.DataBitOffset == 0 {
		// DWARF 2/3 style: BitOffset counts from the most significant bit of the unit.
		abs = (base+f.ByteOffset)*8 + f.ByteSize*8 - f.BitOffset - f.BitSize
	} else {
		abs = (base+f.ByteOffset)*8 + f.DataBitOffset
	}
	if size <= 0 || size > 8 {
		return 0, 0, 0, fmt.Errorf("bitfield %s: storage type of %d bytes", f.Name, size)
	}
	off = (abs / 8) &^ (size - 1)
	bitOff = abs - off*8
	if bitOff+f.BitSize > size*8 {
		return 0, 0, 0, fmt.Errorf("bitfield %s straddles its storage unit", f.Name)
	}
	return off, size, bitOff, nil
}

// walk flattens the members of st (at byte offset base) into items and
// leaves. inUnion: members are reached through accessors, not fields.
func (b *builder) walk(st *dwarf.StructType, base int64, goPrefix, cPrefix string, inUnion bool) error {
	var bitStart, bitEnd int64 = -1, -1
	flushBits := func() {
		if bitStart >= 0 && !inUnion {
			b.items = append(b.items, item{Name: "_", Type: bytesOf(bitEnd - bitStart), Off: bitStart, Comment: "bitfields: see the accessor methods"})
		}
		bitStart, bitEnd = -1, -1
	}
	for _, f := range st.Field {
		off := base + f.ByteOffset
		if f.BitSize > 0 {
			uoff, usize, bitOff, err := bitfield(f, base)
			if err != nil {
				return err
			}
			cpath := join(cPrefix, ".", f.Name)
			if _, ok := b.fix[cpath]; ok {
				b.used[cpath] = true
			}
			storage, _ := intType(false, usize)
			_, signed := strip(f.Type).(*dwarf.IntType)
			if et, ok := strip(f.Type).(*dwarf.EnumType); ok {
				for _, v := range et.Val {
					if v.Val < 0 {
						signed = true
					}
				}
				signed = true // the Go getter is signed for every enum (DPDK's malloc_elem comment: "an extra bit is needed to represent enum elem_state as signed int")
			}
			b.leaves = append(b.leaves, leaf{GoName: goPrefix + camel(f.Name), CPath: cpath, Off: uoff, Size: usize, BitOff: bitOff, BitSize: f.BitSize, Signed: signed, Type: storage, Access: accBits, CType: cTypeName(f.Type)})
			lo := (uoff*8 + bitOff) / 8
			hi := (uoff*8 + bitOff + f.BitSize + 7) / 8
			if bitStart < 0 || lo > bitEnd {
				flushBits()
				bitStart = lo
			}
			if hi > bitEnd {
				bitEnd = hi
			}
			continue
		}
		flushBits()
		t := strip(f.Type)
		st2, isAgg := t.(*dwarf.StructType)
		if f.Name == "" {
			if !isAgg {
				continue
			}
			if st2.Kind == "struct" && !inUnion {
				if err := b.walk(st2, off, goPrefix, cPrefix, false); err != nil {
					return err
				}
				continue
			}
			if st2.Kind == "struct" {
				if err := b.walk(st2, off, goPrefix, cPrefix, true); err != nil {
					return err
				}
				continue
			}
			// An anonymous union: one region, every member an accessor,
			// unless a fixPrefer row promotes one member to the field.
			if err := b.union(st2, off, goPrefix, cPrefix, inUnion); err != nil {
				return err
			}
			continue
		}
		cpath := join(cPrefix, ".", f.Name)
		if b.isPad(cpath) {
			continue
		}
		goName := goPrefix + camel(f.Name)
		fx, hasFix := b.fix[cpath]
		if hasFix {
			b.used[cpath] = true
			if fx.Kind == fixRename {
				goName = fx.Arg
			}
		}
		if isZeroSize(t) {
			b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Access: accOffset, CType: cTypeName(f.Type)})
			continue
		}
		gt, ok := b.goType(t)
		if ok && off%gt.Align != 0 {
			ok = false // misaligned (packed): Go would insert padding
		}
		if hasFix && fx.Kind == fixBytes {
			ok = false
		}
		if ok && hasFix && fx.Kind == fixGetter && gt.Elem == nil && gt.Name != "uintptr" && !inUnion {
			storage, _ := intType(false, gt.Size)
			_, signed := t.(*dwarf.IntType)
			if _, isEnum := t.(*dwarf.EnumType); isEnum {
				signed = true // as the bitfield rule below
			}
			b.items = append(b.items, item{Name: "_", Type: bytesOf(gt.Size), Off: off, Comment: goName + ": see the accessor methods"})
			b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: gt.Size, BitSize: gt.Size * 8, Signed: signed, Type: storage, Access: accBits, CType: cTypeName(f.Type)})
			continue
		}
		if ok {
			if inUnion {
				b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: gt.Size, Type: gt, Access: accPointer, CType: cTypeName(f.Type)})
			} else {
				b.items = append(b.items, item{Name: goName, Type: gt, Off: off})
				b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: gt.Size, Type: gt, Access: accField, CType: cTypeName(f.Type)})
			}
			continue
		}
		if isAgg && st2.Kind == "struct" && !(hasFix && fx.Kind == fixBytes) {
			// An unmirrored named struct: flattened into the parent, its
			// members prefixed with its name.
			b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: t.Size(), Access: accOffset, CType: cTypeName(f.Type)})
			if err := b.walk(st2, off, goName, cpath, inUnion); err != nil {
				return err
			}
			continue
		}
		// Named unions, arrays of unmirrored aggregates, misaligned or
		// fixBytes members: bytes under the member's name (a method when
		// inside a union), members as accessors.
		size := t.Size()
		if inUnion {
			b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: size, Type: bytesOf(size), Access: accPointer, CType: cTypeName(f.Type)})
		} else {
			b.items = append(b.items, item{Name: goName, Type: bytesOf(size), Off: off, Comment: "C: " + cTypeName(f.Type)})
			b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: size, Type: bytesOf(size), Access: accField, CType: cTypeName(f.Type)})
		}
		if isAgg && st2.Kind == "union" {
			if err := b.walk(st2, off, goName, cpath, true); err != nil {
				return err
			}
		}
	}
	flushBits()
	return nil
}

// isPad reports whether a fixPad row covers the member.
func (b *builder) isPad(cpath string) bool {
	for _, fx := range b.row.Fixups {
		if ok, _ := path.Match(fx.Field, cpath); ok && fx.Kind == fixPad {
			return true
		}
	}
	return false
}

// union handles an anonymous union at off. A fixPrefer row naming one of
// its members (or a member of one of its anonymous structs) makes that
// member (or that struct's members) typed fields; the rest are accessors.
func (b *builder) union(u *dwarf.StructType, off int64, goPrefix, cPrefix string, inUnion bool) error {
	var prefer *dwarf.StructField
	var preferStruct *dwarf.StructType
	for _, m := range u.Field {
		if m.Name != "" {
			if fx, ok := b.fix[join(cPrefix, ".", m.Name)]; ok && fx.Kind == fixPrefer {
				prefer, preferStruct = m, nil
				b.used[fx.Field] = true
			}
			continue
		}
		if st, ok := strip(m.Type).(*dwarf.StructType); ok && st.Kind == "struct" {
			for _, mm := range st.Field {
				if fx, ok := b.fix[join(cPrefix, ".", mm.Name)]; ok && fx.Kind == fixPrefer && mm.Name != "" {
					prefer, preferStruct = m, st
				}
			}
		}
	}
	if prefer != nil && !inUnion {
		rest := *u
		rest.Field = nil
		for _, m := range u.Field {
			if m != prefer {
				rest.Field = append(rest.Field, m)
			}
		}
		if preferStruct != nil {
			// The union's anonymous struct holds the preferred member: its
			// members become fields, the union's other views accessors.
			if err := b.walk(preferStruct, off+prefer.ByteOffset, goPrefix, cPrefix, false); err != nil {
				return err
			}
			return b.walk(&rest, off, goPrefix, cPrefix, true)
		}
		gt, ok := b.goType(prefer.Type)
		if !ok || gt.Size > u.ByteSize || off%gt.Align != 0 {
			return fmt.Errorf("fixPrefer %s: member cannot be a typed field at the start of the union (%d bytes)", prefer.Name, u.ByteSize)
		}
		goName := goPrefix + camel(prefer.Name)
		cpath := join(cPrefix, ".", prefer.Name)
		b.items = append(b.items, item{Name: goName, Type: gt, Off: off, Comment: "union: see the accessors of its other members"})
		if gt.Size < u.ByteSize {
			b.items = append(b.items, item{Name: "_", Type: bytesOf(u.ByteSize - gt.Size), Off: off + gt.Size, Comment: "rest of the union"})
		}
		b.leaves = append(b.leaves, leaf{GoName: goName, CPath: cpath, Off: off, Size: gt.Size, Type: gt, Access: accField, CType: cTypeName(prefer.Type)})
		return b.walk(&rest, off, goPrefix, cPrefix, true)
	}
	if !inUnion {
		b.items = append(b.items, item{Name: "_", Type: bytesOf(u.ByteSize), Off: off, Comment: "anonymous union: see the accessor methods"})
	}
	return b.walk(u, off, goPrefix, cPrefix, true)
}
