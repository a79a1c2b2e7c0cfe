package shm

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// segList is one rte_memseg_list of the primary and the pages of it we map.
type segList struct {
	idx      int
	base     uintptr // base_va
	length   uintptr // len: n * pageSz bytes of reserved address space
	pageSz   uintptr
	socket   int
	n        int     // fbarray len: number of segments
	data     uintptr // fbarray data: n rte_memseg, then the used mask
	mask     uintptr // the fbarray's used-mask words (uint64)
	local    []uint64
	reserved bool   // [base, base+length) reserved PROT_NONE by us
	hugeDir  string // where this page size's hugepage files live
}

// fbarray used mask (lib/eal/common/eal_common_fbarray.c): after the
// elements, struct used_mask { unsigned int n_masks; uint64_t data[]; }.
const usedMaskData = 8

func fbarrayMapSize(eltSz, n uintptr) uintptr {
	words := (n + 63) / 64
	return pageRound(eltSz*n + usedMaskData + 8*words)
}

// fbarray reads and validates the rte_fbarray header at arr.
func fbarray(arr uintptr) (name string, n, eltSz, data uintptr, err error) {
	raw := unsafe.Slice((*byte)(ptr(arr+dpdk.OffsetofFbarrayName)), dpdk.RTE_FBARRAY_NAME_LEN)
	name = cstr(raw)
	n = uintptr(ld32(arr + dpdk.OffsetofFbarrayLen))
	eltSz = uintptr(ld32(arr + dpdk.OffsetofFbarrayEltSz))
	data = uintptr(ld64(arr + dpdk.OffsetofFbarrayData))
	if name == "" || len(name) == len(raw) || n == 0 || n > 1<<24 || eltSz == 0 || eltSz > 1<<20 ||
		data == 0 || data%uintptr(os.Getpagesize()) != 0 {
		return "", 0, 0, 0, fmt.Errorf("shm: fbarray at %#x: name %q len %d elt_sz %d data %#x: %w",
			arr, name, n, eltSz, data, ErrCorrupt)
	}
	return name, n, eltSz, data, nil
}

// attachFbarray maps <runtime dir>/fbarray_<name> at the primary's data
// address, as rte_fbarray_attach does, and takes the same shared flock.
func (h *Handle) attachFbarray(arr uintptr) (area, error) {
	name, n, eltSz, data, err := fbarray(arr)
	if err != nil {
		return area{}, err
	}
	size := fbarrayMapSize(eltSz, n)
	if h.eal {
		// EAL attached it at the same address (rte_fbarray_attach).
		a := area{data, size}
		h.areas = append(h.areas, a)
		return a, nil
	}
	path := filepath.Join(h.runDir, fbarrayPrefix+name)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return area{}, fmt.Errorf("shm: open fbarray: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return area{}, fmt.Errorf("shm: stat %s: %w", path, err)
	}
	if uintptr(st.Size) < size {
		unix.Close(fd)
		return area{}, fmt.Errorf("shm: %s is %d bytes, fbarray of %d × %d needs %d: %w",
			path, st.Size, n, eltSz, size, ErrCorrupt)
	}
	if err := unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return area{}, fmt.Errorf("shm: lock %s: %w", path, err)
	}
	if err := h.mapFixed(fd, 0, data, size, unix.MAP_SHARED|unix.MAP_FIXED_NOREPLACE, "fbarray "+name); err != nil {
		unix.Close(fd)
		return area{}, err
	}
	a := area{data, size}
	h.areas = append(h.areas, a)
	h.fds = append(h.fds, fd)
	if got := uintptr(ld32(data + eltSz*n)); got != (n+63)/64 {
		return area{}, fmt.Errorf("shm: %s: used mask has %d words, want %d: %w", path, got, (n+63)/64, ErrCorrupt)
	}
	return a, nil
}

// readHugeDirs learns where the primary's hugepage files live from
// <runtime dir>/hugepage_info (struct hugepage_info[], eal_hugepage_info_read).
func (h *Handle) readHugeDirs(override string) error {
	h.hugeDirs = map[uint64]string{}
	b, err := os.ReadFile(filepath.Join(h.runDir, hugepageInfoFile))
	if err != nil {
		if override != "" || h.legacy {
			h.hugeDirs[0] = override
			return nil
		}
		return fmt.Errorf("shm: hugepage info: %w (set Options.HugeDir)", err)
	}
	if len(b)%hugepageInfoSize != 0 {
		return fmt.Errorf("shm: %s is %d bytes, not a multiple of %d: %w",
			hugepageInfoFile, len(b), hugepageInfoSize, ErrCorrupt)
	}
	for off := 0; off+hugepageInfoSize <= len(b); off += hugepageInfoSize {
		sz := *(*uint64)(unsafe.Pointer(&b[off+hugepageInfoPageSz]))
		if sz == 0 {
			continue
		}
		dir := cstr(b[off+hugepageInfoDirOff : off+hugepageInfoDirOff+pathMax])
		if override != "" {
			dir = override
		}
		h.hugeDirs[sz] = dir
	}
	if override != "" {
		h.hugeDirs[0] = override
	}
	return nil
}

