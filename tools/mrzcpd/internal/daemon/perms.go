package daemon

/*
#include <stdint.h>
int mr_perm_register(uint32_t gid);
void mr_perm_unregister(void);
uint64_t mr_perm_fixed_count(void);
uint64_t mr_perm_failed_count(void);
*/
import "C"

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// appGroup gives [service] app_group access to what an application needs:
// read/write on the EAL runtime dir (the app binds its rte_mp socket there)
// and its files (config, fbarrays, mp_socket), the hugepage files of our
// prefix, and the status dir (the app writes mrmonit.app.<appsym>).
//
// EAL creates all of these for root only (dirs 0700, files 0600). The
// daemon changes their group to app_group and adds group read/write:
// once after EAL init and after setup, for hugepage files the heap creates
// later from a memory event callback before secondaries are told to map
// them (perms.c), and every status period as a safety net. Only files the
// daemon owns are touched (applications' own sockets are left alone). The
// parent of the runtime dir (/var/run/dpdk) gets o+x / g+x only (traverse,
// no listing). The status dir becomes group-writable with the sticky bit:
// an application can replace only its own status file.
type appGroup struct {
	name string
	gid  int
	uid  int
}

// lookupAppGroup resolves app_group (a name or a numeric gid); nil if unset.
func lookupAppGroup(name string) (*appGroup, error) {
	if name == "" {
		return nil, nil
	}
	gid, err := strconv.Atoi(name)
	if err != nil {
		g, lerr := user.LookupGroup(name)
		if lerr != nil {
			return nil, fmt.Errorf("[service] app_group=%s: %w", name, lerr)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("[service] app_group=%s: gid %q: %w", name, g.Gid, err)
		}
	}
	return &appGroup{name: name, gid: gid, uid: os.Geteuid()}, nil
}

// register installs the memory event callback (after EAL init).
func (g *appGroup) register() error {
	if ret := C.mr_perm_register(C.uint32_t(g.gid)); ret < 0 {
		return fmt.Errorf("rte_mem_event_callback_register: %w", unix.Errno(-ret))
	}
	return nil
}

func (g *appGroup) unregister() { C.mr_perm_unregister() }

// give sets path's group and adds mode; only for files we own.
func (g *appGroup) give(path string, mode fs.FileMode) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	if int(st.Uid) != g.uid {
		return nil
	}
	want := st.Mode&0o7777 | uint32(mode.Perm())
	if mode&fs.ModeSticky != 0 {
		want |= syscall.S_ISVTX
	}
	if int(st.Gid) != g.gid {
		if err := unix.Lchown(path, -1, g.gid); err != nil {
			return err
		}
	}
	if want != st.Mode&0o7777 {
		if err := unix.Chmod(path, want); err != nil {
			return err
		}
	}
	return nil
}

// fix applies the group to the runtime dir, its files, our hugepage files
// and the status dir. It returns the first error (the rest still run).
func (g *appGroup) fix(rtDir, hugeDir, prefix, runDir string) error {
	var first error
	note := func(err error) {
		if err != nil && first == nil && !os.IsNotExist(err) {
			first = err
		}
	}
	if rtDir != "" {
		if parent := filepath.Dir(rtDir); filepath.Base(parent) == "dpdk" {
			if st, err := os.Stat(parent); err == nil && st.Mode().Perm()&0o011 != 0o011 {
				note(os.Chmod(parent, st.Mode().Perm()|0o011))
			}
		}
		note(g.give(rtDir, 0o770))
		ents, err := os.ReadDir(rtDir)
		note(err)
		for _, e := range ents {
			note(g.give(filepath.Join(rtDir, e.Name()), 0o660))
		}
	}
	if hugeDir == "" {
		hugeDir = "/dev/hugepages"
	}
	files, _ := filepath.Glob(filepath.Join(hugeDir, prefix+"map_*"))
	for _, f := range files {
		note(g.give(f, 0o660))
	}
	if runDir != "" {
		note(g.give(runDir, 0o775|fs.ModeSticky))
	}
	if first != nil {
		return fmt.Errorf("app_group %s: %w", g.name, first)
	}
	return nil
}

// summary reports what the memory event callback did (logged at shutdown).
func (g *appGroup) summary() string {
	return fmt.Sprintf("app_group %s: %d hugepage files given to the group by the memory event callback (%d failed)",
		g.name, uint64(C.mr_perm_fixed_count()), uint64(C.mr_perm_failed_count()))
}
