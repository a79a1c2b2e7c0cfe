package doctor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ProbeEnv is the environment variable that turns a process into the
// address-range probe (see ProbeMain).
const ProbeEnv = "GOMARSIO_DOCTOR_PROBE"

// addrRange is one range of the primary's address space.
type addrRange struct {
	Addr uint64 `json:"addr"`
	Len  uint64 `json:"len"`
	What string `json:"what"`
}

// probeResult says whether a range was free in the probing process.
type probeResult struct {
	addrRange
	Free bool   `json:"free"`
	Err  string `json:"err,omitempty"` // why not, with what occupies it
}

// ProbeMain must be the first call in main of a program that runs Run
// (mrdoctor, and TestMain of tests): when ProbeEnv is set the process is
// the fresh child that tries the primary's address ranges; it prints the
// verdicts as JSON on stdout and exits. Otherwise it returns at once.
func ProbeMain() {
	spec := os.Getenv(ProbeEnv)
	if spec == "" {
		return
	}
	var ranges []addrRange
	if err := json.Unmarshal([]byte(spec), &ranges); err != nil {
		fmt.Fprintf(os.Stderr, "doctor probe: bad %s: %v\n", ProbeEnv, err)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(probeRanges(ranges)); err != nil {
		os.Exit(2)
	}
	os.Exit(0)
}

// probeRanges reserves each range PROT_NONE with MAP_FIXED_NOREPLACE (as
// the attach does before mapping pages there), then releases it.
func probeRanges(ranges []addrRange) []probeResult {
	out := make([]probeResult, len(ranges))
	for i, rg := range ranges {
		out[i].addrRange = rg
		p, err := unix.MmapPtr(-1, 0, ptr(uintptr(rg.Addr)), uintptr(rg.Len), unix.PROT_NONE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED_NOREPLACE)
		switch {
		case errors.Is(err, unix.EEXIST):
			out[i].Err = "already mapped: " + occupants(rg.Addr, rg.Addr+rg.Len)
		case err != nil:
			out[i].Err = err.Error()
		case uint64(uintptr(p)) != rg.Addr:
			// A kernel older than 4.17 takes MAP_FIXED_NOREPLACE as a hint.
			_ = unix.MunmapPtr(p, uintptr(rg.Len))
			out[i].Err = fmt.Sprintf("kernel placed it at %#x (no MAP_FIXED_NOREPLACE before Linux 4.17?)", uintptr(p))
		default:
			_ = unix.MunmapPtr(p, uintptr(rg.Len))
			out[i].Free = true
		}
	}
	return out
}

// occupants describes this process's mappings overlapping [lo, hi).
func occupants(lo, hi uint64) string {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "(cannot read /proc/self/maps)"
	}
	var out []string
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 5 {
			continue
		}
		a, b, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(a, 16, 64)
		end, _ := strconv.ParseUint(b, 16, 64)
		if start < hi && lo < end {
			name := "[anon]"
			if len(f) >= 6 {
				name = f[5]
			}
			out = append(out, fmt.Sprintf("%#x-%#x %s", start, end, name))
		}
	}
	if len(out) == 0 {
		return "(nothing visible in /proc/self/maps)"
	}
	return list(out, 3)
}

// probeFresh runs the probe in a fresh process (ProbeExe, default this
// executable). It falls back to probing in this process when that fails,
// and says so.
func (r *runner) probeFresh(ranges []addrRange) ([]probeResult, string) {
	spec, _ := json.Marshal(ranges)
	exe := r.opts.ProbeExe
	if exe == "" {
		exe = "/proc/self/exe"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), ProbeEnv+"="+string(spec))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res []probeResult
	if err == nil {
		err = json.Unmarshal(out, &res)
	}
	if err == nil && len(res) == len(ranges) {
		return res, "a fresh process"
	}
	return probeRanges(ranges), fmt.Sprintf("this process (fresh-process probe failed: %v %s)", err, strings.TrimSpace(stderr.String()))
}