// attachLists attaches every memseg list's fbarray and reserves its address
// range (as eal_memseg_list_alloc does in a secondary), so no other mapping
// of this process lands where the primary may grow its heap.
func (h *Handle) attachLists() error {
	pg := uintptr(os.Getpagesize())
	for i := 0; i < dpdk.RTE_MAX_MEMSEG_LISTS; i++ {
		msl := h.cfg + dpdk.OffsetofMemConfigMemsegs + uintptr(i)*dpdk.SizeofMemsegList
		base := uintptr(ld64(msl + dpdk.OffsetofMemsegListBaseVa))
		if base == 0 {
			continue
		}
		if ld32(msl+dpdk.OffsetofMemsegListExternal) != 0 {
			continue // rte_malloc_heap_memory_add: not backed by hugepage files
		}
		l := &segList{
			idx:    i,
			base:   base,
			pageSz: uintptr(ld64(msl + dpdk.OffsetofMemsegListPageSz)),
			length: uintptr(ld64(msl + dpdk.OffsetofMemsegListLen)),
			socket: int(int32(ld32(msl + dpdk.OffsetofMemsegListSocketId))),
		}
		if l.pageSz == pg {
			return fmt.Errorf("shm: memseg list %d uses %d-byte pages: primary runs with --no-huge: %w",
				i, pg, ErrNoHugepages)
		}
		if l.pageSz < pg || l.pageSz&(l.pageSz-1) != 0 || base%l.pageSz != 0 {
			return fmt.Errorf("shm: memseg list %d: page size %#x base %#x: %w", i, l.pageSz, base, ErrCorrupt)
		}
		arr := msl + dpdk.OffsetofMemsegListMemsegArr
		_, n, eltSz, data, err := fbarray(arr)
		if err != nil {
			return err
		}
		if eltSz != dpdk.SizeofMemseg || n > dpdk.RTE_MAX_MEMSEG_PER_LIST || l.length != n*l.pageSz || base+l.length < base {
			return fmt.Errorf("shm: memseg list %d: %d segments of %d bytes, len %#x, page %#x: %w",
				i, n, eltSz, l.length, l.pageSz, ErrCorrupt)
		}
		if _, err := h.attachFbarray(arr); err != nil {
			return err
		}
		l.n, l.data, l.mask = int(n), data, data+eltSz*n+usedMaskData
		l.local = make([]uint64, (n+63)/64)
		l.hugeDir = h.hugeDirs[uint64(l.pageSz)]
		if l.hugeDir == "" {
			l.hugeDir = h.hugeDirs[0]
		}
		if l.hugeDir == "" && !h.legacy && !h.eal {
			return fmt.Errorf("shm: no hugepage directory recorded for %d kB pages: %w", l.pageSz>>10, ErrCorrupt)
		}
		if h.eal {
			h.lists = append(h.lists, l) // EAL reserved and maps it
			continue
		}
		_, err = unix.MmapPtr(-1, 0, ptr(base), l.length, unix.PROT_NONE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED_NOREPLACE)
		if err != nil {
			held := ""
			if errors.Is(err, unix.EEXIST) {
				err, held = ErrAddrInUse, heldBy(base, l.length)
			}
			return fmt.Errorf("shm: reserve memseg list %d at %#x+%#x%s: %w", i, base, l.length, held, err)
		}
		l.reserved = true
		h.lists = append(h.lists, l)
	}
	if len(h.lists) == 0 {
		return fmt.Errorf("shm: primary has no memseg lists: %w", ErrNoHugepages)
	}
	return nil
}

// mapJob maps one hugepage file range at addr.
type mapJob struct {
	dir  string // directory of name (empty: name is absolute)
	name string
	off  int64
	addr uintptr
	size uintptr
}

