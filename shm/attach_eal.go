//go:build eal

package shm

/*
#cgo pkg-config: libdpdk
#include <stdlib.h>
#include <rte_eal.h>
#include <rte_errno.h>

static int gm_eal_init(int argc, char **argv) { return rte_eal_init(argc, argv); }
static int gm_errno(void) { return rte_errno; }
static const char *gm_strerror(int e) { return rte_strerror(e); }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// ErrEAL: rte_eal_init failed, or EAL was already initialised in this
// process (it can be only once).
var ErrEAL = errors.New("shm: DPDK EAL initialisation failed")

var ealOnce struct {
	sync.Mutex
	done bool
}

// EALOptions add to Options for AttachEAL.
type EALOptions struct {
	// Lcores is EAL's --lcores value; default "100@0": an lcore id no
	// primary of ours uses (mempool caches are per lcore id) on CPU 0.
	Lcores string
	// Args are extra EAL arguments.
	Args []string
	// SkipProbe skips the pure-Go attach-and-detach run before
	// rte_eal_init (benchmarks of EAL alone); errors then come as ErrEAL.
	SkipProbe bool
}

// AttachEAL attaches like Attach, but lets DPDK's EAL map the memory:
// rte_eal_init(--proc-type=secondary --no-pci --file-prefix …) through cgo.
// It returns the same Handle type; its look-ups read the memory EAL mapped.
// EAL can be initialised once per process: a second call fails with
// ErrEAL. Detach calls rte_eal_cleanup.
func AttachEAL(opts Options, eo EALOptions) (*Handle, error) {
	start := time.Now()
	ealOnce.Lock()
	defer ealOnce.Unlock()
	if ealOnce.done {
		return nil, fmt.Errorf("%w: EAL already initialised in this process", ErrEAL)
	}
	h := &Handle{prefix: opts.FilePrefix, eal: true}
	if h.prefix == "" {
		h.prefix = DefaultFilePrefix
	}
	h.runDir = opts.RuntimeDir
	if h.runDir == "" {
		h.runDir = RuntimeDir(h.prefix)
	}
	if opts.RuntimeDir != "" {
		// EAL finds the runtime dir from the prefix and RUNTIME_DIRECTORY.
		return nil, fmt.Errorf("%w: Options.RuntimeDir is not supported on the EAL path", ErrEAL)
	}
	// Run the pure-Go attach first (and undo it): every problem it can
	// name — no primary, stale, version, no hugepages, --huge-unlink,
	// occupied addresses, corrupt files — gets the same typed error on
	// both paths instead of EAL's "Cannot allocate memory". It costs a few
	// milliseconds next to rte_eal_init's hundreds.
	var addr uintptr
	if eo.SkipProbe {
		fd, a, err := h.openConfig()
		if err != nil {
			return nil, err
		}
		_ = unix.Close(fd)
		addr = a
	} else {
		probe, err := Attach(Options{FilePrefix: h.prefix, HugeDir: opts.HugeDir, NoIPC: true})
		if err != nil {
			return nil, err
		}
		addr = probe.MemConfig()
		if err := probe.Detach(); err != nil {
			return nil, err
		}
	}
	if eo.Lcores == "" {
		eo.Lcores = "100@0"
	}
	args := []string{"gomarsio", "--proc-type=secondary", "--no-pci", "--file-prefix", h.prefix,
		"--lcores", eo.Lcores, "--log-level", "lib.eal:error", "--no-telemetry"}
	if opts.HugeDir != "" {
		args = append(args, "--huge-dir", opts.HugeDir)
	}
	args = append(args, eo.Args...)
	// rte_eal_init permutes and overwrites argv entries: free our own copy
	// of the pointers, not argv.
	cstrs := make([]*C.char, len(args))
	for i, a := range args {
		cstrs[i] = C.CString(a)
	}
	defer func() {
		for _, p := range cstrs {
			C.free(unsafe.Pointer(p))
		}
	}()
	argv := (**C.char)(C.malloc(C.size_t(len(args)+1) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(argv))
	av := unsafe.Slice(argv, len(args)+1)
	copy(av, cstrs)
	av[len(args)] = nil
	// EAL pins the calling thread's affinity to its main lcore.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ealOnce.done = true
	if C.gm_eal_init(C.int(len(args)), argv) < 0 {
		e := C.gm_errno()
		return nil, fmt.Errorf("%w: rte_eal_init(%s): %s", ErrEAL, strings.Join(args[1:], " "), C.GoString(C.gm_strerror(e)))
	}
	fail := func(err error) (*Handle, error) {
		C.rte_eal_cleanup()
		return nil, err
	}
	if err := h.useConfig(addr); err != nil {
		return fail(err)
	}
	h.areas = append(h.areas, area{addr, pageRound(dpdk.SizeofMemConfig)})
	if _, err := h.attachFbarray(addr + dpdk.OffsetofMemConfigMemzones); err != nil {
		return fail(err)
	}
	if err := h.attachLists(); err != nil {
		return fail(err)
	}
	for _, s := range h.Segments() {
		h.stats.Mappings++
		h.stats.Pages += int(s.Len / s.PageSz)
		h.stats.Bytes += uint64(s.Len)
	}
	if !opts.NoIPC {
		if err := h.openChannel(); err != nil {
			return fail(err)
		}
	}
	h.stats.Elapsed = time.Since(start)
	return h, nil
}

func init() {
	ealCleanup = func() { C.rte_eal_cleanup() }
}
