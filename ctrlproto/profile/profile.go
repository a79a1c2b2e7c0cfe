// Package profile reads and writes the seed's INI configuration format (the
// "MESA profile" format of MESA_prof_load): `[section]` headers, `key=value`
// lines and `#` or `;` comment lines.
//
// Rules, as the seed's files use them:
//   - Blank lines and lines whose first non-blank character is '#' or ';'
//     are ignored. A '#' preceded by a blank ends the value (an inline
//     comment); a '#' inside a value without a blank before it is kept.
//   - Section names and keys are case-sensitive and trimmed of blanks.
//   - A value is trimmed of blanks. A value starting with a double quote
//     runs to the next double quote ("a # b" → a # b), which keeps blanks,
//     '#' and ';' in it.
//   - A key outside any section, a line without '=', an empty key, a
//     duplicate key inside one section and a malformed header are errors
//     naming the file and line.
//   - A section may appear twice; its keys are merged (duplicates are still
//     errors).
//
// Typed getters (Uint, Bool, …) return *Error values whose text names the
// file, section, key, value and reason, in the seed's MR_CFGERR_* spirit:
//
//	config /opt/tsg/mrzcpd/etc/mrglobal.conf: [service] mp_cache_size=9999: must be <= 512
//
// Every such error matches ErrInvalid with errors.Is; syntax errors match
// ErrSyntax.
package profile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ErrSyntax is matched (errors.Is) by every error about the file's syntax.
var ErrSyntax = errors.New("config syntax error")

// ErrInvalid is matched (errors.Is) by every error about a value: a value
// out of range, of the wrong type, a missing required key or section.
var ErrInvalid = errors.New("invalid config value")

// Error is a configuration error naming where it is. Section, Key and Value
// may be empty when the error concerns a whole file or section.
type Error struct {
	File    string // file name ("<embedded>" for built-in text)
	Line    int    // 1-based line, 0 when not known
	Section string
	Key     string
	Value   string
	Reason  string
	Err     error // ErrSyntax or ErrInvalid, possibly wrapping a cause
}

// Error formats the error as "config FILE: [SECTION] KEY=VALUE: REASON"
// (syntax errors as "config FILE:LINE: …").
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config ")
	b.WriteString(e.File)
	if e.Line > 0 && errors.Is(e.Err, ErrSyntax) {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(":")
	if e.Section != "" {
		b.WriteString(" [")
		b.WriteString(e.Section)
		b.WriteString("]")
	}
	if e.Key != "" {
		b.WriteString(" ")
		b.WriteString(e.Key)
		b.WriteString("=")
		b.WriteString(e.Value)
	}
	if e.Section != "" || e.Key != "" {
		b.WriteString(":")
	}
	b.WriteString(" ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel (ErrSyntax or ErrInvalid) or the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// Entry is one key=value line.
type Entry struct {
	Key   string
	Value string
	Line  int
}

// Section is one [name] of a file, keys in file order.
type Section struct {
	Name    string
	Line    int
	Entries []Entry
	index   map[string]int
}

// Get returns the value of key and whether it is present.
func (s *Section) Get(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	i, ok := s.index[key]
	if !ok {
		return "", false
	}
	return s.Entries[i].Value, true
}

// Keys returns the keys of the section in file order.
func (s *Section) Keys() []string {
	if s == nil {
		return nil
	}
	keys := make([]string, len(s.Entries))
	for i, e := range s.Entries {
		keys[i] = e.Key
	}
	return keys
}

func (s *Section) line(key string) int {
	if s == nil {
		return 0
	}
	if i, ok := s.index[key]; ok {
		return s.Entries[i].Line
	}
	return 0
}

// File is a parsed profile.
type File struct {
	// Name is the path the file was read from (or a label such as
	// "<embedded>"); it is used in error messages.
	Name     string
	sections []*Section
	byName   map[string]*Section
}

// New returns an empty profile named name (for building configs in code).
func New(name string) *File {
	return &File{Name: name, byName: map[string]*Section{}}
}

// Load reads and parses the file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses data; name is used in error messages.
func Parse(name string, data []byte) (*File, error) {
	f := New(name)
	var cur *Section
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, f.syntax(n, "", "", "section header without ']'")
			}
			rest := strings.TrimSpace(line[end+1:])
			if rest != "" && rest[0] != '#' && rest[0] != ';' {
				return nil, f.syntax(n, "", "", fmt.Sprintf("text after section header: %q", rest))
			}
			name := strings.TrimSpace(line[1:end])
			if name == "" {
				return nil, f.syntax(n, "", "", "empty section name")
			}
			cur = f.section(name, n)
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			return nil, f.syntax(n, secName(cur), "", fmt.Sprintf("line %q is not key=value", line))
		}
		key := strings.TrimSpace(line[:eq])
		if key == "" {
			return nil, f.syntax(n, secName(cur), "", "empty key")
		}
		if cur == nil {
			return nil, f.syntax(n, "", key, "key outside of any [section]")
		}
		val := cleanValue(line[eq+1:])
		if _, dup := cur.index[key]; dup {
			return nil, f.syntax(n, cur.Name, key, fmt.Sprintf("duplicate key (first at line %d)", cur.line(key)))
		}
		cur.index[key] = len(cur.Entries)
		cur.Entries = append(cur.Entries, Entry{Key: key, Value: val, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{File: name, Line: n + 1, Reason: err.Error(), Err: fmt.Errorf("%w: %w", ErrSyntax, err)}
	}
	return f, nil
}

func secName(s *Section) string {
	if s == nil {
		return ""
	}
	return s.Name
}

func cleanValue(v string) string {
	v = strings.TrimSpace(v)
	// A quoted value runs to its closing quote; what follows is ignored.
	if len(v) >= 2 && v[0] == '"' {
		if end := strings.IndexByte(v[1:], '"'); end >= 0 {
			return v[1 : 1+end]
		}
	}
	// An inline comment starts at a '#' or ';' preceded by a blank.
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return strings.TrimSpace(v)
}

func (f *File) syntax(line int, section, key, reason string) error {
	return &Error{File: f.Name, Line: line, Section: section, Key: key, Reason: reason, Err: ErrSyntax}
}

func (f *File) section(name string, line int) *Section {
	if s, ok := f.byName[name]; ok {
		return s
	}
	s := &Section{Name: name, Line: line, index: map[string]int{}}
	f.sections = append(f.sections, s)
	f.byName[name] = s
	return s
}

// Section returns the named section or nil. Methods of a nil *Section
// behave as on an empty section.
func (f *File) Section(name string) *Section { return f.byName[name] }

// Sections returns every section in file order.
func (f *File) Sections() []*Section { return f.sections }

// SectionsWithPrefix returns the sections whose name starts with prefix
// (for example "pool:"), in file order.
func (f *File) SectionsWithPrefix(prefix string) []*Section {
	var out []*Section
	for _, s := range f.sections {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// Get returns the value of section.key and whether it is present.
func (f *File) Get(section, key string) (string, bool) {
	return f.byName[section].Get(key)
}

// Set sets section.key to value, creating the section and key as needed
// (new keys go last).
func (f *File) Set(section, key, value string) {
	s := f.section(section, 0)
	if i, ok := s.index[key]; ok {
		s.Entries[i].Value = value
		return
	}
	s.index[key] = len(s.Entries)
	s.Entries = append(s.Entries, Entry{Key: key, Value: value})
}

// WriteTo writes the profile in its text form. Values with leading or
// trailing blanks, a leading quote, or a '#' or ';' are quoted. (A value
// containing both a '"' and needing quotes cannot be represented.)
func (f *File) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	for i, s := range f.sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			v := e.Value
			if needsQuotes(v) {
				v = `"` + v + `"`
			}
			fmt.Fprintf(&b, "%s=%s\n", e.Key, v)
		}
	}
	return b.WriteTo(w)
}