// segFile names the hugepage file of segment seg of list l and the offset
// of the segment in it (eal_memalloc.c get_seg_fd, HUGEFILE_FMT).
func (h *Handle) segFile(l *segList, seg int) (string, int64) {
	if h.sfs {
		return h.prefix + "map_" + strconv.Itoa(l.idx), int64(seg) * int64(l.pageSz)
	}
	return h.prefix + "map_" + strconv.Itoa(l.idx*dpdk.RTE_MAX_MEMSEG_PER_LIST+seg), 0
}

// checkSeg validates memseg seg of l against the list's geometry before its
// address is trusted.
func (l *segList) checkSeg(seg int) error {
	ms := l.data + uintptr(seg)*dpdk.SizeofMemseg
	addr := uintptr(ld64(ms + dpdk.OffsetofMemsegAddr))
	size := uintptr(ld64(ms + dpdk.OffsetofMemsegLen))
	if want := l.base + uintptr(seg)*l.pageSz; addr != want || size != l.pageSz {
		return fmt.Errorf("shm: memseg %d/%d at %#x+%#x, want %#x+%#x: %w",
			l.idx, seg, addr, size, want, l.pageSz, ErrCorrupt)
	}
	return nil
}

// diffJobs compares the primary's used mask of l with the pages we map and
// returns the map jobs for newly used pages and the runs to unmap. Runs of
// consecutive pages become one job with --single-file-segments. It updates
// nothing.
func (h *Handle) diffJobs(l *segList) (maps []mapJob, unmaps []area, err error) {
	for w := range l.local {
		shared := atomic.LoadUint64((*uint64)(ptr(l.mask + uintptr(w)*8)))
		if w == len(l.local)-1 && l.n%64 != 0 {
			shared &= 1<<(l.n%64) - 1
		}
		add, del := shared&^l.local[w], l.local[w]&^shared
		for add != 0 {
			b := bits.TrailingZeros64(add)
			run := bits.TrailingZeros64(^(add >> b))
			if !h.sfs {
				run = 1
			}
			seg := w*64 + b
			for k := 0; k < run; k++ {
				if err := l.checkSeg(seg + k); err != nil {
					return nil, nil, err
				}
			}
			name, off := h.segFile(l, seg)
			maps = append(maps, mapJob{dir: l.hugeDir, name: name, off: off,
				addr: l.base + uintptr(seg)*l.pageSz, size: uintptr(run) * l.pageSz})
			if run == 64 {
				add = 0
			} else {
				add &^= (1<<run - 1) << b
			}
		}
		for del != 0 {
			b := bits.TrailingZeros64(del)
			run := bits.TrailingZeros64(^(del >> b))
			unmaps = append(unmaps, area{l.base + uintptr(w*64+b)*l.pageSz, uintptr(run) * l.pageSz})
			if run == 64 {
				del = 0
			} else {
				del &^= (1<<run - 1) << b
			}
		}
	}
	return maps, unmaps, nil
}

// setLocal marks the pages of [addr, addr+size) in l as mapped or not.
func (l *segList) setLocal(addr, size uintptr, used bool) {
	first := int((addr - l.base) / l.pageSz)
	last := int((addr + size - l.base) / l.pageSz)
	for s := first; s < last; s++ {
		if used {
			l.local[s/64] |= 1 << (s % 64)
		} else {
			l.local[s/64] &^= 1 << (s % 64)
		}
	}
}

func (h *Handle) listOf(addr uintptr) *segList {
	for _, l := range h.lists {
		if addr >= l.base && addr-l.base < l.length {
			return l
		}
	}
	return nil
}

// mapInitial maps every page the primary uses.
func (h *Handle) mapInitial() error {
	var jobs []mapJob
	if h.legacy {
		var err error
		if jobs, err = h.legacyJobs(); err != nil {
			return err
		}
	} else {
		for _, l := range h.lists {
			m, _, err := h.diffJobs(l)
			if err != nil {
				return err
			}
			jobs = append(jobs, m...)
		}
	}
	if err := h.runJobs(jobs); err != nil {
		return err
	}
	for _, j := range jobs {
		h.stats.Mappings++
		h.stats.Bytes += uint64(j.size)
		l := h.listOf(j.addr)
		h.stats.Pages += int(j.size / l.pageSz)
		l.setLocal(j.addr, j.size, true)
	}
	return nil
}

