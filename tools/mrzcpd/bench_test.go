package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
)

const benchConfig = `
[eal]
memory=256
[service]
burst=32
[pool:MZ0]
size=16383
cache=0
[port:p0]
devargs=net_null0,size=64
[vdev:vxe0]
port=p0
rx_streams_max=%d
tx_streams_max=%d
ring_size=1024
hold_rx=1
`

// BenchmarkNullForward measures port → rx ring → app → tx ring → port with
// net_null (64-byte frames): the daemon's worker and a pure-Go forwarding
// app (internal/daemontest/testapp -mode bench), each on its own core.
// Reported: Mpps forwarded by the app and sent to the port by the daemon.
func BenchmarkNullForward(b *testing.B) {
	for _, streams := range []int{1, 4} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			d := daemontest.Start(b, daemontest.Options{Config: fmt.Sprintf(benchConfig, streams, streams),
				Args: []string{"-status-interval", "100ms"}})
			app := testApp(b)
			const dur = 2 * time.Second
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st0 := d.Status(b)
				before, rx0 := st0.Vdevs[0].PortTx.Pkts, st0.Vdevs[0].PortRx.Pkts
				dcpu0 := procCPU(b, d.Pid())
				start := time.Now()
				cmd := exec.Command(app, "-prefix", d.Prefix, "-appsym", "bench", "-mode", "bench",
					"-rx", fmt.Sprint(streams), "-tx", fmt.Sprint(streams), "-duration", dur.String())
				out, err := cmd.CombinedOutput()
				elapsed := time.Since(start)
				dcpu := procCPU(b, d.Pid()) - dcpu0
				if err != nil {
					b.Fatalf("testapp: %v\n%s", err, out)
				}
				var n int
				sc := bufio.NewScanner(strings.NewReader(string(out)))
				for sc.Scan() {
					fmt.Sscanf(sc.Text(), "FORWARDED %d", &n)
				}
				st, _ := d.WaitStatus(b, time.Second, func(s *monit.Daemon) bool { return len(s.Apps) == 0 })
				sent := st.Vdevs[0].PortTx.Pkts - before
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				acpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				b.ReportMetric(float64(n)/dur.Seconds()/1e6, "app-Mpps")
				b.ReportMetric(float64(sent)/elapsed.Seconds()/1e6, "port-tx-Mpps")
				// On a shared machine wall-clock rates say more about the load than
				// about the code: also report packets per CPU second of each side.
				b.ReportMetric(float64(n)/acpu.Seconds()/1e6, "app-Mpkt/cpu-s")
				b.ReportMetric(float64(sent)/dcpu.Seconds()/1e6, "daemon-tx-Mpkt/cpu-s")
				// The daemon also receives (and drops, ring full) what the app
				// cannot take: its whole rx work per CPU second.
				b.ReportMetric(float64(st.Vdevs[0].PortRx.Pkts-rx0)/dcpu.Seconds()/1e6, "daemon-rx-Mpkt/cpu-s")
			}
		})
	}
}

// procCPU returns a process's user+system CPU time (/proc/<pid>/stat).
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