func needsQuotes(v string) bool {
	return v != strings.TrimSpace(v) || strings.HasPrefix(v, "\"") || strings.ContainsAny(v, "#;")
}

// Bytes returns the text form of the profile.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	_, _ = f.WriteTo(&b)
	return b.Bytes()
}

// Invalid returns an *Error (matching ErrInvalid) about section.key with its
// current value and the given reason.
func (f *File) Invalid(section, key, reason string) error {
	v, _ := f.Get(section, key)
	return &Error{File: f.Name, Line: f.byName[section].line(key), Section: section, Key: key, Value: v,
		Reason: reason, Err: ErrInvalid}
}

// InvalidSection returns an *Error (matching ErrInvalid) about a whole
// section.
func (f *File) InvalidSection(section, reason string) error {
	line := 0
	if s := f.byName[section]; s != nil {
		line = s.Line
	}
	return &Error{File: f.Name, Line: line, Section: section, Reason: reason, Err: ErrInvalid}
}

// String returns section.key, or def when the key is absent.
func (f *File) String(section, key, def string) string {
	if v, ok := f.Get(section, key); ok {
		return v
	}
	return def
}

// Uint returns section.key parsed as an unsigned integer (decimal, or hex
// with 0x, as strtoul with base 0 reads it) within [min, max], or def when
// the key is absent. An empty value is an error.
func (f *File) Uint(section, key string, def, min, max uint64) (uint64, error) {
	v, ok := f.Get(section, key)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0, f.Invalid(section, key, "not an unsigned integer")
	}
	if n < min {
		return 0, f.Invalid(section, key, fmt.Sprintf("must be >= %d", min))
	}
	if n > max {
		return 0, f.Invalid(section, key, fmt.Sprintf("must be <= %d", max))
	}
	return n, nil
}

// Bool returns section.key as a boolean, or def when absent. Accepted: 0/1,
// yes/no, true/false, on/off, enable/disable (any case).
func (f *File) Bool(section, key string, def bool) (bool, error) {
	v, ok := f.Get(section, key)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on", "enable":
		return true, nil
	case "0", "no", "false", "off", "disable":
		return false, nil
	}
	return false, f.Invalid(section, key, "must be 0 or 1")
}

// List returns section.key split at commas (blanks trimmed, empty items
// dropped), or def when absent.
func (f *File) List(section, key string, def []string) []string {
	v, ok := f.Get(section, key)
	if !ok {
		return def
	}
	var out []string
	for _, it := range strings.Split(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// Unknown returns an error for the first key of section that is not in
// known (sorted check, for catching typos), or nil.
func (f *File) Unknown(section string, known ...string) error {
	s := f.byName[section]
	if s == nil {
		return nil
	}
	k := append([]string(nil), known...)
	sort.Strings(k)
	for _, e := range s.Entries {
		i := sort.SearchStrings(k, e.Key)
		if i == len(k) || k[i] != e.Key {
			return &Error{File: f.Name, Line: e.Line, Section: section, Key: e.Key, Value: e.Value,
				Reason: "unknown key (known: " + strings.Join(k, ", ") + ")", Err: ErrInvalid}
		}
	}
	return nil
}
