// Package monit reads and writes the JSON status files of mrzcpd and its
// applications (the seed's "monit" files):
//
//	<run dir>/mrmonit.daemon          written by mrzcpd every second
//	<run dir>/mrmonit.app.<appsym>    written by each application every second
//
// The run dir defaults to /var/run/mrzcpd and is overridden by
// $MRZCPD_RUN_DIR (RunDir). Files are replaced atomically (WriteFile:
// write a temporary file in the same directory, fsync, rename), so a reader
// never sees a half-written file. Readers are strict: a file that is not
// JSON, has trailing data, or lacks a required field is an error naming the
// file and the field (ErrFormat); a missing file is ErrNotExist (also
// matching fs.ErrNotExist); a file whose writer is gone is ErrStale
// (Daemon.CheckAlive).
//
// The daemon file keeps the seed's shape where the seed's readers look:
// general.g_cfgfile is the global config path. Everything else is ours.
package monit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Default locations and the environment variable that overrides the run dir.
const (
	DefaultRunDir  = "/var/run/mrzcpd"
	EnvRunDir      = "MRZCPD_RUN_DIR"
	DaemonFileName = "mrmonit.daemon"
	AppFilePrefix  = "mrmonit.app."
)

// Errors, testable with errors.Is.
var (
	ErrNotExist = errors.New("status file does not exist")
	ErrFormat   = errors.New("malformed status file")
	ErrStale    = errors.New("stale status file: its writer is not running")
)

// RunDir returns $MRZCPD_RUN_DIR when set, else DefaultRunDir.
func RunDir() string {
	if d := os.Getenv(EnvRunDir); d != "" {
		return d
	}
	return DefaultRunDir
}

// DaemonPath returns the daemon status file in runDir ("" = RunDir()).
func DaemonPath(runDir string) string {
	if runDir == "" {
		runDir = RunDir()
	}
	return filepath.Join(runDir, DaemonFileName)
}

// AppPath returns the status file of appsym in runDir ("" = RunDir()).
func AppPath(runDir, appsym string) string {
	if runDir == "" {
		runDir = RunDir()
	}
	return filepath.Join(runDir, AppFilePrefix+appsym)
}

// Counters is one counter block.
type Counters struct {
	Pkts   uint64 `json:"pkts"`
	Bytes  uint64 `json:"bytes"`
	Drops  uint64 `json:"drops"`
	Events uint64 `json:"events,omitempty"`
}

// DaemonGeneral is the "general" object of mrmonit.daemon.
type DaemonGeneral struct {
	GCfgfile    string `json:"g_cfgfile"`    // global config path (the seed's key; required)
	Pid         int    `json:"pid"`          // daemon pid (required)
	StartTime   int64  `json:"start_ns"`     // CLOCK_REALTIME ns at start-up
	UpdateTime  int64  `json:"update_ns"`    // CLOCK_REALTIME ns of this write
	FilePrefix  string `json:"file_prefix"`  // EAL --file-prefix (required)
	RuntimeDir  string `json:"runtime_dir"`  // EAL runtime dir (/var/run/dpdk/<prefix>)
	HugeDir     string `json:"huge_dir"`     // hugepage dir ("" = DPDK's default)
	RunDir      string `json:"run_dir"`      // where the status files are
	DPDKVersion string `json:"dpdk_version"` // e.g. "DPDK 22.11.11"
	ABIVersion  uint32 `json:"abi_version"`  // MR_ABI_VERSION
	Root        uint64 `json:"root"`         // address of struct mr_root
	// AppGroup is [service] app_group: the group whose members may run
	// applications without root ("" = root only).
	AppGroup string `json:"app_group,omitempty"`
}

// PoolStatus is one mbuf pool.
type PoolStatus struct {
	Name      string `json:"name"`
	Size      uint32 `json:"size"`
	Available uint32 `json:"available"` // rte_mempool_avail_count
	InUse     uint32 `json:"in_use"`
	// Ring is the head and tail of both ends of the pool's ring (absent
	// in files of older daemons).
	Ring *RingEnds `json:"ring,omitempty"`
}

// RingEnds are the head and tail of both ends of a ring (struct
// rte_ring_headtail). Between operations head == tail on each end; a
// head ≠ tail that stays is the half-done operation of a process killed
// between its head move and its tail store: every later operation on that
// end waits forever.
type RingEnds struct {
	ProdHead uint32 `json:"prod_head"`
	ProdTail uint32 `json:"prod_tail"`
	ConsHead uint32 `json:"cons_head"`
	ConsTail uint32 `json:"cons_tail"`
}

