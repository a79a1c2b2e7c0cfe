package metrics_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// nullConfig is a daemon with a net_null port polled even without an
// application (hold_rx=0): traffic flows (and is dropped as no_app) from
// the start; an application opening vxe0 gets it on its streams.
const nullConfig = `
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
rx_streams_max=64
tx_streams_max=64
ring_size=256
hold_rx=%d
`

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// requirePrometheus returns the paths of Debian's prometheus and promtool.
func requirePrometheus(t testing.TB) (server, tool string) {
	t.Helper()
	for _, p := range []string{"/usr/bin/prometheus", "/usr/bin/promtool"} {
		if _, err := os.Stat(p); err != nil {
			testenv.Skip(t, "%s not found: run 'make deps' as root (installs Debian's prometheus package)", p)
		}
	}
	return "/usr/bin/prometheus", "/usr/bin/promtool"
}

func get(t testing.TB, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v\n%s", u, resp.StatusCode, err, body)
	}
	return body
}

// startApp runs internal/daemontest/testapp forwarding on vxe0 with n
// streams for dur; t.Cleanup kills it (by pid) if it still runs.
func startApp(t testing.TB, d *daemontest.Daemon, n int, dur time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(daemontest.TestApp(t), "-prefix", d.Prefix, "-appsym", "fwd", "-mode", "bench",
		"-rx", strconv.Itoa(n), "-tx", strconv.Itoa(n), "-duration", dur.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("testapp output:\n%s", out.String())
		}
	})
	return cmd
}

