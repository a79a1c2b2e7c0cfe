package shm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// heldBy names this process's mappings overlapping [addr, addr+size) (at
// most three, from /proc/self/maps), for ErrAddrInUse errors: "held by
// 0x...-0x... [heap]" tells a user what took the primary's range.
func heldBy(addr, size uintptr) string {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return ""
	}
	var held []string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		a, b, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(a, 16, 64)
		end, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil || start >= uint64(addr+size) || uint64(addr) >= end {
			continue
		}
		name := "anonymous"
		if len(f) >= 6 {
			name = f[5]
		}
		held = append(held, fmt.Sprintf("%#x-%#x %s", start, end, name))
		if len(held) == 3 {
			held = append(held, "…")
			break
		}
	}
	if len(held) == 0 {
		return ""
	}
	return " (held by " + strings.Join(held, ", ") + ")"
}