// StalledWorker is a dataplane worker of the daemon whose loop stopped
// advancing for the stall timeout (mrzcpd -stall-timeout): it is stuck,
// most likely spinning inside DPDK's ring code behind a dead application's
// half-done operation on a shared pool. The daemon then exits (status 3)
// and leaves its status file with this record for the operator.
type StalledWorker struct {
	Worker  int      `json:"worker"`
	Ports   []string `json:"ports,omitempty"`
	Vdevs   []string `json:"vdevs,omitempty"`
	Epoch   uint64   `json:"epoch"`      // loop count it stopped at
	Stalled int64    `json:"stalled_ns"` // how long it had not advanced at detection
	Time    int64    `json:"time_ns"`    // CLOCK_REALTIME ns of the detection
	Cause   string   `json:"cause"`      // the daemon's diagnosis
}

// PortStatus is one port.
type PortStatus struct {
	Name     string   `json:"name"`
	PortID   uint16   `json:"port_id"`
	Device   string   `json:"device"`
	MAC      string   `json:"mac"`
	LinkUp   bool     `json:"link_up"`
	Rx       Counters `json:"rx"`
	Tx       Counters `json:"tx"`
	Missed   uint64   `json:"imissed"`
	Errors   uint64   `json:"ierrors"`
	OErrors  uint64   `json:"oerrors"`
	RxNoMbuf uint64   `json:"rx_nombuf"` // rte_eth_stats.rx_nombuf: no mbuf for a received packet
}

// StreamStatus is one rx or tx stream of an opened vdev.
type StreamStatus struct {
	Daemon Counters `json:"daemon"`
	App    Counters `json:"app"`
	Count  uint32   `json:"ring_count"`
}

// Drops are a vdev's dropped packets by reason (struct mr_drops of the
// ABI): cumulative over the daemon's lifetime.
type Drops struct {
	RxRingFull    uint64 `json:"rx_ring_full"`     // an rx stream ring was full
	NoMbuf        uint64 `json:"no_mbuf"`          // the port's rx_nombuf
	NoApp         uint64 `json:"no_app"`           // no application had the vdev open
	Filtered      uint64 `json:"filtered"`         // refused by a filter (reserved)
	PortTxRefused uint64 `json:"port_tx_refused"`  // the port's tx burst refused them
	AppTxRingFull uint64 `json:"app_tx_ring_full"` // the app found a tx ring full
	Malformed     uint64 `json:"malformed"`        // too short for distribution (reserved)
}

// Total is the sum over the reasons.
func (d Drops) Total() uint64 {
	return d.RxRingFull + d.NoMbuf + d.NoApp + d.Filtered + d.PortTxRefused + d.AppTxRingFull + d.Malformed
}

// VdevStatus is one vdev.
type VdevStatus struct {
	Devsym string         `json:"devsym"`
	Port   string         `json:"port"`
	State  string         `json:"state"` // "idle" or "open"
	App    string         `json:"app,omitempty"`
	PortRx Counters       `json:"port_rx"`
	PortTx Counters       `json:"port_tx"`
	NoApp  Counters       `json:"no_app"`
	Drops  Drops          `json:"drops"` // by reason, cumulative
	Rx     []StreamStatus `json:"rx,omitempty"`
	Tx     []StreamStatus `json:"tx,omitempty"`
}

// AppSummary is one registered application as the daemon sees it.
type AppSummary struct {
	Slot      uint32   `json:"slot"`
	Appsym    string   `json:"appsym"`
	Pid       int      `json:"pid"`
	State     string   `json:"state"`
	Vdevs     []string `json:"vdevs,omitempty"`
	MonitFile string   `json:"monit_file,omitempty"`
}

// Reclaim is the record of one dead app's reclaimed mbufs.
type Reclaim struct {
	Appsym    string `json:"appsym"`
	Pid       int    `json:"pid"`
	Time      int64  `json:"time_ns"`
	FromRings uint64 `json:"from_rings"`
	FromCache uint64 `json:"from_caches"`
	FromTags  uint64 `json:"from_owner_tags"`
}

// Daemon is mrmonit.daemon.
type Daemon struct {
	General  DaemonGeneral `json:"general"`
	Pools    []PoolStatus  `json:"pools"`
	Ports    []PortStatus  `json:"ports"`
	Vdevs    []VdevStatus  `json:"vdevs"`
	Apps     []AppSummary  `json:"apps"`
	Reclaims []Reclaim     `json:"reclaims,omitempty"`
	// StalledWorkers is set once the stall watchdog found stuck workers
	// (the daemon is exiting; the last file it writes keeps them).
	StalledWorkers []StalledWorker `json:"stalled_workers,omitempty"`
}

