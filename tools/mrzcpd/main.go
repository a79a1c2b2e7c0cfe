// Command mrzcpd is the packet I/O service daemon: a DPDK 22.11 primary
// that owns the ports and the hugepage memory and serves applications
// (package marsio) through shared memory.
//
//	mrzcpd [-config FILE | -default-config] [-run-dir DIR] [-file-prefix P] [-huge-dir DIR] [-metrics-listen ADDR]
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

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mrzcpd:", err)
		os.Exit(1)
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
		StatusInterval: *interval, Observe: observe})
}
