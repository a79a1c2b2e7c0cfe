package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
)

// BenchmarkForwardScrape is the e2e forwarding rate (net_null port → 64 rx
// streams → pure-Go forwarding app (internal/daemontest/testapp -mode
// bench) → 64 tx streams → port) with nobody scraping the daemon's
// /metrics, with a scrape every second (Prometheus' usual pace is 15 s or
// more) and, as a stress, every 100 ms. One daemon serves every run; the
// three modes alternate in rounds so that they share the machine's load.
// Reported per mode: the port's tx rate (wall clock) and the daemon's
// forwarded packets per CPU second of the whole daemon process (scrapes
// included), the ratio of each scraping mode to none (over all rounds, and
// the median of the rounds' ratios), and per scrape its wall time and size. net_null sends one flow, so the traffic uses one
// stream pair; every scrape covers all 64 pairs' series.
func BenchmarkForwardScrape(b *testing.B) {
	const (
		streams = 64
		rounds  = 5
		dur     = 2 * time.Second
	)
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	d := daemontest.Start(b, daemontest.Options{Config: fmt.Sprintf(nullConfig, 1),
		Args: []string{"-metrics-listen", maddr, "-status-interval", "100ms"}})
	app := daemontest.TestApp(b)
	modes := []struct {
		name  string
		every time.Duration
	}{{"none", 0}, {"1s", time.Second}, {"100ms", 100 * time.Millisecond}}
	type total struct {
		sent          uint64
		wall, cpu     time.Duration
		scrapes, size int
		scrapeTime    time.Duration
	}
	tot := make([]total, len(modes))
	// ratios[m][r]: mode m's port tx rate over mode none's in round r (the
	// runs next to each other in time: a load that drifts cancels).
	ratios := make([][]float64, len(modes))
	b.ResetTimer()
	for range b.N {
		for range rounds {
			roundRate := make([]float64, len(modes))
			for m, mode := range modes {
				st0 := d.Status(b)
				tx0 := st0.Vdevs[0].PortTx.Pkts
				cpu0 := procCPU(b, d.Pid())
				start := time.Now()
				stop := make(chan struct{})
				var wg sync.WaitGroup
				if mode.every > 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						t := time.NewTicker(mode.every)
						defer t.Stop()
						for {
							select {
							case <-stop:
								return
							case <-t.C:
								s := time.Now()
								resp, err := http.Get("http://" + maddr + "/metrics")
								if err != nil {
									b.Error(err)
									return
								}
								n, _ := io.Copy(io.Discard, resp.Body)
								resp.Body.Close()
								tot[m].scrapeTime += time.Since(s)
								tot[m].scrapes++
								tot[m].size = max(tot[m].size, int(n))
							}
						}
					}()
				}
				cmd := exec.Command(app, "-prefix", d.Prefix, "-appsym", "bench", "-mode", "bench",
					"-rx", strconv.Itoa(streams), "-tx", strconv.Itoa(streams), "-duration", dur.String())
				cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
				out, err := cmd.CombinedOutput()
				close(stop)
				wg.Wait()
				if err != nil {
					b.Fatalf("testapp: %v\n%s", err, out)
				}
				st, _ := d.WaitStatus(b, 2*time.Second, func(s *monit.Daemon) bool { return len(s.Apps) == 0 })
				wall := time.Since(start)
				sent := st.Vdevs[0].PortTx.Pkts - tx0
				tot[m].wall += wall
				tot[m].cpu += procCPU(b, d.Pid()) - cpu0
				tot[m].sent += sent
				roundRate[m] = float64(sent) / wall.Seconds()
			}
			for m := range modes {
				ratios[m] = append(ratios[m], roundRate[m]/roundRate[0])
			}
		}
	}
	b.StopTimer()
	rate := func(t total) float64 { return float64(t.sent) / t.wall.Seconds() / 1e6 }
	perCPU := func(t total) float64 { return float64(t.sent) / t.cpu.Seconds() / 1e6 }
	for m, mode := range modes {
		t := tot[m]
		b.ReportMetric(rate(t), mode.name+":port-tx-Mpps")
		b.ReportMetric(perCPU(t), mode.name+":daemon-Mpkt/cpu-s")
		if m > 0 {
			b.ReportMetric(rate(t)/rate(tot[0]), mode.name+":Mpps-vs-none")
			sort.Float64s(ratios[m])
			b.ReportMetric(ratios[m][len(ratios[m])/2], mode.name+":median-round-Mpps-vs-none")
			b.ReportMetric(perCPU(t)/perCPU(tot[0]), mode.name+":cpu-s-vs-none")
			b.ReportMetric(float64(t.scrapeTime.Microseconds())/float64(t.scrapes)/1e3, mode.name+":ms/scrape")
			b.ReportMetric(float64(t.size)/1024, mode.name+":KiB/scrape")
		}
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