// legacyJobs reads <runtime dir>/hugepage_data, the page table a
// --legacy-mem primary writes (eal_legacy_hugepage_attach).
func (h *Handle) legacyJobs() ([]mapJob, error) {
	path := filepath.Join(h.runDir, hugepageDataFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("shm: legacy-mem page table: %w", err)
	}
	if len(b)%hugepageFileSize != 0 {
		return nil, fmt.Errorf("shm: %s is %d bytes, not a multiple of %d: %w", path, len(b), hugepageFileSize, ErrCorrupt)
	}
	var jobs []mapJob
	for off := 0; off < len(b); off += hugepageFileSize {
		size := uintptr(*(*uint64)(unsafe.Pointer(&b[off+hugepageFileSz])))
		if size == 0 {
			break
		}
		va := uintptr(*(*uint64)(unsafe.Pointer(&b[off+hugepageFileFinalVA])))
		name := cstr(b[off+hugepageFilePath : off+hugepageFilePath+pathMax])
		l := h.listOf(va)
		if l == nil || size != l.pageSz || va%size != 0 || va+size > l.base+l.length || name == "" {
			return nil, fmt.Errorf("shm: %s entry %d: page %#x+%#x %q outside the memseg lists: %w",
				path, off/hugepageFileSize, va, size, name, ErrCorrupt)
		}
		if h.hugeDirs[0] != "" {
			name = filepath.Join(h.hugeDirs[0], filepath.Base(name))
		}
		jobs = append(jobs, mapJob{name: name, addr: va, size: size})
	}
	return jobs, nil
}

// runJobs maps jobs over our PROT_NONE reservation, spread over h.workers
// goroutines; each opens the file, maps it and closes it again (the mapping
// keeps the page).
func (h *Handle) runJobs(jobs []mapJob) error {
	if len(jobs) == 0 {
		return nil
	}
	dirs := map[string]int{}
	defer func() {
		for _, fd := range dirs {
			unix.Close(fd)
		}
	}()
	for _, j := range jobs {
		if _, ok := dirs[j.dir]; !ok && j.dir != "" {
			fd, err := unix.Open(j.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("shm: open hugepage directory: %w", err)
			}
			dirs[j.dir] = fd
		}
	}
	w := min(h.workers, (len(jobs)+31)/32)
	var (
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	per := (len(jobs) + w - 1) / w
	for lo := 0; lo < len(jobs); lo += per {
		part := jobs[lo:min(lo+per, len(jobs))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range part {
				if first.Load() != nil {
					return
				}
				if err := h.mapJob(dirs, j); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

func (h *Handle) mapJob(dirs map[string]int, j mapJob) error {
	dirfd := unix.AT_FDCWD
	if j.dir != "" {
		dirfd = dirs[j.dir]
	}
	path, err := unix.BytePtrFromString(j.name)
	if err != nil {
		return fmt.Errorf("shm: hugepage file name %q: %w", j.name, err)
	}
	// Raw system calls: open, fstat, mmap and close of a hugetlbfs file take
	// microseconds and never wait for I/O; going through the scheduler's
	// blocking-syscall path for each of them let sysmon hand the P off and
	// start new threads (hundreds per attach on a loaded machine, costly in
	// a cgo binary), which made attaching several times slower.
	r, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(path)),
		unix.O_RDWR|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		if e == unix.ENOENT {
			// The primary maps a page whose file is gone: --huge-unlink.
			return fmt.Errorf("shm: hugepage file %s of a used page is missing (primary runs with --huge-unlink?): %w",
				filepath.Join(j.dir, j.name), ErrNoHugepages)
		}
		return fmt.Errorf("shm: open hugepage file %s: %w", filepath.Join(j.dir, j.name), e)
	}
	fd := int(r)
	defer unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	var st unix.Stat_t
	if _, _, e := unix.RawSyscall(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(&st)), 0); e != 0 {
		return fmt.Errorf("shm: stat %s: %w", j.name, e)
	}
	if st.Size < j.off+int64(j.size) {
		// Mapping beyond the end would SIGBUS on first touch.
		return fmt.Errorf("shm: hugepage file %s is %d bytes, need %d: %w", j.name, st.Size, j.off+int64(j.size), ErrCorrupt)
	}
	got, _, e := unix.RawSyscall6(unix.SYS_MMAP, j.addr, j.size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_FIXED, uintptr(fd), uintptr(j.off))
	if e != 0 {
		return fmt.Errorf("shm: map hugepage %s at %#x+%#x: %w", j.name, j.addr, j.size, e)
	}
	if got != j.addr {
		return fmt.Errorf("shm: map hugepage %s: kernel placed it at %#x, not %#x%s: %w", j.name, got, j.addr, heldBy(j.addr, j.size), ErrAddrInUse)
	}
	return nil
}

// Sync brings our map of the primary's memory up to date: pages the primary
// allocated since are mapped, pages it freed are unmapped (the range goes
// back to our PROT_NONE reservation). This is what the answer to
// mp_malloc_sync does (eal_memalloc_sync_with_primary).
func (h *Handle) Sync() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.detached {
		return ErrDetached
	}
	if h.eal || h.legacy {
		return nil // EAL syncs itself; legacy memory never changes
	}
	// Like sync_existing: hold the hugepage directory lock so no page file
	// appears or vanishes while we look.
	for _, dir := range h.hugeDirs {
		if dir == "" {
			continue
		}
		if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			defer unix.Close(fd) // closing drops the flock too
			_ = lockWait(fd, 2*time.Second)
		}
	}
	for _, l := range h.lists {
		maps, unmaps, err := h.diffJobs(l)
		if err != nil {
			return err
		}
		for _, a := range unmaps {
			if _, err := unix.MmapPtr(-1, 0, ptr(a.addr), a.size, unix.PROT_NONE,
				unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED); err != nil {
				return fmt.Errorf("shm: unmap freed pages %#x+%#x: %w", a.addr, a.size, err)
			}
			l.setLocal(a.addr, a.size, false)
		}
		if err := h.runJobs(maps); err != nil {
			return err
		}
		for _, j := range maps {
			l.setLocal(j.addr, j.size, true)
		}
	}
	return nil
}

