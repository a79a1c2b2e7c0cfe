package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/dpdkref"
)

func init() {
	register(Suite{Name: "ring", Doc: "rte_ring enqueue+dequeue pairs, SP/SC and MP/MC, single-object calls and bursts 1/8/32", Run: runRing})
}

func runRing(env *Env) ([]Result, error) {
	addr, err := dpdkref.RingCreate(dpdkref.Unique("mrbench_ring"), 4096, 0)
	if err != nil {
		return nil, err
	}
	defer dpdkref.RingFree(addr)
	r, err := fastpath.RingAt(addr)
	if err != nil {
		return nil, err
	}
	var res []Result
	for _, mode := range []int{dpdkref.ModeSingle, dpdkref.ModeMulti} {
		// Single-object calls on both sides (rte_ring_sp_enqueue +
		// rte_ring_sc_dequeue, as ring_perf_autotest's "single").
		var body func(uint64)
		name := "SP/SC single"
		if mode == dpdkref.ModeSingle {
			body = func(n uint64) {
				obj := uintptr(1)
				for i := uint64(0); i < n; i++ {
					r.SPEnqueue(obj)
					obj, _ = r.SCDequeue()
				}
			}
		} else {
			name = "MP/MC single"
			body = func(n uint64) {
				obj := uintptr(1)
				for i := uint64(0); i < n; i++ {
					r.MPEnqueue(obj)
					obj, _ = r.MCDequeue()
				}
			}
		}
		fmt.Fprintf(env.Progress, "  ring: %s\n", name)
		multi := mode == dpdkref.ModeMulti
		goNs, cNs := measurePair(env, goLoop(body), func(n uint64) float64 { return dpdkref.BenchRingSingle(addr, n, multi) })
		res = append(res, result("ring", name, goNs, cNs))
		for _, burst := range []int{1, 8, 32} {
			objs := make([]uintptr, burst)
			for i := range objs {
				objs[i] = uintptr(i + 1)
			}
			var body func(uint64)
			name := "SP/SC"
			if mode == dpdkref.ModeSingle {
				body = func(n uint64) {
					for i := uint64(0); i < n; i++ {
						r.SPEnqueueBurst(objs)
						r.SCDequeueBurst(objs)
					}
				}
			} else {
				name = "MP/MC"
				body = func(n uint64) {
					for i := uint64(0); i < n; i++ {
						r.MPEnqueueBurst(objs)
						r.MCDequeueBurst(objs)
					}
				}
			}
			name = fmt.Sprintf("%s burst %d", name, burst)
			fmt.Fprintf(env.Progress, "  ring: %s\n", name)
			goNs, cNs := measurePair(env, goLoop(body), func(n uint64) float64 { return dpdkref.BenchRing(addr, uint32(burst), n, mode) })
			res = append(res, result("ring", name, goNs, cNs))
		}
	}
	if env.DPDKTest {
		if err := ringPerfAutotest(env); err != nil {
			fmt.Fprintf(env.Progress, "  ring: dpdk-test ring_perf_autotest skipped: %v\n", err)
		}
	}
	return res, nil
}

var perfLine = regexp.MustCompile(`^legacy APIs: (SP/SC|MP/MC): (single|burst|bulk)(?: \(size: (\d+)\))?: ([0-9.]+)$`)

// ringPerfAutotest runs DPDK's own ring_perf_autotest (dpdk-test, one lcore,
// --no-huge) and prints its single-thread legacy-API figures converted from
// TSC cycles per enqueue+dequeue to ns.
func ringPerfAutotest(env *Env) error {
	bin, err := exec.LookPath("dpdk-test")
	if err != nil {
		return fmt.Errorf("dpdk-test not found (Debian package dpdk-dev, 'make deps'): %w", err)
	}
	prefix := fmt.Sprintf("gmbench%d", os.Getpid())
	defer os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
	lcore := "0"
	if env.CPU >= 0 {
		lcore = strconv.Itoa(env.CPU)
	}
	cmd := exec.Command(bin, "--no-pci", "--no-huge", "-m", "256", "-l", lcore, "--file-prefix", prefix, "--log-level=*:error")
	cmd.Stdin = strings.NewReader("ring_perf_autotest\n")
	fmt.Fprintf(env.Progress, "  ring: running dpdk-test ring_perf_autotest (about a minute) …\n")
	out, err := cmd.CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("Test OK")) {
		return fmt.Errorf("dpdk-test: %w", err)
	}
	hz := float64(dpdkref.TscHz())
	fmt.Printf("dpdk-test ring_perf_autotest (same machine, same run; TSC %.0f MHz; ns per enqueue+dequeue):\n", hz/1e6)
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		m := perfLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		cyc, _ := strconv.ParseFloat(m[4], 64)
		size := m[3]
		if size == "" {
			size = "1"
		}
		fmt.Printf("  %s %s %s: %.2f cycles = %.2f ns\n", m[1], m[2], size, cyc, cyc/hz*1e9)
		n++
		if n == 10 { // single, burst and bulk; the empty-dequeue lines follow
			break
		}
	}
	fmt.Println()
	return nil
}
