package shm_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/shm"
)

func TestAttachNoPrimary(t *testing.T) {
	checkLeaks(t)
	_, err := attach(shm.Options{FilePrefix: "gmtest_nobody_" + itoa(os.Getpid())})
	if !errors.Is(err, shm.ErrNoPrimary) {
		t.Fatalf("got %v, want ErrNoPrimary", err)
	}
}

// fakeRuntimeDir copies a live primary's runtime files into a temporary
// directory (to corrupt them at will); lock says whether the test process
// plays the live primary by holding an OFD write lock on the copy's config
// (OFD locks conflict with the classic fcntl lock EAL tests even within one
// process).
func fakeRuntimeDir(t *testing.T, src string, lock bool, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
	}
	if edit != nil {
		edit(dir)
	}
	if lock {
		f, err := os.OpenFile(filepath.Join(dir, "config"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 136, Len: 136 * 128}
		if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
}

func patch(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func le32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// TestAttachBadInput feeds Attach broken runtime directories and occupied
// address ranges: each must be a typed error, and nothing may stay mapped
// or open afterwards.
func TestAttachBadInput(t *testing.T) {
	if ealPath {
		t.Skip("fake runtime directories test the pure-Go parser; EAL has its own checks")
	}
	tp := startPrimary(t, testenv.TestpmdOptions{MemMB: 64,
		Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
	h := mustAttach(t, shm.Options{FilePrefix: tp.Prefix, NoIPC: true})
	cfgAddr := h.MemConfig()
	lists := h.MemsegLists()
	if err := h.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := h.Detach(); !errors.Is(err, shm.ErrDetached) {
		t.Errorf("second Detach: %v", err)
	}
	nothingMapped := func(t *testing.T, except uintptr) {
		t.Helper()
		ranges := [][2]uintptr{{cfgAddr, cfgAddr + 25344}}
		for _, l := range lists {
			ranges = append(ranges, [2]uintptr{l.Base, l.Base + l.Len})
		}
		for _, r := range ranges {
			for _, m := range testenv.MappingsOverlapping(r[0], r[1]) {
				if m.Start != except {
					t.Errorf("left mapped after failed attach: %#x-%#x %s %s", m.Start, m.End, m.Perms, m.Path)
				}
			}
		}
	}
	firstList := lists[0].Base
	fb0 := func(dir string) string {
		m, _ := filepath.Glob(filepath.Join(dir, "fbarray_memseg-*-0"))
		if len(m) == 0 {
			t.Fatal("no fbarray_memseg-*-0")
		}
		return m[0]
	}

	for _, tc := range []struct {
		name string
		lock bool
		edit func(dir string)
		want error
		msg  []string
	}{
		{name: "CopyWorks", lock: true},
		{name: "Stale", lock: false, want: shm.ErrStalePrimary},
		{name: "Version", lock: true, want: shm.ErrVersion, msg: []string{"23.11", "22.11"},
			edit: func(d string) { patch(t, filepath.Join(d, "config"), 4, le32(0x170b0000)) }},
		{name: "Magic", lock: true, want: shm.ErrCorrupt,
			edit: func(d string) { patch(t, filepath.Join(d, "config"), 0, le32(0xdeadbeef)) }},
		{name: "TruncatedConfig", lock: true, want: shm.ErrCorrupt,
			edit: func(d string) { os.Truncate(filepath.Join(d, "config"), 4096) }},
		{name: "TruncatedFbarray", lock: true, want: shm.ErrCorrupt,
			edit: func(d string) { os.Truncate(fb0(d), 4096) }},
		{name: "GarbageFbarray", lock: true, want: shm.ErrCorrupt,
			edit: func(d string) {
				junk := make([]byte, 64*1024)
				for i := range junk {
					junk[i] = 0xa5
				}
				patch(t, fb0(d), 0, junk)
			}},
		{name: "GarbageMemsegList", lock: true, want: shm.ErrCorrupt,
			edit: func(d string) { // page_sz of list 0 → 3 MiB
				patch(t, filepath.Join(d, "config"), 136+8, binary.NativeEndian.AppendUint64(nil, 3<<20))
			}},
		{name: "NoHugepageInfo", lock: true, want: shm.ErrCorrupt,
			edit: func(d string) { // a zeroed hugepage_info: no directory for 2 MiB pages
				patch(t, filepath.Join(d, "hugepage_info"), 0, make([]byte, 4240))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			dir := fakeRuntimeDir(t, tp.RuntimeDir, tc.lock, tc.edit)
			h, err := attach(shm.Options{FilePrefix: tp.Prefix, RuntimeDir: dir, NoIPC: true})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.Mempool("mb_pool_0"); err != nil {
					t.Error(err)
				}
				h.Detach()
				nothingMapped(t, 0)
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, s := range tc.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			t.Logf("%v", err)
			nothingMapped(t, 0)
		})
	}

	for _, tc := range []struct {
		name string
		addr uintptr
	}{
		{"ConfigAddrTaken", cfgAddr},
		{"MemsegRangeTaken", firstList + 512<<20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			p, err := unix.MmapPtr(-1, 0, *(*unsafe.Pointer)(unsafe.Pointer(&tc.addr)), 4096, unix.PROT_READ,
				unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
			if err != nil || uintptr(p) != tc.addr {
				t.Fatalf("occupy %#x: %v", tc.addr, err)
			}
			defer unix.MunmapPtr(p, 4096)
			_, err = attach(shm.Options{FilePrefix: tp.Prefix})
			if !errors.Is(err, shm.ErrAddrInUse) {
				t.Fatalf("got %v, want ErrAddrInUse", err)
			}
			// The error names what holds the range (from /proc/self/maps).
			if want := fmt.Sprintf("held by %#x-%#x anonymous", tc.addr, tc.addr+4096); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			t.Logf("%v", err)
			nothingMapped(t, tc.addr)
			assertNothingLeft(t, tp.Prefix)
		})
	}
}

// TestAttachNoSharedMemory: primaries with --no-huge, --in-memory or
// --huge-unlink cannot have secondaries; Attach says so.
func TestAttachNoSharedMemory(t *testing.T) {
	for _, mode := range []string{"--no-huge", "--in-memory", "--huge-unlink"} {
		t.Run(strings.TrimPrefix(mode, "--"), func(t *testing.T) {
			if inChild(t) {
				return
			}
			checkLeaks(t)
			tp := startPrimary(t, testenv.TestpmdOptions{MemMB: 64, EAL: []string{mode},
				Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
			_, err := attach(shm.Options{FilePrefix: tp.Prefix})
			if !errors.Is(err, shm.ErrNoHugepages) {
				t.Fatalf("got %v, want ErrNoHugepages", err)
			}
			t.Logf("%v", err)
			assertNothingLeft(t, tp.Prefix)
		})
	}
}

// TestAttachDeadPrimary: a primary killed with SIGKILL leaves its runtime
// directory behind; nobody holds the config lock any more.
func TestAttachDeadPrimary(t *testing.T) {
	checkLeaks(t)
	tp := startPrimary(t, testenv.TestpmdOptions{MemMB: 64,
		Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
	tp.Kill()
	_, err := attach(shm.Options{FilePrefix: tp.Prefix})
	if !errors.Is(err, shm.ErrStalePrimary) {
		t.Fatalf("got %v, want ErrStalePrimary", err)
	}
	assertNothingLeft(t, tp.Prefix)
}

// TestSyncFollowsFbarray drives Sync (the body of the mp_malloc_sync answer)
// in both directions without disturbing a primary: on a copy of a live
// primary's runtime dir, clearing a page's bit in the memseg fbarray makes
// Sync unmap that page; setting it again maps it back from its hugepage
// file with the primary's bytes.
func TestSyncFollowsFbarray(t *testing.T) {
	if ealPath {
		t.Skip("EAL keeps its own map in step")
	}
	checkLeaks(t)
	tp := startPrimary(t, testenv.TestpmdOptions{MemMB: 64,
		Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
	dir := fakeRuntimeDir(t, tp.RuntimeDir, true, nil)
	h, err := attach(shm.Options{FilePrefix: tp.Prefix, RuntimeDir: dir, NoIPC: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Detach()
	l := h.MemsegLists()[0]
	segs := h.Segments()
	last := segs[len(segs)-1]
	page := last.Addr + last.Len - last.PageSz
	seg := int((page - l.Base) / l.PageSz)
	fb := filepath.Join(dir, "fbarray_memseg-2048k-0-0")
	maskOff := int64(48*8192 + 8 + (seg/64)*8)
	f, err := os.OpenFile(fb, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	word := make([]byte, 8)
	if _, err := f.ReadAt(word, maskOff); err != nil {
		t.Fatal(err)
	}
	orig := binary.NativeEndian.Uint64(word)
	if orig&(1<<(seg%64)) == 0 {
		t.Fatalf("segment %d not marked used", seg)
	}
	want := append([]byte(nil), mem(page, 4096)...)

	f.WriteAt(binary.NativeEndian.AppendUint64(nil, orig&^(1<<(seg%64))), maskOff)
	if err := h.Sync(); err != nil {
		t.Fatal(err)
	}
	if h.Contains(page, 1) {
		t.Error("freed page still Contains")
	}
	for _, m := range testenv.MappingsOverlapping(page, page+1) {
		if m.Perms != "---p" || m.Path != "" {
			t.Errorf("freed page still mapped: %+v", m)
		}
	}
	f.WriteAt(binary.NativeEndian.AppendUint64(nil, orig), maskOff)
	if err := h.Sync(); err != nil {
		t.Fatal(err)
	}
	if !h.Contains(page, l.PageSz) {
		t.Error("re-added page not Contains")
	}
	if got := mem(page, 4096); string(got) != string(want) {
		t.Error("re-mapped page has other bytes")
	}
}
