package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/tools/mrzcpd/internal/daemon"
)

const vaddrConfig = `
[eal]
memory=64
%s
[pool:MZ0]
size=1023
cache=0
[port:p0]
devargs=net_null0
[vdev:vxe0]
port=p0
`

// hugeMappings returns the address ranges of the daemon's hugepage files
// and EAL files in its /proc/<pid>/maps.
func hugeMappings(t *testing.T, pid int, prefix string) [][2]uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || !strings.Contains(fs[5], prefix) {
			continue
		}
		lo, hi, _ := strings.Cut(fs[0], "-")
		a, _ := strconv.ParseUint(lo, 16, 64)
		b, _ := strconv.ParseUint(hi, 16, 64)
		out = append(out, [2]uint64{a, b})
	}
	return out
}

// TestVirtaddrDefault: without [eal] virtaddr the daemon passes EAL
// --base-virtaddr 0x480000000000 (72 TiB: clear of randomised Go heaps,
// PIE images and the kernel's mmap area) and every hugepage and EAL file it
// maps lies in the window; a Go process attaches there.
func TestVirtaddrDefault(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(vaddrConfig, "")})
	want := fmt.Sprintf(`"--base-virtaddr" "%#x"`, uint64(daemon.DefaultVirtaddr))
	if !strings.Contains(d.Log(), want) {
		t.Fatalf("EAL arguments lack %s:\n%s", want, d.Log())
	}
	maps := hugeMappings(t, d.Pid(), d.Prefix)
	if len(maps) == 0 {
		t.Fatal("no mapping of the daemon's files found")
	}
	for _, m := range maps {
		if m[0] < daemon.DefaultVirtaddr-daemon.VirtaddrBelow || m[1] > daemon.DefaultVirtaddr+daemon.VirtaddrSpan {
			t.Errorf("mapping %#x-%#x outside the window %#x+%d GiB", m[0], m[1], uint64(daemon.DefaultVirtaddr), daemon.VirtaddrSpan>>30)
		}
	}
	h, err := shm.Attach(shm.Options{FilePrefix: d.Prefix, NoIPC: true})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if cfg := h.MemConfig(); cfg < daemon.DefaultVirtaddr-daemon.VirtaddrBelow || cfg >= daemon.DefaultVirtaddr {
		t.Errorf("rte_mem_config at %#x, outside the window", cfg)
	}
	t.Logf("rte_mem_config at %#x; %d mappings from %#x to %#x", h.MemConfig(), len(maps), maps[0][0], maps[len(maps)-1][1])
	if err := h.Detach(); err != nil {
		t.Fatal(err)
	}
}

// TestVirtaddrTaken: a virtaddr whose window the daemon itself already
// maps (here its own executable at 0x400000) is refused before EAL init,
// naming the mapping, instead of EAL mapping the memory wherever the
// kernel puts it; nothing is left behind.
func TestVirtaddrTaken(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(vaddrConfig, "virtaddr=0x400000"), ExpectFail: true})
	<-d.Exited()
	if d.ExitErr() == nil {
		t.Fatal("mrzcpd started with its window on its own executable")
	}
	if log := d.Log(); !strings.Contains(log, "mrzcpd itself already maps") || !strings.Contains(log, "virtaddr 0x400000") {
		t.Fatalf("error does not name the cause:\n%s", log)
	}
}
