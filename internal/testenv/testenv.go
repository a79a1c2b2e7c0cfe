// Package testenv holds test helpers shared by gomarsio's packages: checks
// for hugepages, DPDK binaries and root that skip with a message saying what
// is missing and how to get it (or fail when GOMARSIO_REQUIRE_ALL=1, as CI
// sets), a dpdk-testpmd primary with its own --file-prefix that is cleaned up
// after the test, and leak checks for file descriptors and mappings.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// RequireAllEnv is the environment switch that turns skips into failures.
const RequireAllEnv = "GOMARSIO_REQUIRE_ALL"

// RequireAll reports whether GOMARSIO_REQUIRE_ALL=1 is set.
func RequireAll() bool { return os.Getenv(RequireAllEnv) == "1" }

// Skip skips the test with the message, or fails it when RequireAll.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireAll() {
		t.Fatalf("%s (%s=1: required)", msg, RequireAllEnv)
	}
	t.Skip(msg)
}

// HugepageDir is where gomarsio expects hugetlbfs (make deps mounts it).
const HugepageDir = "/dev/hugepages"

// RequireRoot skips unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Getuid() != 0 {
		Skip(t, "needs root (hugepages, /var/run/dpdk): run the tests as root")
	}
}

// FreeHugepages returns HugePages_Free from /proc/meminfo.
func FreeHugepages() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "HugePages_Free:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// RequireHugepages skips unless root, hugetlbfs is mounted at
// /dev/hugepages and at least one 2 MiB page is free.
func RequireHugepages(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	mounts, _ := os.ReadFile("/proc/mounts")
	if !strings.Contains(string(mounts), " "+HugepageDir+" hugetlbfs ") {
		Skip(t, "no hugetlbfs mounted at %s: run 'make deps' as root", HugepageDir)
	}
	if FreeHugepages() == 0 {
		Skip(t, "no free hugepages (HugePages_Free is 0 in /proc/meminfo): run 'make deps' as root (HUGEPAGES=N to reserve more)")
	}
}

// RequireBinary returns the path of the named program, skipping when it is
// not installed.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not found in PATH: run 'make deps' as root (installs Debian's dpdk package)", name)
	}
	return p
}

// OpenFDs lists this process's open file descriptors with their targets.
func OpenFDs() map[int]string {
	ents, _ := os.ReadDir("/proc/self/fd")
	out := map[int]string{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the fd ReadDir itself used, closed since
		}
		out[fd] = target
	}
	return out
}

