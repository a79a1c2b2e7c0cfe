package neigh

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// The static neighbour file (docs/NEIGH.md has the format).
const (
	// StaticFileName is the file's name, beside the global config.
	StaticFileName = "mrneigh.table"
	// DefaultStaticPath is the seed's location.
	DefaultStaticPath = "/opt/tsg/mrzcpd/etc/" + StaticFileName
	// MaxDevSymLen is the longest device symbol (MR_SYMBOL_MAX-1).
	MaxDevSymLen = 63
)

// StaticPath returns the static file's path for the global config file
// globalConf: mrneigh.table in the same directory.
func StaticPath(globalConf string) string {
	return filepath.Join(filepath.Dir(globalConf), StaticFileName)
}

// StaticEntry is one line of the static file.
type StaticEntry struct {
	IP     netip.Addr
	MAC    MAC
	DevSym string // "" means every device
	Line   int    // 1-based line number in the file
}

// String formats e as a line of the file.
func (e StaticEntry) String() string {
	if e.DevSym == "" {
		return e.IP.String() + " " + e.MAC.String()
	}
	return e.IP.String() + " " + e.MAC.String() + " " + e.DevSym
}

// ParseError is a malformed line of the static file. errors.Is(err,
// ErrBadTable) holds for it.
type ParseError struct {
	File string
	Line int
	Msg  string
}

// Error formats as file:line: why.
func (e *ParseError) Error() string {
	return fmt.Sprintf("neigh: %s:%d: %s", e.File, e.Line, e.Msg)
}

// Is makes errors.Is(err, ErrBadTable) true.
func (e *ParseError) Is(target error) bool { return target == ErrBadTable }

// ParseTable reads a static neighbour file; file names it in errors. The
// first bad line stops parsing with a *ParseError.
func ParseTable(r io.Reader, file string) ([]StaticEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	var out []StaticEntry
	seen := map[netip.Addr][]int{} // IP -> indexes into out
	line := 0
	bad := func(format string, args ...any) error {
		return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 || len(f) > 3 {
			return nil, bad("want \"<ip> <mac> [<devsym>]\", got %d field(s)", len(f))
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, bad("bad IP address %q", f[0])
		}
		switch {
		case ip.Zone() != "":
			return nil, bad("IP address %q has a zone; name the device in the third field", f[0])
		case ip.Is4In6():
			return nil, bad("IPv4-mapped address %q: write it as IPv4", f[0])
		case ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return nil, bad("%v is not a unicast address", ip)
		}
		mac, err := ParseMAC(f[1])
		if err != nil {
			return nil, bad("bad MAC address %q: want 6 octets like 02:00:5e:00:00:01", f[1])
		}
		if !mac.IsUnicast() {
			return nil, bad("MAC %v is not a unicast address", mac)
		}
		e := StaticEntry{IP: ip, MAC: mac, Line: line}
		if len(f) == 3 {
			e.DevSym = f[2]
			if len(e.DevSym) > MaxDevSymLen {
				return nil, bad("device symbol longer than %d bytes", MaxDevSymLen)
			}
			for _, c := range []byte(e.DevSym) {
				if c < 0x21 || c == 0x7f {
					return nil, bad("device symbol %q has a control character", e.DevSym)
				}
			}
		}
		for _, j := range seen[ip] {
			if o := out[j]; o.DevSym == e.DevSym || o.DevSym == "" || e.DevSym == "" {
				return nil, bad("%v already listed at line %d for the same device", ip, o.Line)
			}
		}
		seen[ip] = append(seen[ip], len(out))
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		line++
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bad("line longer than 64 KiB")
		}
		return nil, fmt.Errorf("neigh: read %s: %w", file, err)
	}
	return out, nil
}

// LoadStatic parses the static file at path. A missing file is not an
// error (no static neighbours): it returns nil, nil.
func LoadStatic(path string) ([]StaticEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("neigh: %w", err)
	}
	defer f.Close()
	return ParseTable(f, path)
}

// AddStaticEntries adds to t the entries that apply to device devsym (no
// device named, or devsym) and returns how many. A full table is an error
// naming the entry's line.
func (t *Table) AddStaticEntries(entries []StaticEntry, devsym string) (int, error) {
	n := 0
	for _, e := range entries {
		if e.DevSym != "" && e.DevSym != devsym {
			continue
		}
		if err := t.AddStatic(e.IP, e.MAC); err != nil {
			return n, fmt.Errorf("neigh: static entry at line %d (%v): %w", e.Line, e.IP, err)
		}
		n++
	}
	return n, nil
}
