package tap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MarkerPrefix starts the alias (IFLA_IFALIAS) of every interface this
// package creates.
const MarkerPrefix = "gomarsio:"

// Marker returns the alias that marks an interface as owned by application
// appsym running as process pid: "gomarsio:<appsym>:<pid>:<start>", where
// <start> is the process start time in clock ticks since boot
// (/proc/<pid>/stat field 22) so that a recycled pid is not mistaken for
// the owner. appsym may not contain ':'.
func Marker(appsym string, pid int) (string, error) {
	if strings.ContainsAny(appsym, ":\x00") {
		return "", fmt.Errorf("%w: application symbol %q contains ':' or NUL", ErrBadConfig, appsym)
	}
	start, err := procStart(pid)
	if err != nil {
		return "", fmt.Errorf("tap: start time of pid %d: %w", pid, err)
	}
	return fmt.Sprintf("%s%s:%d:%d", MarkerPrefix, appsym, pid, start), nil
}

// ParseMarker splits an alias made by Marker. ok is false for any other
// alias. start is 0 when the alias carries no start time (accepted so that
// hand-made markers "gomarsio:<appsym>:<pid>" work too).
func ParseMarker(alias string) (appsym string, pid int, start uint64, ok bool) {
	rest, found := strings.CutPrefix(alias, MarkerPrefix)
	if !found {
		return "", 0, 0, false
	}
	f := strings.Split(rest, ":")
	if len(f) < 2 || len(f) > 3 {
		return "", 0, 0, false
	}
	p, err := strconv.Atoi(f[1])
	if err != nil || p <= 0 {
		return "", 0, 0, false
	}
	if len(f) == 3 {
		start, err = strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return "", 0, 0, false
		}
	}
	return f[0], p, start, true
}

// procStart reads field 22 (starttime) of /proc/<pid>/stat.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, errors.New("malformed stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the marker's process still exists.
func alive(pid int, start uint64) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	if start == 0 {
		return true // no start time to compare: trust the pid
	}
	s, err := procStart(pid)
	if err != nil {
		// Alive per kill(2) but unreadable (another pid namespace, or it
		// just exited): keep the interface, be conservative.
		return !errors.Is(err, os.ErrNotExist)
	}
	return s == start
}

// CleanupStale removes, in the calling thread's network namespace, every
// interface whose alias is a marker (see Marker) of a process that no
// longer exists; appsym != "" restricts it to that application. It returns
// the names removed. Processes are looked up in the caller's pid namespace,
// so run it where the applications run.
func CleanupStale(appsym string) ([]string, error) {
	nl, err := dialNetlink()
	if err != nil {
		return nil, fmt.Errorf("tap: cleanup: %w", err)
	}
	defer nl.close()
	ls, err := nl.links()
	if err != nil {
		return nil, fmt.Errorf("tap: cleanup: list links: %w", classify(err))
	}
	var removed []string
	var errs []error
	for _, l := range ls {
		app, pid, start, ok := ParseMarker(l.alias)
		if !ok || (appsym != "" && app != appsym) || alive(pid, start) {
			continue
		}
		if err := nl.delLink(l.index); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("remove %s (%s): %w", l.name, l.alias, classify(err)))
			continue
		}
		removed = append(removed, l.name)
	}
	if len(errs) != 0 {
		return removed, fmt.Errorf("tap: cleanup: %w", errors.Join(errs...))
	}
	return removed, nil
}
