// Command mrdoctor tells you why gomarsio does not work on this machine:
// one line per check, ok / warn / fail, with the fix for each warn and fail.
//
// It checks hugepages (reserved, hugetlbfs mounted, free), leftovers of
// dead DPDK primaries (runtime dirs and hugepage files), the mrzcpd daemon
// (status file fresh, pid alive, its DPDK primary alive), the primary's
// DPDK and gomarsio ABI versions against this build's, whether this user
// may open the primary's files, ASLR and whether the primary's address
// ranges are free in a fresh process, CPU features and GOMAXPROCS.
//
//	mrdoctor                         # every check, human-readable
//	mrdoctor -json                   # the same as a JSON array
//	mrdoctor -clean                  # also remove dead primaries' files
//	mrdoctor -file-prefix gmdemo_42 -run-dir /tmp/gomarsio-demo.X
//
// It exits with status 1 when any check fails.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/doctor"
)

func main() {
	doctor.ProbeMain() // the fresh child process of the address-range check
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errFailed) {
			fmt.Fprintln(os.Stderr, "mrdoctor:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // -h asked for the usage: not an error
		}
		os.Exit(1)
	}
}

// errFailed: at least one check failed (already printed).
var errFailed = errors.New("a check failed")

const usage = `usage: mrdoctor [flags]

mrdoctor checks what a gomarsio application needs and prints one line per
check: ok, warn or fail, and for each warn and fail how to fix it. It reads
/proc and /sys (hugepages, mounts, locks, ASLR), the DPDK runtime dirs
(/var/run/dpdk/<prefix>, whose config file a live primary keeps locked), the
hugepage files (<hugetlbfs dir>/<prefix>map_N), mrzcpd's status file
(<run dir>/mrmonit.daemon) and, attached read-only, mrzcpd's root memzone.
It changes nothing unless -clean is given; -clean removes only runtime dirs
and hugepage files of primaries that are dead (no process holds their locks).
Run it as root to see everything; it exits with status 1 if a check fails.

examples:
  mrdoctor
  mrdoctor -json | jq '.[] | select(.status != "ok")'
  mrdoctor -clean -clean-prefix 'gmtest_*'
  mrdoctor -file-prefix gmdemo_42 -run-dir /tmp/gomarsio-demo.abc

flags:
`

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mrdoctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	jsonOut := fs.Bool("json", false, "print a JSON array of {check, status, detail, fix}")
	prefix := fs.String("file-prefix", "", "DPDK --file-prefix of the primary to check (default: the daemon status file's, else rte)")
	hugeDir := fs.String("hugedir", "", "hugetlbfs directory to check (default: every hugetlbfs mount)")
	runDir := fs.String("run-dir", monit.RunDir(), "directory of mrzcpd's status files (env "+monit.EnvRunDir+")")
	clean := fs.Bool("clean", false, "remove runtime dirs and hugepage files of dead primaries (never a live primary's)")
	cleanPrefix := fs.String("clean-prefix", "", "with -clean: only prefixes matching this pattern (filepath.Match, e.g. 'gmtest_*')")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *cleanPrefix != "" {
		if _, err := filepathMatch(*cleanPrefix); err != nil {
			return fmt.Errorf("-clean-prefix %q: %w", *cleanPrefix, err)
		}
	}
	rs := doctor.Run(doctor.Options{
		FilePrefix:  *prefix,
		HugeDir:     *hugeDir,
		RunDir:      *runDir,
		Clean:       *clean,
		CleanPrefix: *cleanPrefix,
	})
	var err error
	if *jsonOut {
		err = doctor.WriteJSON(stdout, rs)
	} else {
		err = doctor.WriteText(stdout, rs)
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if doctor.Failed(rs) {
		return errFailed
	}
	return nil
}

func filepathMatch(pattern string) (bool, error) { return filepath.Match(pattern, "") }
