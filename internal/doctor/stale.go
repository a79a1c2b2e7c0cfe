package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// hugeFileRE matches EAL's hugepage file names, HUGEFILE_FMT "%s/%smap_%d"
// (lib/eal/common/eal_filesystem.h): <prefix>map_<n>.
var hugeFileRE = regexp.MustCompile(`^(.+)map_([0-9]+)$`)

// runtimeDir is one EAL runtime directory (<DPDKDir>/<prefix>).
type runtimeDir struct {
	prefix, dir string
	state       dirState
	pid         int // lock holder when live
	err         error
}

type dirState int

const (
	dirLive     dirState = iota // config locked by a live process
	dirStale                    // config exists, nobody locks it
	dirNoConfig                 // no config (an --in-memory primary, or not EAL's): left alone
	dirError                    // could not tell (permissions)
)

// hugeFile is one hugepage file.
type hugeFile struct {
	path, prefix string
	size         int64
	lockPids     []int // processes holding a lock on it (/proc/locks)
}

// configLockHolder returns the pid of a process holding an fcntl lock on
// the runtime dir's config file (EAL's primary write-locks the memsegs part
// of it for its whole life, lib/eal/linux/eal.c), or 0 when nobody does.
// The whole file is queried, so a lock on any part of it counts: that keeps
// the test independent of the DPDK version's rte_mem_config layout.
func configLockHolder(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &lk); err != nil {
		return 0, fmt.Errorf("F_GETLK %s: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return 0, nil
	}
	pid := int(lk.Pid)
	if pid <= 0 {
		pid = -1 // an OFD lock: held, owner unknown
	}
	return pid, nil
}

// scanRuntimeDirs classifies every directory in DPDKDir.
func (r *runner) scanRuntimeDirs() ([]runtimeDir, error) {
	ents, err := os.ReadDir(r.opts.DPDKDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []runtimeDir
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		d := runtimeDir{prefix: e.Name(), dir: filepath.Join(r.opts.DPDKDir, e.Name())}
		cfg := filepath.Join(d.dir, "config")
		pid, err := configLockHolder(cfg)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d.state = dirNoConfig
		case err != nil:
			d.state, d.err = dirError, err
		case pid == 0:
			d.state = dirStale
		default:
			d.state, d.pid = dirLive, pid
		}
		out = append(out, d)
	}
	return out, nil
}

