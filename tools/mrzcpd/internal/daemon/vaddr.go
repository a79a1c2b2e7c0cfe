package daemon

/*
#include <stdint.h>
#include <rte_memory.h>

struct mr_msl_range { uint64_t lo, hi, bad; int n, outside; };

static int mr_msl_check(const struct rte_memseg_list *msl, void *arg)
{
	struct mr_msl_range *r = arg;
	uint64_t a = (uint64_t)(uintptr_t)msl->base_va;
	if (a == 0 || msl->len == 0)
		return 0;
	r->n++;
	if (a < r->lo || a + msl->len > r->hi) {
		if (r->outside++ == 0)
			r->bad = a;
	}
	return 0;
}

// mr_msl_outside counts the memseg lists not inside [lo, hi) and gives the
// first one's address in *bad.
static int mr_msl_outside(uint64_t lo, uint64_t hi, uint64_t *bad, int *n)
{
	struct mr_msl_range r = { lo, hi, 0, 0, 0 };
	rte_memseg_list_walk(mr_msl_check, &r);
	*bad = r.bad;
	*n = r.n;
	return r.outside;
}
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Where EAL maps the shared memory ([eal] virtaddr, EAL --base-virtaddr).
//
// Every application maps the daemon's memory at the daemon's addresses, so
// the range must be free in every process that attaches, at any time. DPDK's
// own default (0x100000000, 4 GiB, chosen for devices that can only address
// 39 or 40 bits) is not: since Go 1.26 the Go heap starts at a random
// 64 MiB-aligned address below 1<<46 (64 TiB; GOEXPERIMENT
// randomizedheapbase64, on by default on linux/amd64), so an application's
// heap can sit on it (ErrAddrInUse at attach), and so can the daemon's own
// Go heap, which starts before EAL: EAL then gives up on its hint and takes
// whatever the kernel offers near the top of the address space (seen:
// a memseg list at 0x7fdc33e00000), where every process has its thread
// stacks and libraries.
//
// DefaultVirtaddr, 72 TiB, lies where no process maps by itself: above the
// randomised Go heaps (below 64 TiB) and the non-randomised ones
// (0xc000000000 up), below PIE executables and their brk heaps (from
// 0x555555554000, 85 TiB, with ASLR up to 1 TiB above) and far below the
// kernel's top-down mmap area (just under 128 TiB). The window is
// [base-VirtaddrBelow, base+VirtaddrSpan): EAL maps its rte_mem_config just
// below the base, and from the base the fbarrays and the memseg lists (four
// of 16 GiB on DPDK 22.11 defaults) follow; the daemon checks the window is
// free in its own process before EAL init and that every memseg list ended
// up inside it afterwards, and refuses to serve memory anywhere else.
//
// Devices behind an IOMMU that cannot address 47 bits with IOVA as VA need
// a low address: set virtaddr=0x100000000 (DPDK's default) and accept the
// collision risk above, or use IOVA as PA.
const (
	DefaultVirtaddr = 0x4800_0000_0000
	VirtaddrSpan    = 128 << 30
	VirtaddrBelow   = 2 << 20
)

// baseVirtaddr returns the base EAL is to use and whether mrzcpd passes it
// (false: extra_args already carry --base-virtaddr).
func (d *daemon) baseVirtaddr() (uint64, bool) {
	e := d.cfg.EAL
	for k, a := range e.ExtraArgs {
		v, ok := strings.CutPrefix(a, "--base-virtaddr=")
		if !ok && a == "--base-virtaddr" && k+1 < len(e.ExtraArgs) {
			v, ok = e.ExtraArgs[k+1], true
		}
		if ok {
			n, _ := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
			return n, false
		}
	}
	if e.Virtaddr != 0 {
		return e.Virtaddr, true
	}
	return DefaultVirtaddr, true
}

// checkVirtaddrFree fails when one of this process's mappings overlaps
// [base, base+VirtaddrSpan): EAL would silently map elsewhere.
func checkVirtaddrFree(base uint64) error {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil // cannot tell; the check after EAL init still runs
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		rng, _, _ := strings.Cut(line, " ")
		los, his, _ := strings.Cut(rng, "-")
		lo, err1 := strconv.ParseUint(los, 16, 64)
		hi, err2 := strconv.ParseUint(his, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if lo < base+VirtaddrSpan && hi > base-VirtaddrBelow {
			return fmt.Errorf("[eal] virtaddr %#x: mrzcpd itself already maps %s there (the window is %#x+%d GiB): choose another virtaddr (default %#x)",
				base, strings.Join(strings.Fields(line), " "), base, VirtaddrSpan>>30, uint64(DefaultVirtaddr))
		}
	}
	return nil
}

// checkMemsegLists fails when EAL placed a memseg list outside
// [base, base+VirtaddrSpan) (it takes any address when its hint is taken).
func checkMemsegLists(base uint64) error {
	var bad C.uint64_t
	var n C.int
	if out := C.mr_msl_outside(C.uint64_t(base-VirtaddrBelow), C.uint64_t(base+VirtaddrSpan), &bad, &n); out > 0 {
		return fmt.Errorf("EAL placed %d of %d memseg lists outside the [eal] virtaddr window %#x+%d GiB (first at %#x): applications could not map them; another virtaddr (default %#x) or fewer EAL memory types",
			int(out), int(n), base, VirtaddrSpan>>30, uint64(bad), uint64(DefaultVirtaddr))
	}
	return nil
}
