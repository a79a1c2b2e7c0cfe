package metrics

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListen is the daemon's default metrics address: loopback only.
// 9465 is free in Prometheus' default port allocations list.
const DefaultListen = "127.0.0.1:9465"

// Off disables the metrics server where a listen address is configured.
const Off = "off"

// ErrListen is matched (errors.Is) by the error of Listen when the address
// cannot be bound (taken, not local, no permission) or is malformed.
var ErrListen = errors.New("metrics: cannot listen")

// Disabled reports whether addr switches the metrics server off ("off" or
// empty).
func Disabled(addr string) bool {
	return addr == "" || strings.EqualFold(addr, Off)
}

// CheckAddr validates a listen address of the form host:port (host may be
// empty for every interface; numeric port 0..65535, 0 picks a free one)
// without binding it.
func CheckAddr(addr string) error {
	if Disabled(addr) {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("%w on %q: want host:port with a numeric port (e.g. %s, :9465 for every interface) or %s",
			ErrListen, addr, DefaultListen, Off)
	}
	return nil
}

// Listen binds addr (TCP). The error names the address: call it before
// anything slow starts, so that a taken port fails fast.
func Listen(addr string) (net.Listener, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %w", ErrListen, addr, err)
	}
	return l, nil
}

// Handler serves g in the Prometheus text format (OpenMetrics when asked).
// A collector error yields the metrics that were collected plus an HTTP 200
// (ContinueOnError), and is logged when errLog is set.
func Handler(g prometheus.Gatherer, errLog *log.Logger) http.Handler {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, EnableOpenMetrics: true, Timeout: 10 * time.Second}
	if errLog != nil {
		opts.ErrorLog = errLog
	}
	return promhttp.HandlerFor(g, opts)
}

// Registry returns a registry holding c plus, when process is true, the Go
// runtime and process collectors (go_*, process_*), as a daemon serves them.
func Registry(c prometheus.Collector, process bool) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if process {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return reg
}

// Server is an HTTP server for /metrics on its own listener.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve serves /metrics (and a small index at /) from g on l until Close.
func Serve(l net.Listener, g prometheus.Gatherer, errLog *log.Logger) *Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(g, errLog))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "gomarsio metrics: /metrics")
	})
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: errLog},
		ln:   l,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting scrapes and waits (up to 5 s) for the ones in
// flight, then closes every connection.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
