package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

// nullConfig serves a net_null port: EAL secondaries (dpdk-proc-info,
// dpdk-dumpcap) can attach to it. (net_pcap is a poor port for them: a
// secondary re-opens the pcap files itself, and 22.11's pcap PMD fails to
// attach in a secondary to a port made with infinite_rx.)
const nullConfig = `
[eal]
memory=128
[pool:MZ0]
size=4095
[port:p0]
devargs=net_null0,size=128
[vdev:vxe0]
port=p0
`

// TestProcInfo: DPDK's own secondary dpdk-proc-info attaches to a running
// mrzcpd and sees its port, pool and rings.
func TestProcInfo(t *testing.T) {
	bin := testenv.RequireBinary(t, "dpdk-proc-info")
	d := daemontest.Start(t, daemontest.Options{Config: nullConfig})
	out, err := exec.Command(bin, "--file-prefix", d.Prefix, "--no-pci", "--log-level", "error", "--",
		"--stats", "--show-mempool", "--show-ring").CombinedOutput()
	if err != nil {
		t.Fatalf("dpdk-proc-info: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"NIC statistics for port 0", "MZ0", "MP_MZ0"} {
		if !strings.Contains(s, want) {
			t.Errorf("dpdk-proc-info output lacks %q:\n%s", want, s)
		}
	}
}

// TestDumpcap: dpdk-dumpcap (an EAL secondary using the daemon's
// rte_pdump) captures packets the daemon's port received (net_null's
// 128-byte frames), while the port counters move. dumpcap has no --no-pci option, so it runs
// in a private mount namespace where /sys/bus/pci/devices is empty: EAL's
// PCI scan finds nothing to probe.
func TestDumpcap(t *testing.T) {
	bin := testenv.RequireBinary(t, "dpdk-dumpcap")
	unshare := testenv.RequireBinary(t, "unshare")
	d := daemontest.Start(t, daemontest.Options{Config: nullConfig})
	capFile := filepath.Join(t.TempDir(), "cap.pcap")
	script := "mount -t tmpfs none /sys/bus/pci/devices && exec " + bin +
		" --file-prefix=" + d.Prefix + " -i 0 -c 64 -P -q -w " + capFile
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script)
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dpdk-dumpcap: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("dpdk-dumpcap did not finish")
	}
	got := readPcap(t, capFile)
	if len(got) != 64 {
		t.Fatalf("captured %d packets, want 64", len(got))
	}
	for i, p := range got {
		if len(p) != 128 {
			t.Fatalf("captured packet %d: %d bytes, net_null sends 128", i, len(p))
		}
	}
	// The status file is rewritten every second: wait for one written
	// after the capture.
	if st, _ := d.WaitStatus(t, 5*time.Second, func(s *monit.Daemon) bool {
		return s.Vdevs[0].PortRx.Pkts >= 64 && s.Vdevs[0].NoApp.Pkts >= 64
	}); st.Vdevs[0].PortRx.Pkts < 64 || st.Vdevs[0].NoApp.Pkts < 64 {
		t.Errorf("port counters: rx %d, no_app %d", st.Vdevs[0].PortRx.Pkts, st.Vdevs[0].NoApp.Pkts)
	}
	if _, err := os.Stat(capFile); err != nil {
		t.Fatal(err)
	}
}