// procLocks maps "major:minor:inode" to the pids holding a lock on it, from
// <Root>/proc/locks (FLOCK, POSIX and OFD locks alike).
func (r *runner) procLocks() (map[string][]int, error) {
	data, err := os.ReadFile(r.opts.path("/proc/locks"))
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, line := range strings.Split(string(data), "\n") {
		// "1: FLOCK  ADVISORY  READ  1234 00:2d:5678 0 EOF"; blocked
		// waiters carry a "->" field first.
		f := strings.Fields(strings.Replace(line, "->", "", 1))
		if len(f) < 6 {
			continue
		}
		pid, _ := strconv.Atoi(f[4])
		parts := strings.Split(f[5], ":")
		if len(parts) != 3 {
			continue
		}
		maj, err1 := strconv.ParseUint(parts[0], 16, 32)
		min, err2 := strconv.ParseUint(parts[1], 16, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		key := fmt.Sprintf("%d:%d:%s", maj, min, parts[2])
		out[key] = append(out[key], pid)
	}
	return out, nil
}

func inodeKey(st *unix.Stat_t) string {
	return fmt.Sprintf("%d:%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
}

// scanHugeFiles lists EAL hugepage files in the hugepage directories with
// the processes that hold a lock on each.
func (r *runner) scanHugeFiles(locks map[string][]int) ([]hugeFile, []error) {
	var out []hugeFile
	var errs []error
	for _, dir := range r.hugeDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			m := hugeFileRE.FindStringSubmatch(e.Name())
			if m == nil || !e.Type().IsRegular() {
				continue
			}
			f := hugeFile{path: filepath.Join(dir, e.Name()), prefix: m[1]}
			var st unix.Stat_t
			if err := unix.Stat(f.path, &st); err != nil {
				continue // gone meanwhile
			}
			f.size = st.Blocks * 512
			f.lockPids = locks[inodeKey(&st)]
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, errs
}

func (r *runner) cleanable(prefix string) bool {
	if !r.opts.Clean || !r.dirsKnown {
		return false
	}
	if r.opts.CleanPrefix == "" {
		return true
	}
	ok, _ := filepath.Match(r.opts.CleanPrefix, prefix)
	return ok
}

// stale finds (and with Clean removes) what dead primaries left behind.
func (r *runner) stale() {
	r.live = map[string]int{}
	dirs, err := r.scanRuntimeDirs()
	r.dirsKnown = err == nil
	if err != nil {
		r.add("stale-runtime-dirs", Fail, fmt.Sprintf("cannot list %s: %v", r.opts.DPDKDir, err),
			"run mrdoctor as root (EAL's runtime dirs are root's)")
	} else {
		r.staleDirs(dirs)
	}
	if len(r.hugeDirs) == 0 {
		r.add("stale-hugepage-files", Warn, "not checked: no hugetlbfs directory", "see hugetlbfs-mounted")
		return
	}
	locks, lerr := r.procLocks()
	files, errs := r.scanHugeFiles(locks)
	if len(errs) > 0 {
		r.add("stale-hugepage-files", Fail, fmt.Sprintf("cannot list hugepage files: %v", errors.Join(errs...)),
			"run mrdoctor as root")
		return
	}
	r.staleFiles(files, lerr)
}

func (r *runner) staleDirs(dirs []runtimeDir) {
	var live, stale, unknown []string
	var removed, kept []string
	var failed []error
	for _, d := range dirs {
		switch d.state {
		case dirLive:
			r.live[d.prefix] = d.pid
			live = append(live, fmt.Sprintf("%s (%s)", d.prefix, holder(d.pid)))
		case dirNoConfig:
			unknown = append(unknown, d.prefix)
		case dirError:
			failed = append(failed, fmt.Errorf("%s: %w", d.dir, d.err))
		case dirStale:
			stale = append(stale, d.dir)
			if !r.cleanable(d.prefix) {
				kept = append(kept, d.dir)
				continue
			}
			if err := removeRuntimeDir(d.dir); err != nil {
				failed = append(failed, err)
			} else {
				removed = append(removed, d.dir)
			}
		}
	}
	note := ""
	if len(live) > 0 {
		note = "; live primaries: " + list(live, 6)
	}
	if r.userDir {
		if _, err := os.ReadDir(rootDPDKDir); errors.Is(err, fs.ErrPermission) {
			note += fmt.Sprintf("; %s (root's primaries) is not readable by uid %d: run mrdoctor as root to check it", rootDPDKDir, os.Geteuid())
			if len(stale) == 0 && len(failed) == 0 {
				r.add("stale-runtime-dirs", Warn, "none in "+r.opts.DPDKDir+note, "run mrdoctor as root")
				return
			}
		}
	}
	if len(unknown) > 0 {
		note += "; left alone (no config file: --in-memory or not EAL's): " + list(unknown, 6)
	}
	switch {
	case len(failed) > 0:
		r.add("stale-runtime-dirs", Fail, fmt.Sprintf("%s%s", errors.Join(failed...), note),
			"run mrdoctor as root (EAL's runtime dirs are root's)")
	case len(stale) == 0:
		r.add("stale-runtime-dirs", OK, "none in "+r.opts.DPDKDir+note, "")
	case len(kept) == 0:
		r.add("stale-runtime-dirs", OK, fmt.Sprintf("removed %s: %s%s", plural(len(removed), "stale runtime dir"), list(removed, 8), note), "")
	default:
		d := fmt.Sprintf("%s of dead primaries (config not locked by any process): %s", plural(len(kept), "runtime dir"), list(kept, 8))
		if len(removed) > 0 {
			d += "; removed " + list(removed, 8)
		}
		fix := "mrdoctor -clean removes them (never a live primary's)"
		if r.opts.Clean {
			fix = "left alone: their prefix does not match -clean-prefix " + r.opts.CleanPrefix
		}
		r.add("stale-runtime-dirs", Warn, d+note, fix)
	}
}

// removeRuntimeDir removes a dead primary's runtime directory. It first
// takes the primary's lock on config itself, so a primary starting with the
// same prefix meanwhile fails to lock it instead of losing its files, and
// re-checks nobody held it.
func removeRuntimeDir(dir string) error {
	cfg := filepath.Join(dir, "config")
	fd, err := unix.Open(cfg, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	defer unix.Close(fd)
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk); err != nil {
		return fmt.Errorf("clean %s: config is locked (a primary started meanwhile?): %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	return nil
}

// removeHugeFile removes a hugepage file unless a process holds a flock on
// it (EAL keeps LOCK_SH on every page it uses): LOCK_EX|LOCK_NB decides. A
// file already gone counts as removed: a DPDK primary starting meanwhile
// removes every unlocked hugepage file (EAL's clear_hugedir).
func removeHugeFile(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("clean %s: in use by a process (flock): %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clean %s: %w", path, err)
	}
	return nil
}

func (r *runner) staleFiles(files []hugeFile, lockErr error) {
	type group struct {
		prefix string
		n      int
		bytes  int64
		files  []hugeFile
	}
	groups := map[string]*group{}
	var order []string
	inUse := 0
	for _, f := range files {
		if _, ok := r.live[f.prefix]; ok {
			continue
		}
		if len(f.lockPids) > 0 {
			inUse++ // a live process (another user's primary, a secondary) holds it
			continue
		}
		g := groups[f.prefix]
		if g == nil {
			g = &group{prefix: f.prefix}
			groups[f.prefix] = g
			order = append(order, f.prefix)
		}
		g.n++
		g.bytes += f.size
		g.files = append(g.files, f)
	}
	sort.Strings(order)
	var stale, kept, removed []string
	var failed []error
	for _, p := range order {
		g := groups[p]
		desc := fmt.Sprintf("%s (%s, %s)", p, plural(g.n, "file"), mib(g.bytes))
		stale = append(stale, desc)
		if !r.cleanable(p) {
			kept = append(kept, desc)
			continue
		}
		n := 0
		for _, f := range g.files {
			if err := removeHugeFile(f.path); err != nil {
				failed = append(failed, err)
				continue
			}
			n++
		}
		removed = append(removed, fmt.Sprintf("%s (%s)", p, plural(n, "file")))
	}
	where := strings.Join(r.hugeDirs, ", ")
	note := ""
	if inUse > 0 {
		note = fmt.Sprintf("; %s with no live primary found in %s are in use (a process holds a lock on them): left alone", plural(inUse, "file"), r.opts.DPDKDir)
	}
	if lockErr != nil {
		note += fmt.Sprintf("; /proc/locks unreadable (%v): -clean still checks each file's flock", lockErr)
	}
	switch {
	case len(failed) > 0:
		r.add("stale-hugepage-files", Fail, errors.Join(failed...).Error()+note, "run mrdoctor as root; files in use are never removed")
	case len(stale) == 0:
		r.add("stale-hugepage-files", OK, "none in "+where+note, "")
	case len(kept) == 0:
		r.add("stale-hugepage-files", OK, "removed "+strings.Join(removed, ", ")+" from "+where+note, "")
	default:
		d := fmt.Sprintf("hugepage files of dead primaries in %s: %s", where, list(kept, 8))
		if len(removed) > 0 {
			d += "; removed " + strings.Join(removed, ", ")
		}
		fix := "they hold hugepages until removed: mrdoctor -clean removes them (never a live primary's)"
		if r.opts.Clean {
			fix = "left alone: their prefix does not match -clean-prefix " + r.opts.CleanPrefix
		}
		r.add("stale-hugepage-files", Warn, d+note, fix)
	}
}

func mib(b int64) string {
	return fmt.Sprintf("%d MiB", b>>20)
}

// holder names a lock holder ("pid N", or an OFD lock's unknown owner).
func holder(pid int) string {
	if pid > 0 {
		return fmt.Sprintf("pid %d", pid)
	}
	return "a process (OFD lock)"
}
