// Command mrstat shows live counters of mrzcpd and its applications: per
// port, per vdev and per stream, with packets, bytes and drops per second,
// redrawn in the terminal every -interval.
//
//	mrstat                        # live view of /var/run/mrzcpd, Ctrl-C to stop
//	mrstat -interval 2s -n 10     # ten refreshes, two seconds apart
//	mrstat -json                  # one snapshot as JSON, then exit
//	mrstat -run-dir /tmp/gomarsio-demo.abc
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/statview"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // -h asked for the usage: not an error
		}
		fmt.Fprintln(os.Stderr, "mrstat:", err)
		os.Exit(1)
	}
}

const usage = `usage: mrstat [flags]

mrstat shows the live counters of the mrzcpd packet I/O daemon and of the
applications attached to it. It reads the JSON status files in the run dir:
mrmonit.daemon, which mrzcpd rewrites every second (ports, vdevs with their
rx/tx streams, mbuf pools, registered apps), and mrmonit.app.<appsym>, which
each application rewrites every second (its own per-stream counts). Every
-interval it redraws one table with the totals and the rates since the last
refresh (packets/s, bytes/s, drops/s; "-" until two reads are known). A
missing run dir or status file means mrzcpd is not running, or writes its
files elsewhere (-run-dir, $` + monit.EnvRunDir + `).

examples:
  mrstat
  mrstat -interval 2s -n 10
  mrstat -json | jq '.daemon.ports'
  mrstat -run-dir /tmp/gomarsio-demo.abc
  mrstat -run-dir tools/mrstat/testdata/rundir -n 1   # sample files, no daemon needed

flags:
`

// Hooks for tests: the clock, and whether status writers' pids run.
var (
	now   = time.Now
	alive = monit.ProcessAlive
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mrstat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	runDir := fs.String("run-dir", monit.RunDir(), "directory of the status files (env "+monit.EnvRunDir+")")
	interval := fs.Duration("interval", time.Second, "time between refreshes")
	count := fs.Int("n", 0, "stop after `N` refreshes (0: until interrupted)")
	jsonOut := fs.Bool("json", false, "print one snapshot (the parsed status files) as JSON and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *interval <= 0 {
		return fmt.Errorf("-interval %v: must be positive", *interval)
	}
	if *count < 0 {
		return fmt.Errorf("-n %d: must be 0 (forever) or more", *count)
	}
	if *jsonOut {
		s, err := statview.Load(*runDir)
		if err != nil {
			return err
		}
		s.Time = now().UTC()
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	clear := isTerminal(stdout)
	v := statview.NewView()
	ro := statview.RenderOptions{Alive: alive, Now: now}
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for i := 0; *count == 0 || i < *count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		s, err := statview.Load(*runDir)
		if err != nil {
			if i == 0 {
				return err
			}
			// The daemon may be restarting: say so and keep trying.
			if clear {
				fmt.Fprint(stdout, "\x1b[H\x1b[2J")
			}
			fmt.Fprintf(stdout, "%s  mrstat: %v\n", now().UTC().Format("15:04:05"), err)
			continue
		}
		rows := v.Update(s)
		if clear {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J")
		} else if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := statview.Render(stdout, s, rows, ro); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal (only then is the screen
// cleared between frames).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