// GoroutinesAfter waits up to wait for this process's goroutine count to
// drop to before or below and returns the count it saw last: goroutines
// of something just closed may still be on their way out.
func GoroutinesAfter(before int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	for {
		n := runtime.NumGoroutine()
		if n <= before || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CheckFDLeaks records the open descriptors now and, when the test ends,
// fails it if descriptors opened since are still open.
func CheckFDLeaks(t testing.TB) {
	t.Helper()
	// The runtime opens its netpoller (epoll + eventfd) on first use and
	// keeps it: make sure that happened before the snapshot.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before := OpenFDs()
	t.Cleanup(func() {
		if leaked := FDsOpenedSince(before, 2*time.Second); len(leaked) > 0 {
			t.Errorf("leaked file descriptors: %s", strings.Join(leaked, ", "))
		}
	})
}

// FDsOpenedSince returns, sorted as "fd -> target", the descriptors open
// now that were not in before (an OpenFDs snapshot). A descriptor only
// counts once it is still open after wait: background work of a live
// application (its status-file writer's temporary file, a control
// request's socket) opens and closes descriptors at any moment.
func FDsOpenedSince(before map[int]string, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		var opened []string
		for fd, target := range OpenFDs() {
			if b, ok := before[fd]; !ok || b != target {
				opened = append(opened, fmt.Sprintf("%d -> %s", fd, target))
			}
		}
		if len(opened) == 0 || time.Now().After(deadline) {
			sort.Strings(opened)
			return opened
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Mapping is one line of /proc/self/maps.
type Mapping struct {
	Start, End uintptr
	Perms      string
	Path       string
}

// Mappings returns this process's mappings.
func Mappings() []Mapping {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []Mapping
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		a, _ := strconv.ParseUint(lo, 16, 64)
		b, _ := strconv.ParseUint(hi, 16, 64)
		m := Mapping{Start: uintptr(a), End: uintptr(b), Perms: fields[1]}
		if len(fields) >= 6 {
			m.Path = fields[5]
		}
		out = append(out, m)
	}
	return out
}

// MappingsMatching returns the mappings whose path contains substr.
func MappingsMatching(substr string) []Mapping {
	var out []Mapping
	for _, m := range Mappings() {
		if strings.Contains(m.Path, substr) {
			out = append(out, m)
		}
	}
	return out
}

// MappingsOverlapping returns the mappings that overlap [lo, hi).
func MappingsOverlapping(lo, hi uintptr) []Mapping {
	var out []Mapping
	for _, m := range Mappings() {
		if m.Start < hi && lo < m.End {
			out = append(out, m)
		}
	}
	return out
}

// HugepageFiles returns the hugepage files of a file prefix
// (/dev/hugepages/<prefix>map_*).
func HugepageFiles(prefix string) []string {
	return HugepageFilesIn(HugepageDir, prefix)
}

// HugepageFilesIn lists a DPDK file prefix's hugepage files in dir.
func HugepageFilesIn(dir, prefix string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"map_*"))
	return m
}

// RemovePrefixFiles removes a DPDK file prefix's hugepage files and its
// runtime directory (/var/run/dpdk/<prefix>). A file that vanishes between
// the listing and its removal is not an error: every DPDK primary that
// starts removes all unlocked hugepage files of any prefix (EAL's
// clear_hugedir), so one started by a concurrent test may get there first.
func RemovePrefixFiles(prefix string) error {
	return RemovePrefixFilesIn(HugepageDir, prefix)
}

// RemovePrefixFilesIn is RemovePrefixFiles for hugepage files in dir.
func RemovePrefixFilesIn(dir, prefix string) error {
	var first error
	for _, f := range HugepageFilesIn(dir, prefix) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	if err := os.RemoveAll(filepath.Join("/var/run/dpdk", prefix)); err != nil && first == nil {
		first = err
	}
	return first
}

// Prefix returns a --file-prefix unique to this test and process:
// gmtest_<sanitised test name>_<pid>.
func Prefix(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 24 {
		name = name[len(name)-24:]
	}
	return fmt.Sprintf("gmtest_%s_%d", name, os.Getpid())
}

// Main runs the tests and then fails the binary if any of this process's
// test primaries (prefix gmtest_*_<pid>) left hugepage files or a runtime
// directory behind, or if hugepage files are still mapped. Use it as
// func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	pid := strconv.Itoa(os.Getpid())
	var left []string
	files, _ := filepath.Glob(filepath.Join(HugepageDir, "gmtest_*_"+pid+"map_*"))
	left = append(left, files...)
	dirs, _ := filepath.Glob(filepath.Join("/var/run/dpdk", "gmtest_*_"+pid))
	left = append(left, dirs...)
	for _, mp := range MappingsMatching(HugepageDir + "/") {
		left = append(left, fmt.Sprintf("mapping %#x-%#x %s", mp.Start, mp.End, mp.Path))
	}
	if len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "testenv: left behind after the tests:\n  %s\n", strings.Join(left, "\n  "))
		code = 1
	}
	os.Exit(code)
}

// PrivateHugeDir mounts a hugetlbfs of 2 MiB pages of its own on a new
// temporary directory and returns it; the cleanup removes what is left in
// it and unmounts it. A primary given it (--huge-dir) keeps its hugepage
// files out of HugepageDir, where every other DPDK primary that starts
// (another test package's, running in parallel) locks each file for a
// moment and removes every unlocked one (EAL's clear_hugedir): a test
// about stale files of a dead primary needs them left alone. It skips
// (or fails, see RequireAll) where RequireHugepages does.
func PrivateHugeDir(t testing.TB) string {
	t.Helper()
	RequireHugepages(t)
	dir, err := os.MkdirTemp("", "gmhuge-")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("nodev", dir, "hugetlbfs", 0, "pagesize=2M"); err != nil {
		os.Remove(dir)
		t.Fatalf("mount hugetlbfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			os.Remove(filepath.Join(dir, e.Name()))
		}
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			return
		}
		os.Remove(dir)
	})
	return dir
}
