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

	"github.com/gomarsio/marsio/internal/dpdkref"
	"github.com/gomarsio/marsio/internal/hashref"
)

func init() {
	register(Suite{
		Name: "hash",
		Doc:  "flow distribution hash: flowhash burst vs a C twin (same parsing and key, rte_hash_crc; sym_xxhash: libxxhash's XXH64) and vs symmetric rte_softrss, plain v4/v6 and mixed tunnels, every distmode",
		Run:  runHash,
	})
}

// runHash measures, per case, ns per packet of flowhash's HashBurstAddrs
// over a burst of 32 generated packets (Ethernet parsing and tuple
// ordering included) against a C reference doing the same work on the same
// packets in the same run: hashref's C twin (the same header parsing and
// symmetric key, then DPDK's rte_hash_crc with the same seed), and, in the
// "…/softrss" cases, the same parsing then DPDK's software Toeplitz hash
// (rte_softrss_be) with the symmetric key 0x6d5a…; in the "…/xxhash"
// cases flowhash runs sym_xxhash against its C twin (the same parsing and
// key, then the xxHash library's XXH64 inlined, folded to 32 bits). It
// checks the hashes (equal to flowhash's for the twins, to rte_softrss's
// for softrss). The Go
// and C loops are measured alternately, best of env.Reps each.
func runHash(env *Env) ([]Result, error) {
	var res []Result
	for _, sc := range hashref.SuiteCases() {
		c, err := hashref.NewCase(sc)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(env.Progress, "  hash: %s\n", c.Name)
		// Go and C alternate (measurePair): on a shared machine both
		// sides then see the same conditions.
		goNs, cNs := measurePair(env, goLoop(c.GoBursts), func(n uint64) float64 {
			return float64(c.CBursts(n).Nanoseconds()) / float64(n)
		})
		goNs /= hashref.Burst
		cNs /= hashref.Burst
		if err := c.Check(); err != nil {
			return nil, err
		}
		res = append(res, result("hash", c.Name, goNs, cNs))
	}
	if env.DPDKTest {
		if err := hashFunctionsAutotest(env); err != nil {
			fmt.Fprintf(env.Progress, "  hash: dpdk-test hash_functions_autotest skipped: %v\n", err)
		}
	}
	return res, nil
}

var hashPerfLine = regexp.MustCompile(`^rte_hash_crc\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([0-9.]+)$`)

// hashFunctionsAutotest runs DPDK's own hash_functions_autotest (dpdk-test,
// one lcore, --no-huge) and prints its rte_hash_crc figures for the key
// lengths near ours, converted from TSC ticks per key to ns. It is timed
// in wall-clock TSC ticks: on a loaded machine it reads high.
func hashFunctionsAutotest(env *Env) error {
	bin, err := exec.LookPath("dpdk-test")
	if err != nil {
		return fmt.Errorf("dpdk-test not found (Debian package dpdk-dev, 'make deps'): %w", err)
	}
	prefix := fmt.Sprintf("gmbenchhash%d", os.Getpid())
	defer os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
	lcore := "0"
	if env.CPU >= 0 {
		lcore = strconv.Itoa(env.CPU)
	}
	cmd := exec.Command(bin, "--no-pci", "--no-huge", "-m", "128", "-l", lcore, "--file-prefix", prefix, "--log-level=*:error")
	cmd.Stdin = strings.NewReader("hash_functions_autotest\n")
	fmt.Fprintf(env.Progress, "  hash: running dpdk-test hash_functions_autotest …\n")
	out, err := cmd.CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("Test OK")) {
		return fmt.Errorf("dpdk-test: %w", err)
	}
	hz := float64(dpdkref.TscHz())
	fmt.Printf("dpdk-test hash_functions_autotest (same machine, same run; TSC %.0f MHz; wall-clock ns per key):\n", hz/1e6)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := hashPerfLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		switch m[1] {
		case "8", "13", "16", "32", "37", "40":
			ticks, _ := strconv.ParseFloat(m[3], 64)
			fmt.Printf("  rte_hash_crc key %2s bytes, init %s: %.2f ticks = %.2f ns\n", m[1], m[2], ticks, ticks/hz*1e9)
		}
	}
	fmt.Println()
	return nil
}
