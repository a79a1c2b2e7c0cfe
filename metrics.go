package marsio

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomarsio/marsio/internal/metrics"
)

// Prometheus metrics of an application: the same gomarsio_* families the
// daemon serves (its /metrics, default http://127.0.0.1:9465/metrics),
// restricted to what this instance owns — the port counters and the rx/tx
// streams of the vdevs it has open and its own buffer usage
// (gomarsio_app_held_mbufs: mbufs in its rings and per-thread caches, not
// those in its hands) — plus the daemon and pool gauges. Every value is read
// from shared memory at scrape time, under the instance's control lock;
// nothing is counted on the fast path. Before Init and after Close a scrape
// returns no gomarsio_* series.

// MetricsCollector returns a Prometheus collector of this instance's view
// of the shared memory, to register in the application's own registry
// (prometheus.MustRegister(inst.MetricsCollector())). Each call returns a
// new collector; register one per registry.
func (i *Instance) MetricsCollector() prometheus.Collector {
	return metrics.NewCollector(metrics.Source{Root: i.metricsView, Lock: &i.mu, Contains: i.metricsContains})
}

// metricsView is metrics.Source.Root; i.mu held.
func (i *Instance) metricsView() (uintptr, int) {
	if s := i.state.Load(); (s != stateReady && s != stateGone) || i.root == nil || i.mem == nil {
		return 0, metrics.AllApps
	}
	return uintptr(unsafe.Pointer(i.root)), int(i.slot)
}

// metricsContains is metrics.Source.Contains; i.mu held.
func (i *Instance) metricsContains(addr, n uintptr) bool {
	return i.mem != nil && i.mem.contains(addr, n)
}

// MetricsHandler returns an http.Handler serving MetricsCollector's
// families in the Prometheus text format, e.g.
// http.Handle("/metrics", inst.MetricsHandler()).
func (i *Instance) MetricsHandler() http.Handler {
	return metrics.Handler(metrics.Registry(i.MetricsCollector(), false), nil)
}

// ServeMetrics serves MetricsHandler at http://addr/metrics (host:port;
// "127.0.0.1:0" picks a free port) until the returned Closer is closed. A
// taken or malformed address is an error naming it. Closing the instance
// does not stop the server; its scrapes just return no gomarsio_* series.
func (i *Instance) ServeMetrics(addr string) (MetricsServer, error) {
	l, err := metrics.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("marsio: %w", err)
	}
	return metrics.Serve(l, metrics.Registry(i.MetricsCollector(), true), nil), nil
}

// MetricsServer is a running metrics endpoint (ServeMetrics).
type MetricsServer interface {
	io.Closer
	// Addr is the address it listens on.
	Addr() net.Addr
}
