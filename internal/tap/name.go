package tap

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// MaxNameLen is the longest interface name the kernel accepts
// (IFNAMSIZ-1).
const MaxNameLen = 15

// IfName returns the kernel interface name of the representor of devsym.
//
// The rule, stable across releases because operators see these names:
//   - every byte outside [A-Za-z0-9_.-] becomes '_' (the kernel refuses
//     '/', ':' and white space; we keep names shell-friendly as well);
//   - a result of at most 15 bytes is used as is;
//   - a longer one keeps its first 10 bytes, then '-', then 4 lower-case hex
//     digits of the FNV-1a 32-bit hash of the original devsym (low 16 bits),
//     15 bytes in all. So "vdev_mirror_port_01" and "vdev_mirror_port_02"
//     stay distinct; two devsyms that still collide are a name clash that
//     Create reports (ErrNameClash), never a silently shared interface.
//
// An empty devsym, or one that would produce "." or "..", is an error.
func IfName(devsym string) (string, error) {
	if devsym == "" {
		return "", fmt.Errorf("%w: empty device symbol", ErrBadName)
	}
	b := []byte(devsym)
	for i, c := range b {
		if !nameByte(c) {
			b[i] = '_'
		}
	}
	name := string(b)
	if len(name) > MaxNameLen {
		h := fnv.New32a()
		h.Write([]byte(devsym))
		name = fmt.Sprintf("%s-%04x", name[:10], h.Sum32()&0xffff)
	}
	if err := CheckName(name); err != nil {
		return "", err
	}
	return name, nil
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// CheckName reports whether name is usable as given (Config.Name): 1..15
// bytes, not "." or "..", no '/', ':', '%' or white space (the kernel's
// dev_valid_name, plus '%' which would make the kernel number the name).
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrBadName, name, MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrBadName, name)
	case strings.ContainsAny(name, "/:% \t\n\r\v\f"):
		return fmt.Errorf("%w: %q contains '/', ':', '%%' or white space", ErrBadName, name)
	}
	return nil
}
