package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Options say which primary to attach to and how.
type Options struct {
	// FilePrefix is the primary's --file-prefix (it also names the hugepage
	// files); empty means the base name of RuntimeDir, or "rte".
	FilePrefix string
	// RuntimeDir overrides the runtime directory found from FilePrefix by
	// EAL's rules (see RuntimeDir).
	RuntimeDir string
	// HugeDir overrides the hugetlbfs directory the primary recorded in
	// <runtime dir>/hugepage_info (for every page size).
	HugeDir string
	// NoIPC skips binding an rte_mp secondary socket. Without it the
	// primary does not know about us and we do not follow its memory map
	// (mp_malloc_sync): fine for a short look (mrinspect), wrong for a
	// long-lived process.
	NoIPC bool
	// Workers is the number of goroutines that map hugepages; 0 means
	// GOMAXPROCS (at most 8).
	Workers int
}

// Handle is an attachment to a running DPDK primary: its rte_mem_config,
// fbarrays and hugepages mapped at the primary's addresses. Methods are safe
// for concurrent use. After Detach every address read through it is invalid.
type Handle struct {
	runDir  string
	prefix  string
	cfg     uintptr // rte_mem_config, mapped at the primary's mem_cfg_addr
	version uint32
	legacy  bool
	sfs     bool
	eal     bool // memory mapped by DPDK's EAL (build tag eal), not by us

	mu       sync.RWMutex // guards lists' local bitmaps and the mappings
	detached bool
	lists    []*segList
	areas    []area // config and fbarray mappings (not lists' pages)
	fds      []int  // fbarray files we hold a shared flock on
	hugeDirs map[uint64]string
	workers  int

	ch    *ctrlproto.Channel
	syncs atomic.Uint64
	stats AttachStats
}

// AttachStats reports what Attach did.
type AttachStats struct {
	Pages    int           // hugepages mapped
	Mappings int           // mmap calls for hugepages (runs count once)
	Bytes    uint64        // bytes of hugepage memory mapped
	Elapsed  time.Duration // wall time of Attach
}

type area struct{ addr, size uintptr }

func (a area) contains(addr, n uintptr) bool {
	return addr >= a.addr && n <= a.size && addr-a.addr <= a.size-n
}

// Attach maps the shared memory of the DPDK primary selected by opts into
// this process, at the primary's addresses, without DPDK's EAL. On failure
// nothing stays mapped, open or bound.
func Attach(opts Options) (*Handle, error) {
	start := time.Now()
	h := &Handle{prefix: opts.FilePrefix}
	if h.prefix == "" && opts.RuntimeDir != "" {
		h.prefix = filepath.Base(opts.RuntimeDir) // EAL names it after the prefix
	}
	if h.prefix == "" {
		h.prefix = DefaultFilePrefix
	}
	h.runDir = opts.RuntimeDir
	if h.runDir == "" {
		h.runDir = RuntimeDir(h.prefix)
	}
	h.workers = opts.Workers
	if h.workers <= 0 {
		h.workers = min(runtime.GOMAXPROCS(0), 8)
	}
	if err := h.attach(opts); err != nil {
		h.unmapAll()
		return nil, err
	}
	h.stats.Elapsed = time.Since(start)
	return h, nil
}

func (h *Handle) attach(opts Options) error {
	fd, addr, err := h.openConfig()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := h.mapFixed(fd, 0, addr, dpdk.SizeofMemConfig, unix.MAP_SHARED|unix.MAP_FIXED_NOREPLACE, "rte_mem_config"); err != nil {
		return err
	}
	h.areas = append(h.areas, area{addr, pageRound(dpdk.SizeofMemConfig)})
	if err := h.useConfig(addr); err != nil {
		return err
	}

	// The memzone table.
	mz := addr + dpdk.OffsetofMemConfigMemzones
	if _, err := h.attachFbarray(mz); err != nil {
		return err
	}
	if err := h.readHugeDirs(opts.HugeDir); err != nil {
		return err
	}
	if err := h.attachLists(); err != nil {
		return err
	}
	if err := h.mapInitial(); err != nil {
		return err
	}
	if !opts.NoIPC {
		if err := h.openChannel(); err != nil {
			return err
		}
	}
	return nil
}

// openConfig opens <runtime dir>/config, checks that a live primary holds
// it, its magic and its DPDK version, and returns the open file and the
// address the primary mapped it at (mem_cfg_addr). It maps nothing.
func (h *Handle) openConfig() (int, uintptr, error) {
	cfgPath := filepath.Join(h.runDir, configFile)
	fd, err := unix.Open(cfgPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, 0, h.noConfig(cfgPath, err)
	}
	addr, err := h.checkConfig(fd, cfgPath)
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, addr, nil
}

