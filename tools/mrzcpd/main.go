// Command mrzcpd is the packet I/O service daemon: a DPDK 22.11 primary
// that owns the ports and the hugepage memory and serves applications
// (package marsio) through shared memory.
//
//	mrzcpd [-config FILE | -default-config] [-run-dir DIR] [-file-prefix P] [-huge-dir DIR] [-metrics-listen ADDR] [-stall-timeout D]
//
// Without -config it reads $MRZCPD_CONFIG, else /opt/tsg/mrzcpd/etc/mrglobal.conf
// when that exists, else its embedded default config (-print-config shows
// it): a net_pcap port replaying generated traffic, exposed as vdev vxe0;
// the config is written to <run dir>/mrzcpd-default.conf, which the status
// file's general.g_cfgfile names.
// The status file is <run dir>/mrmonit.daemon (run dir default
// /var/run/mrzcpd, env MRZCPD_RUN_DIR). SIGTERM or SIGINT stops it and
// removes its runtime dir, hugepage files and status file. Prometheus
// metrics are served at http://127.0.0.1:9465/metrics ([service]
// metrics_listen or -metrics-listen; "off" disables them).
//
// A stall watchdog samples the dataplane workers (-stall-timeout, default
// 2s, 0 disables it): a worker whose loop has not advanced for that long is
// stuck — most likely spinning inside DPDK's ring code behind an
// application killed in the middle of an operation on a shared pool's ring,
// which DPDK cannot undo. mrzcpd then logs the diagnosis (the worker, its
// ports and vdevs, each pool ring's head and tail), writes it into the
// status file (stalled_workers, kept after exit), shuts down without the
// stalled worker (runtime dir and hugepage files removed, applications'
// liveness sockets closed) and exits with status 3: restart it
// (applications with WithReattach(true) re-attach). Exit status 1 is any
// other error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/tools/mrzcpd/internal/daemon"
)

// Exit statuses.
const (
	exitError   = 1
	exitStalled = daemon.ExitStalled // a worker stalled (-stall-timeout): restart mrzcpd
)

// Bounds of -stall-timeout (besides 0, off): above the watchdog's 100 ms
// sampling with room for a loaded machine, below what would leave a stuck
// daemon unnoticed.
const (
	minStallTimeout = 500 * time.Millisecond
	maxStallTimeout = 10 * time.Minute
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, daemon.ErrWorkerStalled) {
			fmt.Fprintf(os.Stderr, "mrzcpd: exiting with status %d: %v; restart mrzcpd (applications with WithReattach(true) re-attach)\n", exitStalled, err)
			os.Exit(exitStalled)
		}
		fmt.Fprintln(os.Stderr, "mrzcpd:", err)
		os.Exit(exitError)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mrzcpd", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "global config file (default $"+mrconf.EnvConfig+", else "+mrconf.DefaultGlobalConfig+" if it exists, else the embedded config)")
	useDefault := fs.Bool("default-config", false, "use the embedded default config")
	printCfg := fs.Bool("print-config", false, "print the embedded default config and exit")
	runDir := fs.String("run-dir", monit.RunDir(), "directory of the status files (env "+monit.EnvRunDir+")")
	prefix := fs.String("file-prefix", "", "EAL --file-prefix (overrides [eal] file_prefix and $"+mrconf.EnvFilePrefix+")")
	hugeDir := fs.String("huge-dir", "", "EAL --huge-dir (overrides [eal] huge_dir and $"+mrconf.EnvHugeDir+")")
	check := fs.Bool("check", false, "validate the config and exit")
	interval := fs.Duration("status-interval", time.Second, "how often the status file is rewritten")
	stallTimeout := fs.Duration("stall-timeout", 2*time.Second, "a dataplane worker whose loop has not advanced for this long is stalled: log it, shut down, exit 3 (0 disables; else "+
		minStallTimeout.String()+" to "+maxStallTimeout.String()+")")
	metricsAddr := metricsFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if t := *stallTimeout; t != 0 && (t < minStallTimeout || t > maxStallTimeout) {
		return fmt.Errorf("-stall-timeout %v: want 0 (off) or %v to %v", t, minStallTimeout, maxStallTimeout)
	}
	if *printCfg {
		fmt.Print(daemon.EmbeddedConfigText(*runDir))
		return nil
	}
	path := *cfgPath
	if path == "" && !*useDefault {
		path = os.Getenv(mrconf.EnvConfig)
		if path == "" {
			if _, err := os.Stat(mrconf.DefaultGlobalConfig); err == nil {
				path = mrconf.DefaultGlobalConfig
			}
		}
	}
	var cfg *mrconf.Config
	var err error
	if path == "" {
		cfg, err = daemon.EmbeddedConfig(*runDir)
	} else {
		cfg, err = mrconf.Load(path)
	}
	if err != nil {
		return err
	}
	if *check {
		fmt.Printf("config %s: ok (%d pools, %d ports, %d vdevs)\n", cfg.Path, len(cfg.Pools), len(cfg.Ports), len(cfg.Vdevs))
		return nil
	}
	observe, err := startMetrics(*metricsAddr, cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return daemon.Run(ctx, daemon.Options{Config: cfg, RunDir: *runDir, FilePrefix: *prefix, HugeDir: *hugeDir,
		StatusInterval: *interval, StallTimeout: *stallTimeout, Observe: observe})
}
