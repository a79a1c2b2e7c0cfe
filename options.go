package marsio

import (
	"flag"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

// Default paths, the seed's.
const (
	// DefaultStatusDir holds mrmonit.daemon and mrmonit.app.<appsym>.
	DefaultStatusDir = "/var/run/mrzcpd"
	// DefaultHugepageDir is where the daemon's hugepage files live.
	DefaultHugepageDir = "/dev/hugepages"
	// DaemonStatusName is the daemon's status file in the status dir.
	DaemonStatusName = "mrmonit.daemon"
	// AppStatusPrefix prefixes the per-application status file name.
	AppStatusPrefix = "mrmonit.app."
	// MaxThreads is the largest number of dataplane threads (MR_MAX_THREADS).
	MaxThreads = 64
	// MaxSymbol is the longest appsym or devsym in bytes (MR_SYMBOL_MAX - 1).
	MaxSymbol = 63
)

// Environment variables that override the default paths. An Option given
// in code wins over the environment; flags (FlagOptions) win over both.
const (
	EnvStatusDir    = "GOMARSIO_STATUS_DIR"    // directory of the status files
	EnvDaemonStatus = "GOMARSIO_DAEMON_STATUS" // the daemon's status file itself
	EnvRuntimeDir   = "GOMARSIO_RUNTIME_DIR"   // the daemon's DPDK runtime dir
	EnvFilePrefix   = "GOMARSIO_FILE_PREFIX"   // the daemon's DPDK --file-prefix
	EnvHugepageDir  = "GOMARSIO_HUGEPAGE_DIR"  // the daemon's hugepage dir
)

// Options configure an Instance. The zero value plus New's defaults gives
// the seed's behaviour except that errors are returned, not fatal.
type Options struct {
	// Threads is the number of dataplane threads (ThreadInit calls). Zero
	// means "as many as CPUs", or 1 when no CPU set is given.
	Threads int
	// CPUs lists the CPUs dataplane threads are bound to, in ThreadInit
	// order (thread i runs on CPUs[i]). Empty: threads are not bound.
	CPUs []int
	// ExitOnError makes every failing Init/ThreadInit/OpenDevice call, and
	// the daemon's death, exit the process with status 1 after printing the
	// error to stderr, as the C library does by default.
	ExitOnError bool
	// OnDaemonGone, if set, is called once (from its own goroutine) when
	// the daemon exits after Init.
	OnDaemonGone func(error)
	// Reattach makes the instance survive daemon restarts: after the
	// daemon's death it waits for a new daemon, attaches to it,
	// registers again and reopens its devices with the same stream counts
	// (reattach.go). Default false: the instance stays gone.
	Reattach bool
	// OnReattach, if set, is called (from the reattaching goroutine) after
	// each attempt that ends a wait: err nil and the new generation (2 for
	// the first restart) when the instance is usable again, or the error
	// that stops this attempt (e.g. ErrVersion: the new daemon has another
	// ABI version; retries continue with backoff). It is also called once
	// with an error wrapping ErrBusy, naming the threads, when a thread has
	// stayed inside a fast-path call for 1 s after the old daemon went: the
	// re-attach waits for it (quiesce.go) and goes on once it returns.
	OnReattach func(generation int, err error)
	// StatusDir holds mrmonit.daemon and this app's mrmonit.app.<appsym>
	// (default $GOMARSIO_STATUS_DIR, else $MRZCPD_RUN_DIR, else
	// /var/run/mrzcpd).
	StatusDir string
	// DaemonStatus is the daemon's status file; empty means
	// StatusDir/mrmonit.daemon.
	DaemonStatus string
	// RuntimeDir is the daemon's DPDK runtime directory; empty means the one
	// EAL's rules give for FilePrefix.
	RuntimeDir string
	// FilePrefix is the daemon's DPDK --file-prefix; empty means the one
	// its status file names, else its config's [eal] file_prefix.
	FilePrefix string
	// HugepageDir is the daemon's hugepage mount; empty means what the
	// daemon's status file and runtime dir say (normally /dev/hugepages).
	HugepageDir string
}

// Option sets one field of Options.
type Option func(*Options) error

// WithThreads sets the number of dataplane threads (1..MaxThreads).
// (MARSIO_OPT_THREAD_NUM.)
func WithThreads(n int) Option {
	return func(o *Options) error {
		if n < 1 || n > MaxThreads {
			return errorf("option", ErrInvalid, "", "threads %d out of range 1..%d", n, MaxThreads)
		}
		o.Threads = n
		return nil
	}
}

// WithCPUMask binds dataplane threads to the CPUs whose bits are set, in
// ascending order. (MARSIO_OPT_THREAD_MASK.)
func WithCPUMask(mask uint64) Option {
	return func(o *Options) error {
		if mask == 0 {
			return errorf("option", ErrInvalid, "", "CPU mask is zero")
		}
		o.CPUs = o.CPUs[:0]
		for m := mask; m != 0; m &= m - 1 {
			o.CPUs = append(o.CPUs, bits.TrailingZeros64(m))
		}
		return nil
	}
}

// WithCPUSet binds dataplane threads to the CPUs of set, in ascending
// order. (MARSIO_OPT_THREAD_MASK_IN_CPUSET.)
func WithCPUSet(set unix.CPUSet) Option {
	return func(o *Options) error {
		var cpus []int
		for c := 0; c < len(set)*64; c++ {
			if set.IsSet(c) {
				cpus = append(cpus, c)
			}
		}
		if len(cpus) == 0 {
			return errorf("option", ErrInvalid, "", "CPU set is empty")
		}
		o.CPUs = cpus
		return nil
	}
}

// WithCPUs binds dataplane thread i to cpus[i].
func WithCPUs(cpus ...int) Option {
	return func(o *Options) error {
		seen := map[int]bool{}
		for _, c := range cpus {
			if c < 0 || c >= cpuSetSize {
				return errorf("option", ErrInvalid, "", "CPU %d out of range 0..%d", c, cpuSetSize-1)
			}
			if seen[c] {
				return errorf("option", ErrInvalid, "", "CPU %d listed twice", c)
			}
			seen[c] = true
		}
		o.CPUs = append([]int(nil), cpus...)
		return nil
	}
}

// WithExitOnError chooses the C library's behaviour: failures print and exit
// the process. (MARSIO_OPT_EXIT_WHEN_ERR; the Go default is false.)
func WithExitOnError(exit bool) Option {
	return func(o *Options) error { o.ExitOnError = exit; return nil }
}

// WithOnDaemonGone registers a callback run once when the daemon exits.
func WithOnDaemonGone(f func(error)) Option {
	return func(o *Options) error { o.OnDaemonGone = f; return nil }
}

// WithReattach makes the instance re-attach to a restarted daemon (see
// Options.Reattach and reattach.go).
func WithReattach(on bool) Option {
	return func(o *Options) error { o.Reattach = on; return nil }
}

// WithReattachCallback registers a callback run after each re-attach
// attempt that ends a wait (nil error: usable again as generation gen).
func WithReattachCallback(f func(gen int, err error)) Option {
	return func(o *Options) error { o.OnReattach = f; return nil }
}

// WithStatusDir sets the directory of the status files.
func WithStatusDir(dir string) Option {
	return func(o *Options) error { o.StatusDir = dir; return nil }
}

// WithDaemonStatus sets the daemon's status file (mrmonit.daemon).
func WithDaemonStatus(path string) Option {
	return func(o *Options) error { o.DaemonStatus = path; return nil }
}

// WithRuntimeDir sets the daemon's DPDK runtime directory.
func WithRuntimeDir(dir string) Option {
	return func(o *Options) error { o.RuntimeDir = dir; return nil }
}

// WithFilePrefix sets the daemon's DPDK --file-prefix.
func WithFilePrefix(prefix string) Option {
	return func(o *Options) error { o.FilePrefix = prefix; return nil }
}

// WithHugepageDir sets the daemon's hugepage mount.
func WithHugepageDir(dir string) Option {
	return func(o *Options) error { o.HugepageDir = dir; return nil }
}

// defaultOptions is the seed's defaults overridden by the environment.
func defaultOptions() Options {
	o := Options{StatusDir: monit.RunDir()} // $MRZCPD_RUN_DIR or the default
	if v := os.Getenv(EnvStatusDir); v != "" {
		o.StatusDir = v
	}
	o.DaemonStatus = os.Getenv(EnvDaemonStatus)
	o.RuntimeDir = os.Getenv(EnvRuntimeDir)
	o.FilePrefix = os.Getenv(EnvFilePrefix)
	o.HugepageDir = os.Getenv(EnvHugepageDir)
	return o
}

// daemonStatusPath is where the daemon's status file is read from.
func (o *Options) daemonStatusPath() string {
	if o.DaemonStatus != "" {
		return o.DaemonStatus
	}
	return filepath.Join(o.StatusDir, DaemonStatusName)
}

// appStatusPath is this application's status file.
func (o *Options) appStatusPath(appsym string) string {
	return filepath.Join(o.StatusDir, AppStatusPrefix+appsym)
}

// threadCount resolves Threads against CPUs as the seed does (thread count
// from the CPU set when not given).
func (o *Options) threadCount() (int, error) {
	n := o.Threads
	if n == 0 {
		n = len(o.CPUs)
	}
	if n == 0 {
		n = 1
	}
	if n > MaxThreads {
		return 0, errorf("init", ErrInvalid, "", "%d threads, at most %d", n, MaxThreads)
	}
	if len(o.CPUs) > 0 && n > len(o.CPUs) {
		return 0, errorf("init", ErrInvalid, "give as many CPUs as threads", "%d threads but only %d CPUs in the set", n, len(o.CPUs))
	}
	return n, nil
}

// clone returns a deep copy.
func (o Options) clone() Options {
	o.CPUs = append([]int(nil), o.CPUs...)
	return o
}

// FlagOptions registers flags for every Options field on fs (names start
// with prefix, e.g. "marsio.") and returns a function that, after
// fs.Parse, returns Options for the flags that were set. Flags win over
// code-set options when appended after them:
//
//	get := marsio.FlagOptions(flag.CommandLine, "marsio.")
//	flag.Parse()
//	inst, err := marsio.New(append([]marsio.Option{marsio.WithThreads(2)}, get()...)...)
func FlagOptions(fs *flag.FlagSet, prefix string) func() []Option {
	threads := fs.Int(prefix+"threads", 0, "number of dataplane threads")
	mask := fs.String(prefix+"cpumask", "", "CPU mask of the dataplane threads (hex, e.g. 0x6)")
	cpus := fs.String(prefix+"cpus", "", "CPU list of the dataplane threads (e.g. 2,3)")
	exit := fs.Bool(prefix+"exit-on-error", false, "exit the process on any error, as the C library does")
	statusDir := fs.String(prefix+"status-dir", "", "status file directory (default "+DefaultStatusDir+", env "+EnvStatusDir+")")
	daemonStatus := fs.String(prefix+"daemon-status", "", "the daemon's status file (default <status-dir>/"+DaemonStatusName+", env "+EnvDaemonStatus+")")
	runtimeDir := fs.String(prefix+"runtime-dir", "", "the daemon's DPDK runtime dir (env "+EnvRuntimeDir+")")
	filePrefix := fs.String(prefix+"file-prefix", "", "the daemon's DPDK file prefix (env "+EnvFilePrefix+")")
	// Only the flags registered here count (an application may have its own
	// "threads" flag when prefix is empty: then it must not clash).
	hugeDir := fs.String(prefix+"hugepage-dir", "", "the daemon's hugepage dir (default: the daemon's, env "+EnvHugepageDir+")")
	return func() []Option {
		var opts []Option
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) {
			if name, ok := strings.CutPrefix(f.Name, prefix); ok {
				set[name] = true
			}
		})
		if set["threads"] {
			opts = append(opts, WithThreads(*threads))
		}
		if set["cpumask"] {
			m, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(*mask), "0x"), 16, 64)
			if err != nil {
				opts = append(opts, func(*Options) error {
					return errorf("option", ErrInvalid, "", "-%scpumask %q: not a hex mask", prefix, *mask)
				})
			} else {
				opts = append(opts, WithCPUMask(m))
			}
		}
		if set["cpus"] {
			list, err := ParseCPUList(*cpus)
			if err != nil {
				opts = append(opts, func(*Options) error { return err })
			} else {
				opts = append(opts, WithCPUs(list...))
			}
		}
		if set["exit-on-error"] {
			opts = append(opts, WithExitOnError(*exit))
		}
		if set["status-dir"] {
			opts = append(opts, WithStatusDir(*statusDir))
		}
		if set["daemon-status"] {
			opts = append(opts, WithDaemonStatus(*daemonStatus))
		}
		if set["runtime-dir"] {
			opts = append(opts, WithRuntimeDir(*runtimeDir))
		}
		if set["file-prefix"] {
			opts = append(opts, WithFilePrefix(*filePrefix))
		}
		if set["hugepage-dir"] {
			opts = append(opts, WithHugepageDir(*hugeDir))
		}
		return opts
	}
}

// ParseCPUList parses a Linux CPU list such as "0,2-4".
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, errorf("option", ErrInvalid, "", "CPU list %q: bad CPU %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, errorf("option", ErrInvalid, "", "CPU list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) == 0 {
		return nil, errorf("option", ErrInvalid, "", "CPU list %q is empty", s)
	}
	return cpus, nil
}

// String renders the options for logs.
func (o Options) String() string {
	return fmt.Sprintf("threads=%d cpus=%v exit-on-error=%t status-dir=%s daemon-status=%s runtime-dir=%s file-prefix=%s hugepage-dir=%s",
		o.Threads, o.CPUs, o.ExitOnError, o.StatusDir, o.daemonStatusPath(), o.RuntimeDir, o.FilePrefix, o.HugepageDir)
}