func (h *Handle) checkConfig(fd int, cfgPath string) (uintptr, error) {
	if err := checkPrimaryLock(fd, cfgPath); err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("shm: stat %s: %w", cfgPath, err)
	}
	if st.Size < dpdk.SizeofMemConfig {
		return 0, fmt.Errorf("shm: %s is %d bytes, rte_mem_config needs %d: %w",
			cfgPath, st.Size, dpdk.SizeofMemConfig, ErrCorrupt)
	}
	var hdr [dpdk.OffsetofMemConfigMemzones]byte
	if _, err := unix.Pread(fd, hdr[:], 0); err != nil {
		return 0, fmt.Errorf("shm: read %s: %w", cfgPath, err)
	}
	var tail [8]byte
	if _, err := unix.Pread(fd, tail[:], dpdk.OffsetofMemConfigMemCfgAddr); err != nil {
		return 0, fmt.Errorf("shm: read %s: %w", cfgPath, err)
	}
	magic := *(*uint32)(unsafe.Pointer(&hdr[dpdk.OffsetofMemConfigMagic]))
	h.version = *(*uint32)(unsafe.Pointer(&hdr[dpdk.OffsetofMemConfigVersion]))
	if magic != dpdk.RTE_MAGIC {
		return 0, fmt.Errorf("shm: %s: magic %#x, want %#x (primary still initialising, or not an rte_mem_config): %w",
			cfgPath, magic, dpdk.RTE_MAGIC, ErrCorrupt)
	}
	if err := checkVersion(h.version); err != nil {
		return 0, err
	}
	if hdr[dpdk.OffsetofMemConfigMpStatus] == mpStatusDisabled {
		return 0, fmt.Errorf("shm: primary disabled multi-process support (rte_mp_disable): %w", ErrNoPrimary)
	}
	addr := uintptr(*(*uint64)(unsafe.Pointer(&tail[0])))
	if addr == 0 || addr%uintptr(os.Getpagesize()) != 0 {
		return 0, fmt.Errorf("shm: %s: mem_cfg_addr %#x is not a page address: %w", cfgPath, addr, ErrCorrupt)
	}
	return addr, nil
}

// useConfig takes the mapped rte_mem_config at addr into use.
func (h *Handle) useConfig(addr uintptr) error {
	h.cfg = addr
	h.legacy = ld32(addr+dpdk.OffsetofMemConfigLegacyMem) != 0
	h.sfs = ld32(addr+dpdk.OffsetofMemConfigSingleFileSegments) != 0
	return nil
}

// noConfig explains a missing or unopenable config file.
func (h *Handle) noConfig(cfgPath string, err error) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("shm: open %s: %w", cfgPath, err)
	}
	if _, serr := os.Stat(h.runDir); serr != nil {
		return fmt.Errorf("shm: no runtime directory %s (is a primary with --file-prefix %s running?): %w",
			h.runDir, h.prefix, ErrNoPrimary)
	}
	// --in-memory primaries create the runtime dir (telemetry sockets)
	// but no shared config: they cannot have secondaries.
	for _, s := range []string{"dpdk.telemetry.v2", "telemetry", "mp_socket"} {
		if _, serr := os.Stat(filepath.Join(h.runDir, s)); serr == nil {
			return fmt.Errorf("shm: %s has no config: primary runs with --in-memory or without shared config: %w",
				h.runDir, ErrNoHugepages)
		}
	}
	return fmt.Errorf("shm: %s has no config: %w", h.runDir, ErrNoPrimary)
}

// checkPrimaryLock tests the primary's fcntl write lock on the memsegs part
// of config (lib/eal/linux/eal.c wr_lock). Nobody holding it means the
// primary is gone.
func checkPrimaryLock(fd int, path string) error {
	lk := unix.Flock_t{
		Type:   unix.F_WRLCK,
		Whence: 0,
		Start:  dpdk.OffsetofMemConfigMemsegs,
		Len:    dpdk.SizeofMemsegList * dpdk.RTE_MAX_MEMSEG_LISTS,
	}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &lk); err != nil {
		return fmt.Errorf("shm: F_GETLK %s: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return fmt.Errorf("shm: %s is not locked by any process (primary died?): %w", path, ErrStalePrimary)
	}
	return nil
}

// checkVersion compares year and month of RTE_VERSION words.
func checkVersion(v uint32) error {
	if v>>16 != dpdk.RTE_VERSION>>16 {
		return &VersionError{Primary: v, Build: dpdk.RTE_VERSION}
	}
	return nil
}

func pageRound(n uintptr) uintptr {
	p := uintptr(os.Getpagesize())
	return (n + p - 1) &^ (p - 1)
}