// AppGeneral is the "general" object of mrmonit.app.<appsym>.
type AppGeneral struct {
	Appsym     string `json:"appsym"` // required
	Pid        int    `json:"pid"`    // required
	Slot       uint32 `json:"slot"`
	GCfgfile   string `json:"g_cfgfile"`
	AppCfgfile string `json:"app_cfgfile"`
	StartTime  int64  `json:"start_ns"`
	UpdateTime int64  `json:"update_ns"`
	NrThreads  uint32 `json:"nr_threads"`
}

// AppStream is one stream as the application sees it.
type AppStream struct {
	Index  uint32 `json:"index"`
	Pkts   uint64 `json:"pkts"`
	Bytes  uint64 `json:"bytes"`
	Drops  uint64 `json:"drops"`
	Events uint64 `json:"events,omitempty"`
}

// AppDevice is one vdev an application has open.
type AppDevice struct {
	Devsym string      `json:"devsym"`
	MAC    string      `json:"mac"`
	Rx     []AppStream `json:"rx"`
	Tx     []AppStream `json:"tx"`
}

// AppThread is one dataplane thread of an application.
type AppThread struct {
	ID     uint32 `json:"id"`
	TID    int    `json:"tid"`
	CPU    int    `json:"cpu"`
	Sleeps uint64 `json:"sleeps"`
}

// App is mrmonit.app.<appsym>.
type App struct {
	General AppGeneral  `json:"general"`
	Devices []AppDevice `json:"devices"`
	Threads []AppThread `json:"threads"`
}

// WriteFile writes v as indented JSON to path atomically: a temporary file
// in the same directory, fsync, chmod 0644, rename over path.
func WriteFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("status file %s: encode: %w", path, err)
	}
	data = append(data, '\n')
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("status file %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("status file %s: write: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("status file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("status file %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("status file %s: close: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("status file %s: rename: %w", path, err)
	}
	ok = true
	return nil
}

// fileError names the file; it matches its kind (ErrNotExist, ErrFormat,
// ErrStale) and its cause (fs.ErrNotExist, …) with errors.Is.
type fileError struct {
	path string
	err  error
	kind error
}

func (e *fileError) Error() string {
	return "status file " + e.path + ": " + e.err.Error()
}
func (e *fileError) Unwrap() []error { return []error{e.kind, e.err} }

func readStrict(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &fileError{path, fmt.Errorf("%w (is mrzcpd running? set %s or the run-dir flag if it uses another run dir)", err, EnvRunDir), ErrNotExist}
	}
	if err != nil {
		return fmt.Errorf("status file %s: %w", path, err)
	}
	return decodeStrict(path, data, v)
}

func decodeStrict(path string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &fileError{path, errors.New("empty file"), ErrFormat}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return &fileError{path, fmt.Errorf("not valid JSON: %w", err), ErrFormat}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &fileError{path, errors.New("trailing data after the JSON object"), ErrFormat}
	}
	return nil
}

func missing(path, field string) error {
	return &fileError{path, fmt.Errorf("missing or empty %s", field), ErrFormat}
}

// ReadDaemon reads and checks mrmonit.daemon at path. Required:
// general.g_cfgfile, general.pid, general.file_prefix.
func ReadDaemon(path string) (*Daemon, error) {
	var d Daemon
	if err := readStrict(path, &d); err != nil {
		return nil, err
	}
	switch {
	case d.General.GCfgfile == "":
		return nil, missing(path, "general.g_cfgfile")
	case d.General.Pid <= 0:
		return nil, missing(path, "general.pid")
	case d.General.FilePrefix == "":
		return nil, missing(path, "general.file_prefix")
	}
	return &d, nil
}

// ReadApp reads and checks mrmonit.app.<appsym> at path. Required:
// general.appsym, general.pid.
func ReadApp(path string) (*App, error) {
	var a App
	if err := readStrict(path, &a); err != nil {
		return nil, err
	}
	switch {
	case a.General.Appsym == "":
		return nil, missing(path, "general.appsym")
	case a.General.Pid <= 0:
		return nil, missing(path, "general.pid")
	}
	return &a, nil
}

// ProcessAlive reports whether a process with pid exists (kill(pid, 0);
// EPERM counts as alive).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// CheckAlive returns an error matching ErrStale when the daemon that wrote
// the file is not running, or when the file has not been updated for
// maxAge (0 = do not check the age).
func (d *Daemon) CheckAlive(path string, maxAge time.Duration) error {
	if !ProcessAlive(d.General.Pid) {
		return &fileError{path, fmt.Errorf("mrzcpd pid %d is not running", d.General.Pid), ErrStale}
	}
	if maxAge > 0 && d.General.UpdateTime > 0 {
		age := time.Since(time.Unix(0, d.General.UpdateTime))
		if age > maxAge {
			return &fileError{path, fmt.Errorf("not updated for %v (mrzcpd pid %d hung?)", age.Round(time.Millisecond), d.General.Pid), ErrStale}
		}
	}
	return nil
}
