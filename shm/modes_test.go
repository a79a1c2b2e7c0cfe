package shm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/shm"
)

// TestAttachModes attaches to primaries in EAL's three memory modes and
// checks that the pages we map are the primary's: the bytes at each mapped
// address equal the bytes of the hugepage file at the segment's offset.
func TestAttachModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		eal  []string
	}{
		{"Dynamic", nil},
		{"LegacyMem", []string{"--legacy-mem"}},
		{"SingleFileSegments", []string{"--single-file-segments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if inChild(t) {
				return
			}
			checkLeaks(t)
			tp := startPrimary(t, testenv.TestpmdOptions{MemMB: 128, EAL: tc.eal,
				Args: []string{"--forward-mode=io", "--auto-start", "--total-num-mbufs=8192"}})
			h := mustAttach(t, shm.Options{FilePrefix: tp.Prefix})
			st := h.Stats()
			t.Logf("%s: %d pages in %d mmaps, %v", tc.name, st.Pages, st.Mappings, st.Elapsed)
			if h.LegacyMem() != (tc.name == "LegacyMem") || h.SingleFileSegments() != (tc.name == "SingleFileSegments") {
				t.Errorf("legacy %v sfs %v", h.LegacyMem(), h.SingleFileSegments())
			}
			if tc.name == "SingleFileSegments" && st.Mappings >= st.Pages {
				t.Errorf("single-file-segments: %d mmaps for %d pages, want runs", st.Mappings, st.Pages)
			}
			pool, err := h.Mempool("mb_pool_0")
			if err != nil {
				t.Fatal(err)
			}
			if pool.Ops == nil || pool.Available() == 0 || pool.Available() > pool.Size {
				t.Errorf("pool %+v available %d", pool, pool.Available())
			}
			checkPagesMatchFiles(t, h, tp.Prefix)
			if err := h.Detach(); err != nil {
				t.Fatal(err)
			}
			assertNothingLeft(t, tp.Prefix)
		})
	}
}

// checkPagesMatchFiles compares a few bytes of every mapped page with the
// hugepage file that should back it. The file is found independently of
// shm: by content for legacy mode (pages there have no fixed file number).
func checkPagesMatchFiles(t *testing.T, h *shm.Handle, prefix string) {
	t.Helper()
	files := testenv.HugepageFiles(prefix)
	if len(files) == 0 {
		t.Fatal("primary has no hugepage files")
	}
	if h.LegacyMem() {
		// Each page is in exactly one file; check that every mapped page's
		// first 4 KiB appears as the first 4 KiB of some file. The primary
		// forwards while we compare, so a page may change between reading
		// it and reading the files: read both again until they agree (the
		// same memory does within a few tries, a wrong mapping never does).
		page, head := make([]byte, 4096), make([]byte, 4096)
		inSomeFile := func(a uintptr) bool {
			for try := 0; try < 50; try++ {
				copy(page, mem(a, 4096))
				for _, f := range files {
					fd, err := os.Open(f)
					if err != nil {
						t.Fatal(err)
					}
					_, err = fd.ReadAt(head, 0)
					fd.Close()
					if err != nil {
						t.Fatal(err)
					}
					if bytes.Equal(head, page) {
						return true
					}
				}
			}
			return false
		}
		for _, s := range h.Segments() {
			for a := s.Addr; a < s.Addr+s.Len; a += s.PageSz {
				if !inSomeFile(a) {
					t.Fatalf("page %#x matches no hugepage file", a)
				}
			}
		}
		return
	}
	buf := make([]byte, 4096)
	checked := 0
	for _, s := range h.Segments() {
		for a := s.Addr; a < s.Addr+s.Len; a += s.PageSz {
			seg := int((a - segBase(h, s.List)) / s.PageSz)
			name, off := strconv.Itoa(s.List*8192+seg), int64(0)
			if h.SingleFileSegments() {
				name, off = strconv.Itoa(s.List), int64(seg)*int64(s.PageSz)
			}
			f, err := os.Open(filepath.Join(testenv.HugepageDir, prefix+"map_"+name))
			if err != nil {
				t.Fatal(err)
			}
			// The primary forwards while we compare, so a page may change
			// between the two reads; the same memory matches on a retry, a
			// wrong mapping never does.
			same := false
			for try := 0; try < 50 && !same; try++ {
				if _, err = f.ReadAt(buf, off+int64(s.PageSz)-4096); err != nil {
					break
				}
				same = bytes.Equal(buf, mem(a+s.PageSz-4096, 4096))
			}
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !same {
				t.Fatalf("page %#x differs from %smap_%s at %d", a, prefix, name, off)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no pages checked")
	}
}

// segBase returns the base address of memseg list idx (from the mem config).
func segBase(h *shm.Handle, idx int) uintptr {
	const memsegs, mslSize = 136, 136
	return uintptr(*u64(h.MemConfig() + memsegs + uintptr(idx)*mslSize))
}