func lockWait(fd int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil || !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// Contains reports whether [addr, addr+n) lies entirely inside memory this
// handle has mapped: rte_mem_config, the fbarrays, or hugepages in use.
// Check every pointer read from shared memory with it before following it.
func (h *Handle) Contains(addr, n uintptr) bool {
	if n == 0 || addr+n < addr {
		return false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.containsLocked(addr, n)
}

func (h *Handle) containsLocked(addr, n uintptr) bool {
	if h.detached {
		return false
	}
	for _, a := range h.areas {
		if a.contains(addr, n) {
			return true
		}
	}
	l := h.listOf(addr)
	if l == nil || addr+n-l.base > l.length {
		return false
	}
	first := int((addr - l.base) / l.pageSz)
	last := int((addr + n - 1 - l.base) / l.pageSz)
	for s := first; s <= last; s++ {
		if !h.pageUsed(l, s) {
			return false
		}
	}
	return true
}

// pageUsed reports whether segment s of l is mapped here: our own bitmap,
// or on the EAL path the primary's fbarray (EAL keeps in step with it).
func (h *Handle) pageUsed(l *segList, s int) bool {
	if h.eal {
		return atomic.LoadUint64((*uint64)(ptr(l.mask+uintptr(s/64)*8)))&(1<<(s%64)) != 0
	}
	return l.local[s/64]&(1<<(s%64)) != 0
}

// Segment describes one run of mapped hugepage memory.
type Segment struct {
	List   int     // memseg list index
	Addr   uintptr // start address
	Len    uintptr // bytes
	PageSz uintptr // page size
	Socket int     // NUMA socket
}

// Segments lists the runs of contiguous mapped pages.
func (h *Handle) Segments() []Segment {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []Segment
	for _, l := range h.lists {
		start := -1
		for s := 0; s <= l.n; s++ {
			used := s < l.n && h.pageUsed(l, s)
			if used && start < 0 {
				start = s
			} else if !used && start >= 0 {
				out = append(out, Segment{l.idx, l.base + uintptr(start)*l.pageSz,
					uintptr(s-start) * l.pageSz, l.pageSz, l.socket})
				start = -1
			}
		}
	}
	return out
}

// MemsegList describes one of the primary's memseg lists: an address range
// reserved for pages of one size on one socket.
type MemsegList struct {
	Index  int
	Base   uintptr
	Len    uintptr
	PageSz uintptr
	Socket int
	Used   int // pages in use now (the primary's fbarray)
}

// MemsegLists lists the primary's (internal, hugepage-backed) memseg lists.
func (h *Handle) MemsegLists() []MemsegList {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]MemsegList, 0, len(h.lists))
	for _, l := range h.lists {
		used := 0
		for w := 0; w < (l.n+63)/64; w++ {
			used += bits.OnesCount64(atomic.LoadUint64((*uint64)(ptr(l.mask + uintptr(w)*8))))
		}
		out = append(out, MemsegList{l.idx, l.base, l.length, l.pageSz, l.socket, used})
	}
	return out
}
