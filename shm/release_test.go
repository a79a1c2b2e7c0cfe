package shm_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/shm"
)

// lockedFiles returns the files of dir that some process holds a flock on
// (LOCK_EX|LOCK_NB fails), released again at once.
func lockedFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var locked []string
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		fd, err := unix.Open(filepath.Join(dir, e.Name()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
			locked = append(locked, e.Name())
		}
		unix.Close(fd)
	}
	return locked
}

// TestReleaseFiles: a primary killed with SIGKILL leaves its runtime dir;
// an attached handle still holds shared flocks on the fbarray files (the
// mapping keeps them alive even after close), which keep a successor with
// the same prefix from starting. ReleaseFiles drops them and the rte_mp
// socket but keeps the memory mapped with the dead primary's bytes; a new
// primary with the same prefix then starts; Detach unmaps.
func TestReleaseFiles(t *testing.T) {
	if ealPath {
		t.Skip("EAL holds the files itself (ReleaseFiles is a no-op)")
	}
	checkLeaks(t)
	tp := startPrimary(t, testenv.TestpmdOptions{MemMB: 64,
		Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
	h, err := attach(shm.Options{FilePrefix: tp.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	segs := h.Segments()
	if len(segs) == 0 {
		t.Fatal("no segments mapped")
	}
	before := append([]byte(nil), mem(segs[0].Addr, 4096)...)
	tp.Kill()
	if l := lockedFiles(t, tp.RuntimeDir); len(l) == 0 {
		t.Fatal("no file of the dead primary is locked by the attached handle: the test proves nothing")
	} else {
		t.Logf("locked by this process before ReleaseFiles: %v", l)
	}
	h.ReleaseFiles()
	if l := lockedFiles(t, tp.RuntimeDir); len(l) > 0 {
		t.Errorf("still locked after ReleaseFiles: %v", l)
	}
	if socks, _ := filepath.Glob(filepath.Join(tp.RuntimeDir, "mp_socket_"+itoa(os.Getpid())+"_*")); len(socks) > 0 {
		t.Errorf("our mp socket still exists: %v", socks)
	}
	if !bytes.Equal(mem(segs[0].Addr, 4096), before) {
		t.Error("the dead primary's memory changed under ReleaseFiles")
	}
	h.ReleaseFiles() // twice: nothing more to do

	// The successor: same prefix, same runtime dir and fbarray file names.
	tp2 := startPrimary(t, testenv.TestpmdOptions{Prefix: tp.Prefix, MemMB: 64,
		Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
	t.Logf("a new primary (pid %d) started on prefix %s while the old memory is still mapped here", tp2.Pid(), tp.Prefix)
	if !bytes.Equal(mem(segs[0].Addr, 4096), before) {
		t.Error("the dead primary's hugepage memory changed when its successor started")
	}
	if err := h.Detach(); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, tp.Prefix)
}
