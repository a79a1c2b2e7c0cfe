package main

import (
	"errors"
	"flag"
	"log"
	"os"
	"sync"
	"syscall"

	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/internal/metrics"
)

// metricsFlag registers -metrics-listen.
func metricsFlag(fs *flag.FlagSet) *string {
	return fs.String("metrics-listen", "", "Prometheus /metrics address host:port, or off (overrides [service] metrics_listen, default "+
		mrconf.DefaultMetricsListen+")")
}

// startMetrics binds the metrics address before the daemon starts, so a
// taken or bad address fails fast with an error naming it. The address is
// the flag's, else [service] metrics_listen. One exception keeps several
// daemons on one host (tests, distinct file prefixes) working out of the
// box: when the address is the built-in default and nobody asked for it on
// the command line, a taken port is a warning and the daemon runs without
// metrics. It returns the daemon.Options.Observe hook (nil when off).
func startMetrics(flagAddr string, cfg *mrconf.Config) (func(root uintptr, ctl sync.Locker) func(), error) {
	lg := log.New(os.Stderr, "mrzcpd: ", log.LstdFlags|log.Lmicroseconds)
	addr := cfg.Service.MetricsListen
	if flagAddr != "" {
		addr = flagAddr
	}
	if metrics.Disabled(addr) {
		return nil, nil
	}
	ln, err := metrics.Listen(addr)
	if err != nil {
		if flagAddr == "" && addr == mrconf.DefaultMetricsListen && errors.Is(err, syscall.EADDRINUSE) {
			lg.Printf("warning: %v: metrics disabled (set [service] metrics_listen or -metrics-listen to another address)", err)
			return nil, nil
		}
		return nil, err
	}
	return func(root uintptr, ctl sync.Locker) func() {
		c := metrics.NewCollector(metrics.Source{Root: func() (uintptr, int) { return root, metrics.AllApps }, Lock: ctl})
		srv := metrics.Serve(ln, metrics.Registry(c, true), lg)
		lg.Printf("metrics: serving http://%s/metrics", srv.Addr())
		return func() {
			c.Close() // no scrape reads shared memory after this
			if err := srv.Close(); err != nil {
				lg.Printf("metrics: %v", err)
			}
		}
	}, nil
}
