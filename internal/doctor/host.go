package doctor

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/unix"
)

// probeOutcome is the address-range probe's verdicts and where it ran.
type probeOutcome struct {
	ranges  []addrRange
	results []probeResult
	where   string
}

// host: ASLR, the primary's address ranges in a fresh process, CPU
// features, GOMAXPROCS against the CPU set.
func (r *runner) host(probe *probeOutcome) {
	aslr, aerr := os.ReadFile(r.opts.path("/proc/sys/kernel/randomize_va_space"))
	aslrOn := aerr == nil && strings.TrimSpace(string(aslr)) != "0"

	var busy []string
	if probe != nil {
		for _, p := range probe.results {
			if !p.Free {
				busy = append(busy, fmt.Sprintf("%s %#x+%#x: %s", p.What, p.Addr, p.Len, p.Err))
			}
		}
	}

	switch {
	case aerr != nil:
		r.add("aslr", Warn, fmt.Sprintf("cannot read randomize_va_space: %v", aerr), "")
	case !aslrOn:
		r.add("aslr", OK, "off (kernel.randomize_va_space=0)", "")
	case len(busy) > 0:
		r.add("aslr", Warn, fmt.Sprintf("on (kernel.randomize_va_space=%s) and a primary's address range is taken in a fresh process", strings.TrimSpace(string(aslr))),
			"as root: sysctl -w kernel.randomize_va_space=0, or move the daemon's memory with [eal] virtaddr= (EAL --base-virtaddr)")
	default:
		r.add("aslr", OK, fmt.Sprintf("on (kernel.randomize_va_space=%s): fine while the primary's ranges are free in new processes (address-ranges)", strings.TrimSpace(string(aslr))), "")
	}

	switch {
	case probe == nil:
		r.add("address-ranges", Warn, "not checked: no live primary of this build's DPDK version (see primary, dpdk-version)", "")
	case len(busy) > 0:
		r.add("address-ranges", Fail, fmt.Sprintf("in %s: %s", probe.where, list(busy, 3)),
			"an application cannot map the primary's memory there: start mrzcpd with its default [eal] virtaddr (0x480000000000) or another free area, or disable ASLR (sysctl -w kernel.randomize_va_space=0)")
	default:
		var total uint64
		for _, rg := range probe.ranges {
			total += rg.Len
		}
		r.add("address-ranges", OK, fmt.Sprintf("all %s of the primary (%d GiB of address space from %#x) are free in %s",
			plural(len(probe.ranges), "range"), total>>30, probe.ranges[0].Addr, probe.where), "")
	}

	r.addressWindow(probe)
	r.cpu()
	r.gomaxprocs()
}

// goHeapTop: since Go 1.26 (GOEXPERIMENT randomizedheapbase64, on by
// default on 64-bit) a Go process starts its heap at a random address
// below 1<<46; mrzcpd's default [eal] virtaddr (0x480000000000) lies above.
const goHeapTop = 1 << 46

// addressWindow warns when the primary's memory lies where a Go process may
// place its randomised heap: attaching then fails now and then
// (ErrAddrInUse), in whichever application drew that address.
func (r *runner) addressWindow(probe *probeOutcome) {
	if probe == nil || len(probe.ranges) == 0 {
		return
	}
	lo := probe.ranges[0].Addr
	for _, rg := range probe.ranges {
		lo = min(lo, rg.Addr)
	}
	if lo < goHeapTop {
		r.add("address-window", Warn, fmt.Sprintf("the primary's memory starts at %#x, below 64 TiB, where Go 1.26+ processes place their heap at random: an attach can fail by chance (address in use)", lo),
			"start mrzcpd without [eal] virtaddr (its default is 0x480000000000) or with one between 64 and 85 TiB")
		return
	}
	r.add("address-window", OK, fmt.Sprintf("the primary's memory starts at %#x, above the randomised Go heaps (64 TiB)", lo), "")
}

func (r *runner) cpu() {
	if runtime.GOARCH != "amd64" {
		r.add("cpu-features", Warn, fmt.Sprintf("%s: the fast paths use their pure-Go fallbacks (assembly is amd64 only)", runtime.GOARCH),
			"expect lower packet rates than on amd64")
		return
	}
	yes := func(f cpuid.FeatureID) string {
		if cpuid.CPU.Supports(f) {
			return "yes"
		}
		return "no"
	}
	detail := fmt.Sprintf("%s: SSE4.2 %s (CRC32 flow hash), AVX2 %s, AVX-512F %s, AVX-512BW %s",
		strings.TrimSpace(cpuid.CPU.BrandName), yes(cpuid.SSE42), yes(cpuid.AVX2), yes(cpuid.AVX512F), yes(cpuid.AVX512BW))
	if !cpuid.CPU.Supports(cpuid.SSE42) {
		r.add("cpu-features", Warn, detail, "no SSE4.2: flow hashing runs its pure-Go fallback (slower); DPDK's own x86 builds also expect SSE4.2")
		return
	}
	r.add("cpu-features", OK, detail, "")
}

func (r *runner) gomaxprocs() {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		r.add("gomaxprocs", Warn, fmt.Sprintf("sched_getaffinity: %v", err), "")
		return
	}
	n, procs := set.Count(), runtime.GOMAXPROCS(0)
	env := ""
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		env = " ($GOMAXPROCS=" + v + ")"
	}
	detail := fmt.Sprintf("GOMAXPROCS %d%s, CPU set %s (%s of %d online)", procs, env, cpuList(&set), plural(n, "CPU"), runtime.NumCPU())
	switch {
	case procs > n:
		r.add("gomaxprocs", Warn, detail+": more Ps than CPUs to run them", fmt.Sprintf("unset GOMAXPROCS or set it to at most %d", n))
	default:
		r.add("gomaxprocs", OK, detail, "")
	}
}

// cpuList formats a CPU set as "0-3,8".
func cpuList(set *unix.CPUSet) string {
	var parts []string
	for i := 0; i < len(set)*64; i++ {
		if !set.IsSet(i) {
			continue
		}
		j := i
		for j+1 < len(set)*64 && set.IsSet(j+1) {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(i))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", i, j))
		}
		i = j
	}
	return strings.Join(parts, ",")
}