// waitMetric polls /metrics until a line starts with prefix, returns it.
func waitMetric(t testing.TB, u, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range strings.Split(string(get(t, u)), "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s after %v", u, prefix, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPrometheus runs Debian's real prometheus against a real mrzcpd with
// traffic flowing (net_null port, a forwarding application on 8 streams):
// promtool accepts the daemon's /metrics, and prometheus, scraping every
// second, answers a query for the port's packet counter with a value > 0.
func TestPrometheus(t *testing.T) {
	server, promtool := requirePrometheus(t)
	mport := freePort(t)
	maddr := fmt.Sprintf("127.0.0.1:%d", mport)
	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(nullConfig, 0), Args: []string{"-metrics-listen", maddr}})
	// The address is bound before EAL starts: a scrape right after start-up
	// waits in the listen backlog until the server runs.
	murl := "http://" + maddr + "/metrics"
	startApp(t, d, 8, time.Minute)
	waitMetric(t, murl, `gomarsio_vdev_owner_info{app="fwd",port="0",vdev="vxe0"} 1`, 20*time.Second)
	waitMetric(t, murl, `gomarsio_rx_stream_delivered_packets_total{app="fwd",port="0",stream="7",vdev="vxe0"}`, 5*time.Second)

	// promtool lints what the daemon serves (streams, app and pool series included).
	body := get(t, murl)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s\n--- /metrics:\n%s", err, out, body)
	}
	for _, want := range []string{
		`gomarsio_port_rx_packets_total{port="0",vdev="vxe0"}`,
		`gomarsio_vdev_dropped_packets_total{port="0",reason="no_app",vdev="vxe0"}`,
		`gomarsio_rx_stream_dropped_packets_total{app="fwd",port="0",reason="ring_full",stream="0",vdev="vxe0"}`,
		`gomarsio_tx_stream_dropped_packets_total{app="fwd",port="0",reason="port_refused",stream="7",vdev="vxe0"}`,
		`gomarsio_app_held_mbufs{app="fwd",pool="MZ0",where="caches"}`,
		`gomarsio_pool_available_mbufs{pool="MZ0"}`,
		`gomarsio_vdev_streams{direction="rx",port="0",vdev="vxe0"} 8`,
		`gomarsio_app_info{app="fwd",pid=`,
		`gomarsio_metrics_skipped_objects 0`,
		`go_goroutines `,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Prometheus on loopback, own data dir, scraping the daemon every second.
	dir := t.TempDir()
	pport := freePort(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mrzcpd
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['%s']
`, maddr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	purl := fmt.Sprintf("http://127.0.0.1:%d", pport)
	startPrometheus(t, server, cfgPath, filepath.Join(dir, "data"), pport)

	q := purl + "/api/v1/query?query=" + url.QueryEscape(`gomarsio_port_rx_packets_total{job="mrzcpd",vdev="vxe0"}`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, ok := queryValue(t, q)
		if ok && v > 0 {
			t.Logf("prometheus: gomarsio_port_rx_packets_total{vdev=\"vxe0\"} = %.0f", v)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus never saw gomarsio_port_rx_packets_total > 0 (last %v, %v)", v, ok)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The streams' counters reach Prometheus too.
	q = purl + "/api/v1/query?query=" + url.QueryEscape(`sum(gomarsio_rx_stream_delivered_packets_total{job="mrzcpd",app="fwd"})`)
	if v, ok := queryValue(t, q); !ok || v <= 0 {
		t.Errorf("sum of rx stream deliveries in prometheus: %v (%v)", v, ok)
	}
}

// startPrometheus starts the server; t.Cleanup stops it by pid (SIGTERM,
// SIGKILL after 10 s) before the data dir is removed.
func startPrometheus(t *testing.T, server, cfgPath, data string, port int) {
	t.Helper()
	cmd := exec.Command(server, "--config.file="+cfgPath, "--storage.tsdb.path="+data,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(data)
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	ready := fmt.Sprintf("http://127.0.0.1:%d/-/ready", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("prometheus exited: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queryValue runs an instant query and returns the first sample's value.
func queryValue(t testing.TB, u string) (float64, bool) {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(get(t, u), &r); err != nil || r.Status != "success" || len(r.Data.Result) == 0 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// TestListenErrors: a taken address given on the command line or in the
// config stops the daemon at start-up with an error naming it; the built-in
// default taken is a warning (several daemons on one host); off serves
// nothing.
func TestListenErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().String()
	cfg := fmt.Sprintf(nullConfig, 1)
	t.Run("flag", func(t *testing.T) {
		d := daemontest.Start(t, daemontest.Options{Config: cfg, Args: []string{"-metrics-listen", taken}, ExpectFail: true})
		checkFailed(t, d, taken)
	})
	t.Run("config", func(t *testing.T) {
		c := strings.Replace(cfg, "burst=32", "burst=32\nmetrics_listen="+taken, 1)
		d := daemontest.Start(t, daemontest.Options{Config: c, ExpectFail: true})
		checkFailed(t, d, taken)
	})
	t.Run("bad", func(t *testing.T) {
		d := daemontest.Start(t, daemontest.Options{Config: cfg, Args: []string{"-metrics-listen", "127.0.0.1"}, ExpectFail: true})
		checkFailed(t, d, "127.0.0.1")
	})
	t.Run("default-taken", func(t *testing.T) {
		dl, err := net.Listen("tcp", "127.0.0.1:9465")
		if err != nil {
			t.Skipf("127.0.0.1:9465 is busy elsewhere (%v): cannot hold it for this check", err)
		}
		defer dl.Close()
		d := daemontest.Start(t, daemontest.Options{Config: cfg})
		if !strings.Contains(d.Log(), "warning: metrics: cannot listen on 127.0.0.1:9465") {
			t.Errorf("no warning about the taken default address:\n%s", d.Log())
		}
	})
	t.Run("off", func(t *testing.T) {
		d := daemontest.Start(t, daemontest.Options{Config: cfg, Args: []string{"-metrics-listen", "off"}})
		time.Sleep(100 * time.Millisecond)
		if strings.Contains(d.Log(), "metrics: serving") {
			t.Errorf("metrics served although off:\n%s", d.Log())
		}
	})
}

func checkFailed(t *testing.T, d *daemontest.Daemon, addr string) {
	t.Helper()
	<-d.Exited()
	if d.ExitErr() == nil {
		t.Fatalf("mrzcpd exited 0 with a bad metrics address %s", addr)
	}
	if !strings.Contains(d.Log(), addr) || !strings.Contains(d.Log(), "metrics") {
		t.Errorf("error does not name the metrics address %s:\n%s", addr, d.Log())
	}
	if strings.Contains(d.Log(), "EAL arguments") {
		t.Errorf("EAL was started before the metrics address was checked:\n%s", d.Log())
	}
}

// TestScrapeDuringChurn scrapes the daemon without pause from two
// goroutines while applications open 64-stream vdev instances, forward and
// go away (instances, rings and app zones freed), one of them killed -9
// (reclaim), and while the daemon shuts down: the daemon must neither crash
// nor fail, and every scrape that got an answer must be complete (or, once
// shutdown has closed the collector, hold no gomarsio_* series at all).
func TestScrapeDuringChurn(t *testing.T) {
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(nullConfig, 0), Args: []string{"-metrics-listen", maddr}})
	stop := make(chan struct{})
	type result struct{ ok, bad int }
	results := make(chan result, 2)
	for range 2 {
		go func() {
			var r result
			defer func() { results <- r }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get("http://" + maddr + "/metrics")
				if err != nil {
					time.Sleep(time.Millisecond)
					continue // the daemon is gone (or going)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
				case resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("gomarsio_metrics_skipped_objects 0\n")):
					r.ok++
				case resp.StatusCode == http.StatusOK && !bytes.Contains(body, []byte("gomarsio_")):
					// Shutting down: the collector is closed, the server not yet.
				default:
					r.bad++
					t.Errorf("scrape: status %d, %d bytes, %v:\n%s", resp.StatusCode, len(body), resp.Header, tailString(string(body), 3000))
				}
			}
		}()
	}
	for k := range 6 {
		if k == 3 {
			cmd := exec.Command(daemontest.TestApp(t), "-prefix", d.Prefix, "-appsym", "hold", "-mode", "hold", "-rx", "64", "-tx", "64")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n') // HOLDING kept=K allocated=A cache=C
			var kept, alloc, cache int
			fmt.Sscanf(line, "HOLDING kept=%d allocated=%d cache=%d", &kept, &alloc, &cache)
			// Its per-thread cache as the app counts it is what the
			// collector reports as held in caches.
			want := fmt.Sprintf(`gomarsio_app_held_mbufs{app="hold",pool="MZ0",where="caches"} %d`, cache)
			got := waitMetric(t, "http://"+maddr+"/metrics", `gomarsio_app_held_mbufs{app="hold",pool="MZ0",where="caches"}`, 5*time.Second)
			if cache == 0 || got != want {
				t.Errorf("hold app said %q; /metrics: %s", strings.TrimSpace(line), got)
			}
			cmd.Process.Kill()
			cmd.Wait()
			// The daemon reclaims the app on its socket's hang-up; until
			// then the vdev is still open by it (the next app would get
			// MR_EBUSY). Wait for the reclaim's record (written after
			// the app's vdevs are closed): a status file without "hold"
			// among the apps may predate its registration.
			if _, ok := d.WaitStatus(t, 10*time.Second, func(st *monit.Daemon) bool {
				return slices.ContainsFunc(st.Reclaims, func(r monit.Reclaim) bool { return r.Appsym == "hold" }) &&
					!slices.ContainsFunc(st.Apps, func(a monit.AppSummary) bool { return a.Appsym == "hold" })
			}); !ok {
				t.Fatal("the daemon did not reclaim the killed hold app within 10 s")
			}
			t.Logf("hold app said %q (killed -9); /metrics: %s", strings.TrimSpace(line), got)
			continue
		}
		app := exec.Command(daemontest.TestApp(t), "-prefix", d.Prefix, "-appsym", fmt.Sprintf("churn%d", k), "-mode", "bench",
			"-rx", "64", "-tx", "64", "-duration", "300ms")
		start := time.Now()
		if out, err := app.CombinedOutput(); err != nil {
			t.Fatalf("testapp: %v\n%s", err, out)
		}
		t.Logf("app churn%d: %v", k, time.Since(start))
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := d.Stop(); err != nil {
		t.Errorf("daemon stopped with %v", err)
	}
	t.Logf("daemon stopped in %v", time.Since(start))
	close(stop)
	var total result
	for range 2 {
		r := <-results
		total.ok += r.ok
		total.bad += r.bad
	}
	t.Logf("%d complete scrapes during the churn and shutdown", total.ok)
	if total.ok == 0 {
		t.Error("no scrape succeeded")
	}
	for _, bad := range []string{"panic", "SIGSEGV", "fatal error"} {
		if strings.Contains(d.Log(), bad) {
			t.Errorf("daemon log has %q:\n%s", bad, d.Log())
		}
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