// mapFixed maps fd at exactly addr. flags carry MAP_SHARED and either
// MAP_FIXED_NOREPLACE (a range nobody may hold) or MAP_FIXED (a range we
// reserved ourselves).
func (h *Handle) mapFixed(fd int, off int64, addr, size uintptr, flags int, what string) error {
	p, err := unix.MmapPtr(fd, off, ptr(addr), size, unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("shm: map %s at %#x+%#x%s: %w", what, addr, size, heldBy(addr, size), ErrAddrInUse)
		}
		return fmt.Errorf("shm: map %s at %#x+%#x: %w", what, addr, size, err)
	}
	if uintptr(p) != addr {
		// A kernel without MAP_FIXED_NOREPLACE treats addr as a hint.
		_ = unix.MunmapPtr(p, size)
		return fmt.Errorf("shm: map %s: kernel placed it at %#x, not %#x%s: %w", what, uintptr(p), addr, heldBy(addr, size), ErrAddrInUse)
	}
	return nil
}

// ealCleanup is rte_eal_cleanup on builds with the eal tag.
var ealCleanup func()

// unmapAll releases everything; used by Detach and by a failed Attach.
func (h *Handle) unmapAll() {
	if h.ch != nil {
		h.ch.Close()
		h.ch = nil
	}
	if h.eal {
		h.lists, h.areas = nil, nil
		if h.cfg != 0 && ealCleanup != nil {
			ealCleanup()
		}
		h.cfg = 0
		return
	}
	for _, l := range h.lists {
		if l.reserved {
			_ = unix.MunmapPtr(ptr(l.base), l.length)
		}
	}
	h.lists = nil
	for _, a := range h.areas {
		_ = unix.MunmapPtr(ptr(a.addr), a.size)
	}
	h.areas = nil
	for _, fd := range h.fds {
		unix.Close(fd)
	}
	h.fds = nil
	h.cfg = 0
}

// Detach unmaps everything, closes the rte_mp socket and removes its file.
// Calling it twice returns ErrDetached.
func (h *Handle) Detach() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.detached {
		return ErrDetached
	}
	h.detached = true
	h.unmapAll()
	return nil
}

// ReleaseFiles closes what this handle holds open in the primary's runtime
// directory — the fbarray files and their shared flocks, the rte_mp socket
// (its file removed) — and keeps every mapping in place. It is for a primary
// that died while this process may still touch its memory (buffers an
// application holds): its successor, started with the same file prefix,
// reuses those file names, and EAL refuses to initialise an fbarray that
// another process holds a lock on (rte_fbarray_init: EBUSY), so holding them
// would keep the new primary from starting. The successor then rewrites
// those files (they are the same inodes): the config and fbarray mappings
// show its data from then on, and only the hugepage mappings keep the dead
// primary's (its successor unlinks the old page files and makes new ones).
// Detach unmaps later. A handle
// attached through EAL (build tag eal) holds nothing of its own: no-op.
func (h *Handle) ReleaseFiles() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.detached || h.eal {
		return
	}
	if h.ch != nil {
		h.ch.Close()
		h.ch = nil
	}
	for _, fd := range h.fds {
		// Unlock explicitly: the mapping keeps the open file description
		// alive after close, and with it the flock.
		_ = unix.Flock(fd, unix.LOCK_UN)
		unix.Close(fd)
	}
	h.fds = nil
}

// RuntimeDir returns the primary's runtime directory.
func (h *Handle) RuntimeDir() string { return h.runDir }

// FilePrefix returns the primary's --file-prefix.
func (h *Handle) FilePrefix() string { return h.prefix }

// Version returns the primary's RTE_VERSION word (see VersionString).
func (h *Handle) Version() uint32 { return h.version }

// LegacyMem reports whether the primary runs with --legacy-mem.
func (h *Handle) LegacyMem() bool { return h.legacy }

// SingleFileSegments reports whether the primary runs with
// --single-file-segments.
func (h *Handle) SingleFileSegments() bool { return h.sfs }

// MemConfig returns the address of the primary's rte_mem_config.
func (h *Handle) MemConfig() uintptr { return h.cfg }

// TscHz returns the TSC frequency the primary measured.
func (h *Handle) TscHz() uint64 { return ld64(h.cfg + dpdk.OffsetofMemConfigTscHz) }

// Stats returns what Attach mapped and how long it took.
func (h *Handle) Stats() AttachStats { return h.stats }

// Syncs returns how many mp_malloc_sync/rollback requests were answered.
func (h *Handle) Syncs() uint64 { return h.syncs.Load() }

// Channel returns the rte_mp channel bound for this handle (nil with
// Options.NoIPC or on the EAL path).
func (h *Handle) Channel() *ctrlproto.Channel { return h.ch }
