package marsio

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/metrics"
)

// metricsConfig: a net_null port polled without an application (hold_rx=0),
// so traffic reaches the app's rx rings as soon as it opens vxe0.
const metricsConfig = `
[eal]
memory=256
[service]
metrics_listen=off
[pool:MZ0]
size=8191
[port:p0]
devargs=net_null0,size=64
[vdev:vxe0]
port=p0
hold_rx=0
rx_streams_max=4
tx_streams_max=4
ring_size=256
[port:p1]
devargs=net_null1,size=64
[vdev:vxe1]
port=p1
`

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestMetrics: an application's own /metrics (ServeMetrics) against a real
// mrzcpd shows its vdev's streams with traffic, its buffer usage, not the
// vdev it did not open; promtool accepts it; after Close it is empty of
// gomarsio_* series; a taken address is an error naming it.
func TestMetrics(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: metricsConfig})
	i := attachApp(t, d, "mtest", WithThreads(2))
	if _, err := i.OpenDevice("vxe0", 2, 2); err != nil {
		t.Fatal(err)
	}
	srv, err := i.ServeMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := "http://" + srv.Addr().String() + "/metrics"
	var body string
	for deadline := time.Now().Add(20 * time.Second); ; {
		body = scrape(t, url)
		if strings.Contains(body, `gomarsio_rx_stream_dropped_packets_total{app="mtest",port="0",reason="ring_full",stream="0",vdev="vxe0"} `) &&
			!strings.Contains(body, `gomarsio_rx_stream_dropped_packets_total{app="mtest",port="0",reason="ring_full",stream="0",vdev="vxe0"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ring-full drops on rx stream 0 after 20 s:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		`gomarsio_vdev_owner_info{app="mtest",port="0",vdev="vxe0"} 1`,
		// net_null sends one flow: every packet hashes to stream 0.
		`gomarsio_rx_stream_ring_mbufs{app="mtest",port="0",stream="0",vdev="vxe0"} 255`,
		`gomarsio_rx_stream_ring_mbufs{app="mtest",port="0",stream="1",vdev="vxe0"} 0`,
		`gomarsio_app_held_mbufs{app="mtest",pool="MZ0",where="rx_rings"} 255`,
		`gomarsio_app_info{app="mtest",pid=`,
		`gomarsio_pool_size_mbufs{pool="MZ0"} 8191`,
		`gomarsio_metrics_skipped_objects 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("app /metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `vdev="vxe1"`) {
		t.Error("app /metrics shows vxe1, which it did not open")
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}

	// The handler form serves the same families, without go_*/process_*.
	rec := httptest.NewRecorder()
	i.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if out := rec.Body.String(); !strings.Contains(out, `gomarsio_vdev_owner_info{app="mtest"`) || strings.Contains(out, "go_goroutines") {
		t.Errorf("MetricsHandler output:\n%s", out)
	}

	// A taken address names itself.
	if _, err := i.ServeMetrics(srv.Addr().String()); !errors.Is(err, metrics.ErrListen) || !strings.Contains(err.Error(), srv.Addr().String()) {
		t.Errorf("ServeMetrics on a taken address: %v", err)
	}

	// After Close no scrape touches shared memory: no gomarsio_* series.
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, url); strings.Contains(body, "gomarsio_") {
		t.Errorf("gomarsio_* series after Close:\n%s", body)
	}
}
