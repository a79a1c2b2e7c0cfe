// Package doctor runs the checks behind tools/mrdoctor: one line per check
// telling a newcomer whether hugepages, the DPDK runtime state, the mrzcpd
// daemon and this machine are fit for gomarsio applications, and how to fix
// what is not.
//
// Checks read the host through Options (a root directory for /proc and
// /sys, the DPDK runtime parent directory, the hugepage directories, the
// status-file run dir), so unit tests run them over fake trees. Nothing is
// changed unless Options.Clean is set, and then only files of DPDK
// primaries that are provably dead: a runtime directory whose config file
// no process holds an fcntl lock on, and hugepage files whose prefix has no
// live primary and that no process holds a flock on (EAL keeps a shared
// flock on every hugepage file it maps).
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/shm"
)

// Status is the verdict of one check.
type Status string

// The verdicts. A Fail makes mrdoctor exit non-zero.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Result is one check's outcome: the -json array holds these.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Options say where to look. Zero values mean the real machine's defaults.
type Options struct {
	// Root is prepended to /proc and /sys paths ("" = "/"); tests point it
	// at a fake tree.
	Root string
	// DPDKDir holds the EAL runtime directories, one per --file-prefix
	// ("" = the parent of shm.RuntimeDir: /var/run/dpdk for root).
	DPDKDir string
	// HugeDir restricts the hugepage-file checks to one directory ("" =
	// every hugetlbfs mount in <Root>/proc/mounts).
	HugeDir string
	// FilePrefix selects the primary to check ("" = the daemon status
	// file's file_prefix, else "rte").
	FilePrefix string
	// RunDir holds mrzcpd's status files ("" = monit.RunDir()).
	RunDir string
	// Clean removes stale runtime directories and hugepage files.
	Clean bool
	// CleanPrefix, a filepath.Match pattern, limits Clean to file prefixes
	// that match it ("" = every prefix).
	CleanPrefix string
	// MaxAge is how old mrmonit.daemon may be before the daemon counts as
	// hung (default 5 s; the daemon rewrites it every second).
	MaxAge time.Duration
	// ProbeExe is the program re-executed to test the primary's address
	// ranges in a fresh process; it must call ProbeMain first thing
	// ("" = this executable, /proc/self/exe).
	ProbeExe string
	// NoAttach skips the ABI check's read-only attach to the primary.
	NoAttach bool
}

// rootDPDKDir is where EAL puts root's runtime dirs.
const rootDPDKDir = "/var/run/dpdk"

func (o *Options) fill() {
	if o.DPDKDir == "" {
		o.DPDKDir = filepath.Dir(shm.RuntimeDir(shm.DefaultFilePrefix))
	}
	if o.MaxAge == 0 {
		o.MaxAge = 5 * time.Second
	}
}

// path maps an absolute host path (/proc/…, /sys/…) into Root.
func (o *Options) path(p string) string {
	if o.Root == "" {
		return p
	}
	return filepath.Join(o.Root, p)
}

// Run runs every check in order and returns their results.
func Run(opts Options) []Result {
	r := &runner{opts: opts, userDir: opts.DPDKDir == "" && os.Geteuid() != 0}
	r.loadStatus()
	r.opts.fill()
	r.hugepages()
	r.stale()
	r.daemon()
	r.primary() // also the host checks, which need the primary's address ranges
	return r.out
}

// Failed reports whether any result is a Fail.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

type runner struct {
	opts Options
	out  []Result

	hugeDirs  []string       // where hugepage files are looked for
	live      map[string]int // file prefix → pid of its live primary
	dirsKnown bool           // the runtime dirs could be listed (else nothing is cleaned)
	userDir   bool           // DPDKDir is a non-root user's EAL dir: root's primaries live in rootDPDKDir
	status    *monit.Daemon  // mrmonit.daemon, when readable
	stErr     error          // why not
	prefix    string         // the primary checked below
	runtime   string         // its runtime directory
}

// loadStatus reads mrmonit.daemon before the checks: the daemon's runtime
// dir tells where the DPDK runtime dirs are when Options.DPDKDir is empty
// (mrzcpd runs as root; a user's own EAL dir would be elsewhere).
func (r *runner) loadStatus() {
	if r.opts.RunDir == "" {
		r.opts.RunDir = monit.RunDir()
	}
	r.status, r.stErr = monit.ReadDaemon(monit.DaemonPath(r.opts.RunDir))
	if r.opts.DPDKDir == "" && r.status != nil && r.status.General.RuntimeDir != "" &&
		(r.opts.FilePrefix == "" || r.opts.FilePrefix == r.status.General.FilePrefix) {
		r.opts.DPDKDir = filepath.Dir(r.status.General.RuntimeDir)
	}
}

func (r *runner) add(check string, st Status, detail, fix string) {
	r.out = append(r.out, Result{Check: check, Status: st, Detail: detail, Fix: fix})
}

// WriteText prints results as aligned lines, each warn and fail followed
// by its fix.
func WriteText(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Status, r.Check, oneLine(r.Detail))
		if r.Fix != "" && r.Status != OK {
			fmt.Fprintf(tw, "\t\tfix: %s\n", oneLine(r.Fix))
		}
	}
	return tw.Flush()
}

// WriteJSON prints results as one JSON array.
func WriteJSON(w io.Writer, rs []Result) error {
	if rs == nil {
		rs = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// plural formats n with a noun, adding "s" when n != 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// list shortens a list of names for a detail line.
func list(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(", … (%d more)", len(names)-max)
}
