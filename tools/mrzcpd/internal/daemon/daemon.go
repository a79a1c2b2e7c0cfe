// Package daemon is mrzcpd: a DPDK 22.11 primary that owns the ports and
// the hugepage memory and serves applications through the shared-memory ABI
// of gen/abi/mrzcpd_abi.h (see docs/ABI.md).
//
// Start-up (Run): EAL (--no-pci unless PCI ports are configured, own
// --file-prefix), the config's vdev ports (rte_dev_probe), the owner dynfield, the
// root memzone, the MZ… pools (ring_mp_mc ops, so applications can drive
// them from Go through the ring), the ports, the control actions (rte_mp),
// rte_pdump, then the root's magic is published and the dataplane workers
// and the status file writer start. SIGTERM/SIGINT (context cancellation)
// stops everything in reverse and removes the runtime dir, the hugepage
// files and the status file. The stall watchdog (watchdog.go,
// Options.StallTimeout) ends it instead when a worker is stuck behind a
// dead application's half-done pool ring operation: the same clean-up
// without waiting for that worker, the status file kept with the stall,
// and Run returns ErrWorkerStalled.
package daemon

/*
#include <stdlib.h>
#include "dp.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/fastpath/flowhash"
)

// Options say where the daemon's files are. Empty fields take the config's
// values and then the defaults.
type Options struct {
	Config     *mrconf.Config // required
	RunDir     string         // status files; default monit.RunDir()
	FilePrefix string         // overrides [eal] file_prefix
	HugeDir    string         // overrides [eal] huge_dir
	Logger     *log.Logger    // default: stderr with prefix "mrzcpd: "
	// StatusInterval is the status file period (default 1 s).
	StatusInterval time.Duration
	// StallTimeout is the stall watchdog's timeout (watchdog.go): a worker
	// whose loop has not advanced for it is stalled, and the daemon shuts
	// down without it and Run returns ErrWorkerStalled. 0 disables the
	// watchdog.
	StallTimeout time.Duration
	// Ready, when set, is called once everything is up (status file written).
	Ready func()
	// Observe, when set, is called once everything is up with the root's
	// address and the control lock (under which shared objects are freed);
	// the func it returns runs after shutdown, before EAL unmaps memory.
	Observe func(root uintptr, ctl sync.Locker) (stop func())
}

type portState struct {
	cfg     *mrconf.Port
	id      uint16
	started bool
	err     error // why it did not start
	mac     [6]byte
	mtu     uint32 // rte_eth_dev_get_mtu after setup
	driver  string
}

// active is what a worker needs of an open vdev; replaced as a whole.
type active struct {
	inst *C.struct_mr_vdev_instance
	efds *C.int // nr_rx eventfds (C memory)
	nrx  uint32
	ntx  uint32
}

type vdevState struct {
	idx    int
	cfg    *mrconf.Vdev
	port   *portState
	desc   *C.struct_mr_vdev_desc
	active atomic.Pointer[active]
	// Control side (under daemon.mu).
	owner int // app slot or -1
	efds  []int
	inst  *C.struct_mr_vdev_instance
}

type appState struct {
	slot       int
	appsym     string
	pid        int
	generation uint64
	zone       *C.struct_mr_app_zone
	sock       *os.File
	vdevs      map[int]bool
	done       bool // torn down (deregistered or reclaimed)
}

type daemon struct {
	opts   Options
	cfg    *mrconf.Config
	log    *log.Logger
	hasher flowhash.Hasher

	root     *C.struct_mr_root
	ports    []*portState
	vdevs    []*vdevState
	workers  []*worker
	runDir   string
	prefix   string
	hugeDir  string
	rtDir    string
	start    time.Time
	stopping atomic.Bool
	group    *appGroup   // [service] app_group; nil = root only
	ctl      ctlQueue    // control requests, served off EAL's mp thread
	trace    daemonTrace // the data-path trace area (trace.go)
	stall    stallState  // the stall watchdog's record (watchdog.go)

	mu       sync.Mutex
	apps     [maxApps]*appState
	gens     [maxApps]uint64
	reclaims []monit.Reclaim
}

// current is the running daemon: the rte_mp callback reaches it through here
// (one EAL per process, so one daemon).
var current atomic.Pointer[daemon]

// Run starts the daemon, serves until ctx is done, then shuts down and
// cleans up. It can run once per process (EAL initialises once).
func Run(ctx context.Context, o Options) (err error) {
	if o.Config == nil {
		return errors.New("mrzcpd: no config")
	}
	d := &daemon{opts: o, cfg: o.Config, log: o.Logger, start: time.Now()}
	d.stall.ch = make(chan struct{})
	d.stall.acked = make(chan struct{})
	if d.log == nil {
		d.log = log.New(os.Stderr, "mrzcpd: ", log.LstdFlags|log.Lmicroseconds)
	}
	if o.StatusInterval <= 0 {
		d.opts.StatusInterval = time.Second
	}
	d.runDir = o.RunDir
	if d.runDir == "" {
		d.runDir = monit.RunDir()
	}
	eal := d.cfg.EAL
	eal.ApplyEnv()
	if o.FilePrefix != "" {
		eal.FilePrefix = o.FilePrefix
	}
	if o.HugeDir != "" {
		eal.HugeDir = o.HugeDir
	}
	d.cfg.EAL = eal
	d.prefix = eal.FilePrefix
	d.hugeDir = eal.HugeDir
	if d.hasher, err = flowhash.New(flowhash.DistMode(d.cfg.Service.DistMode),
		flowhash.HashMode(d.cfg.Service.HashMode), d.cfg.Service.HashSeed); err != nil {
		return fmt.Errorf("config %s: [service]: %w", d.cfg.Path, err)
	}
	if err := os.MkdirAll(d.runDir, 0o755); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	if d.group, err = lookupAppGroup(d.cfg.Service.AppGroup); err != nil {
		return fmt.Errorf("config %s: %w", d.cfg.Path, err)
	}
	if !current.CompareAndSwap(nil, d) {
		return errors.New("mrzcpd: Run called twice in one process")
	}
	if err := d.startEAL(); err != nil {
		return err
	}
	defer d.cleanupEAL()
	if base, _ := d.baseVirtaddr(); base != 0 && !d.cfg.EAL.NoHuge {
		if err := checkMemsegLists(base); err != nil { // vaddr.go
			return err
		}
	}
	if d.group != nil {
		if err := d.group.register(); err != nil {
			return err
		}
		defer d.group.unregister()
		if err := d.fixGroup(); err != nil {
			return err
		}
	}
	if err := d.setup(); err != nil {
		return err
	}
	if err := d.fixGroup(); err != nil {
		return err
	}
	d.startWorkers()
	statusPath := monit.DaemonPath(d.runDir)
	if err := d.writeStatus(statusPath); err != nil {
		d.stopWorkers()
		return err
	}
	d.log.Printf("ready: pid %d, file prefix %s, runtime dir %s, status %s, %d ports, %d vdevs, %d workers",
		os.Getpid(), d.prefix, d.rtDir, statusPath, len(d.ports), len(d.vdevs), len(d.workers))
	if o.Observe != nil {
		stopObserve := o.Observe(uintptrOf(d.root), &d.mu)
		defer func() { // deferred after cleanupEAL: runs before it
			switch {
			case !d.anyStalled():
				stopObserve()
			case d.stall.ctlStuck.Load(): // it takes the control lock
				d.log.Printf("observer (metrics) not stopped: the control plane is stuck")
			case !bounded(2*time.Second, stopObserve):
				d.log.Printf("observer (metrics) did not stop: left behind")
			}
		}()
	}
	if d.opts.StallTimeout > 0 {
		wdDone := make(chan struct{})
		defer close(wdDone)
		go d.watchdog(wdDone)
	}
	if o.Ready != nil {
		o.Ready()
	}
	tick := time.NewTicker(d.opts.StatusInterval)
	defer tick.Stop()
	groupWarned := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-d.stall.ch:
			break loop
		case <-tick.C:
			if err := d.writeStatus(statusPath); err != nil {
				d.log.Printf("status file: %v", err)
			}
			if err := d.fixGroup(); err != nil && !groupWarned {
				d.log.Printf("warning: %v", err)
				groupWarned = true
			}
		}
	}
	if d.stalled() {
		d.stall.ackOnce.Do(func() { close(d.stall.acked) })
		return d.stallShutdown(statusPath)
	}
	d.log.Printf("shutting down")
	if d.group != nil {
		d.log.Print(d.group.summary())
	}
	d.shutdown()
	if d.anyStalled() {
		return fmt.Errorf("%w: a worker did not stop at shutdown (most likely stuck behind a dead application's half-done operation on a shared pool ring)", ErrWorkerStalled)
	}
	os.Remove(statusPath)
	return nil
}

// stallShutdown is the shutdown after a worker stall: the status file
// with the stall, the normal shutdown without waiting for the stalled
// workers (nor longer than a bound for the control plane), and the
// status file kept for the operator. cleanupEAL (deferred) then removes
// the runtime dir and the hugepage files.
func (d *daemon) stallShutdown(statusPath string) error {
	ws := d.stalledWorkers()
	d.log.Printf("shutting down after a worker stall")
	bound := max(d.opts.StallTimeout, time.Second)
	s, ok := d.statusBounded(bound)
	if !ok {
		d.log.Printf("ERROR: control plane busy for %v (stuck too?): status file without vdevs and apps", bound)
	}
	if err := monit.WriteFile(statusPath, s); err != nil {
		d.log.Printf("status file: %v", err)
	}
	if d.group != nil {
		d.log.Print(d.group.summary())
	}
	d.shutdown()
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = strconv.Itoa(w.Worker)
	}
	return fmt.Errorf("%w: worker %s stuck for %v or more, most likely behind a dead application's half-done operation on a shared pool ring (see the log's pool ring lines; status file %s keeps stalled_workers)",
		ErrWorkerStalled, strings.Join(ids, ","), d.opts.StallTimeout, statusPath)
}

func (d *daemon) ealArgs() []string {
	e := d.cfg.EAL
	args := []string{"mrzcpd", "--proc-type=primary", "--file-prefix", e.FilePrefix}
	switch {
	case e.Lcores != "":
		args = append(args, "-l", e.Lcores)
	case e.Coremask != 0:
		args = append(args, "-c", "0x"+strconv.FormatUint(e.Coremask, 16))
	default:
		args = append(args, "-l", "0")
	}
	if e.MemoryMB > 0 {
		args = append(args, "-m", strconv.FormatUint(uint64(e.MemoryMB), 10))
	}
	if e.HugeDir != "" {
		args = append(args, "--huge-dir", e.HugeDir)
	}
	if e.NoHuge {
		args = append(args, "--no-huge")
	}
	if base, add := d.baseVirtaddr(); add { // vaddr.go: 72 TiB unless configured
		args = append(args, "--base-virtaddr", "0x"+strconv.FormatUint(base, 16))
	}
	if e.LogLevel != 0 {
		args = append(args, "--log-level", strconv.FormatUint(uint64(e.LogLevel), 10))
	}
	if d.cfg.HasPCI() {
		for i := range d.cfg.Ports {
			if p := &d.cfg.Ports[i]; !p.IsVdev() {
				args = append(args, "-a", p.DeviceArg())
			}
		}
	} else {
		args = append(args, "--no-pci")
	}
	// vdev ports are probed after EAL init (rte_dev_probe), one by one, so
	// that one that fails is reported and the others still serve.
	return append(args, e.ExtraArgs...)
}

func (d *daemon) startEAL() error {
	args := d.ealArgs()
	d.log.Printf("EAL arguments: %q", args)
	base, _ := d.baseVirtaddr()
	if err := checkVirtaddrFree(base); err != nil {
		return err
	}
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a) // EAL keeps pointers into argv: never freed
	}
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	copy(unsafe.Slice(cargv, len(argv)), argv)
	// EAL pins the calling thread to the main lcore: keep this goroutine on
	// its thread and give the thread its old CPU set back afterwards, as the
	// seed does, so Go's other threads are not confined.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set unix.CPUSet
	haveSet := unix.SchedGetaffinity(0, &set) == nil
	ret := C.mr_eal_init(C.int(len(args)), cargv)
	if haveSet {
		_ = unix.SchedSetaffinity(0, &set)
	}
	if ret < 0 {
		return fmt.Errorf("rte_eal_init: %s (%d) (arguments %q; hugepages reserved? `make deps`; another primary with file prefix %q?)",
			unix.Errno(-ret).Error(), -ret, args, d.prefix)
	}
	d.rtDir = C.GoString(C.mr_runtime_dir())
	return nil
}

func (d *daemon) setup() error {
	if off := C.mr_owner_register(); off < 0 {
		return fmt.Errorf("rte_mbuf_dynfield_register(%s): %v", C.MR_OWNER_DYNFIELD, unix.Errno(-off))
	}
	d.root = C.mr_root_create()
	if d.root == nil {
		return fmt.Errorf("memzone %s: %s", C.MR_ROOT_MEMZONE, C.GoString(C.mr_strerror_last()))
	}
	r := d.root
	r.abi_version = abiVersion
	r.dpdk_version = C.uint32_t(dpdkVersionNum())
	r.daemon_pid = C.int32_t(os.Getpid())
	r.start_ns = C.uint64_t(d.start.UnixNano())
	r.distmode = C.uint32_t(d.cfg.Service.DistMode)
	r.hashmode = C.uint32_t(d.cfg.Service.HashMode)
	r.hash_seed = C.uint32_t(d.cfg.Service.HashSeed)
	r.owner_dynfield_offset = C.int32_t(C.mr_owner_offset())
	setCstr(&r.g_cfgfile[0], len(r.g_cfgfile), d.cfg.Path)

	eb := newErrBuf()
	defer eb.free()
	for i, p := range d.cfg.Pools {
		name := C.CString(p.Name)
		ret := C.mr_pool_create(C.uint32_t(i), name, C.uint32_t(p.Size), C.uint32_t(p.Cache),
			C.uint32_t(p.PrivSize), C.uint32_t(p.DataRoom), C.int(p.Socket), eb.p, errBufLen)
		C.free(unsafe.Pointer(name))
		if ret != 0 {
			return fmt.Errorf("config %s: [pool:%s]: %s", d.cfg.Path, p.Name, eb)
		}
		d.log.Printf("pool %s: %d mbufs, data room %d, ops ring_mp_mc", p.Name, p.Size, p.DataRoom)
	}
	r.nr_pools = C.uint32_t(len(d.cfg.Pools))
	if err := d.setupTrace(); err != nil {
		return err
	}

	for i := range d.cfg.Ports {
		p := &d.cfg.Ports[i]
		ps := &portState{cfg: p}
		d.ports = append(d.ports, ps)
		var info C.struct_mr_port_info
		if _, args, _ := strings.Cut(p.Devargs, ","); strings.HasPrefix(p.Driver(), "net_pcap") && len(args) >= 64 {
			// 22.11's pcap PMD keeps only 63 bytes of its devargs for
			// secondaries (ETH_PCAP_ARG_MAXLEN): they cannot attach it.
			d.log.Printf("warning: port %s: pcap devargs of %d bytes: EAL secondaries (dpdk-dumpcap, dpdk-proc-info, marsio -tags eal) cannot attach this port (max 63; use shorter paths)", p.Name, len(args))
		}
		if p.IsVdev() {
			devargs := C.CString(p.DeviceArg())
			ret := C.mr_dev_probe(devargs, eb.p, errBufLen)
			C.free(unsafe.Pointer(devargs))
			if ret != 0 {
				ps.err = fmt.Errorf("port %s: %s", p.Name, eb)
				d.log.Printf("ERROR: %v", ps.err)
				continue
			}
		}
		dev := C.CString(p.Driver())
		ret := C.mr_port_setup(dev, C.uint16_t(p.RxQueues), C.uint16_t(p.TxQueues), C.uint16_t(p.RxDesc),
			C.uint16_t(p.TxDesc), C.uint32_t(d.cfg.PoolIndex(p.Pool)), boolInt(p.Promisc), C.uint32_t(p.MTU),
			&info, eb.p, errBufLen)
		C.free(unsafe.Pointer(dev))
		if ret != 0 {
			// A port that fails is reported and its vdev refused; the others serve.
			ps.err = fmt.Errorf("port %s (%s): %s", p.Name, p.DeviceArg(), eb)
			d.log.Printf("ERROR: %v", ps.err)
			continue
		}
		ps.started = true
		ps.id = uint16(info.port_id)
		for k := range ps.mac {
			ps.mac[k] = byte(info.mac[k])
		}
		ps.mtu = uint32(info.mtu)
		ps.driver = C.GoString(&info.driver[0])
		d.log.Printf("port %s: ethdev %d (%s, %s), %d rx / %d tx queues, mac %s",
			p.Name, ps.id, p.Driver(), ps.driver, p.RxQueues, p.TxQueues, macString(ps.mac))
	}

	for i := range d.cfg.Vdevs {
		v := &d.cfg.Vdevs[i]
		ps := d.ports[d.cfg.PortIndex(v.Port)]
		vs := &vdevState{idx: i, cfg: v, port: ps, desc: &r.vdevs[i], owner: -1}
		desc := vs.desc
		setCstr(&desc.devsym[0], len(desc.devsym), v.Devsym)
		desc.port_id = C.uint16_t(ps.id)
		for k := range ps.mac {
			desc.mac[k] = C.uint8_t(ps.mac[k])
		}
		desc.mtu = C.uint32_t(ps.mtu) // the representor's MTU (marsio Device.MTU)
		desc.max_rxstream = C.uint32_t(v.RxStreamsMax)
		desc.max_txstream = C.uint32_t(v.TxStreamsMax)
		desc.ring_size = C.uint32_t(v.RingSize)
		desc.pool_index = C.uint32_t(d.cfg.PoolIndex(v.Pool))
		desc.state = vdevIdle
		d.vdevs = append(d.vdevs, vs)
	}
	r.nr_vdevs = C.uint32_t(len(d.vdevs))

	if ret := C.mr_pdump_init(); ret != 0 {
		d.log.Printf("warning: rte_pdump_init: %s (dpdk-dumpcap will not work)", C.GoString(C.mr_strerror_last()))
	}
	d.ctl.start(d)
	if ret := C.mr_actions_register(); ret != 0 {
		return fmt.Errorf("rte_mp_action_register: %v", unix.Errno(-ret))
	}
	r.heartbeat_ns = C.uint64_t(C.mr_now_monotonic())
	// Published last: an app that sees the magic sees everything above.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&r.magic)), abiMagic)
	return nil
}

// fixGroup applies [service] app_group (perms.go); nil when unset.
func (d *daemon) fixGroup() error {
	if d.group == nil {
		return nil
	}
	return d.group.fix(d.rtDir, d.hugeDir, d.prefix, d.runDir)
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// dpdkVersionNum parses rte_version() ("DPDK 22.11.11") into RTE_VERSION_NUM.
func dpdkVersionNum() uint32 {
	var y, m, mi, rel uint32
	fmt.Sscanf(C.GoString(C.mr_dpdk_version()), "DPDK %d.%d.%d", &y, &m, &mi)
	return y<<24 | m<<16 | mi<<8 | rel
}

// shutdown stops the control plane, hangs up on the apps, stops the
// workers and the ports. After a worker stall every wait is bounded and
// the ports of stalled workers are left running (a worker is inside their
// rx or tx burst).
func (d *daemon) shutdown() {
	stalled := d.stalled()
	var bound time.Duration
	if stalled {
		bound = max(d.opts.StallTimeout, time.Second)
	}
	d.stopping.Store(true)
	C.mr_actions_unregister()
	if !stalled {
		d.ctl.stop()
	} else if !bounded(bound, d.ctl.stop) {
		d.log.Printf("ERROR: control requests still being served after %v: left behind", bound)
	}
	if d.lockCtl(bound) {
		for _, a := range d.apps {
			if a != nil && !a.done {
				d.log.Printf("app %s (pid %d, slot %d): hung up at shutdown (its rings, caches and memzone left as they are)", a.appsym, a.pid, a.slot)
				d.hangUpApp(a)
			}
		}
		d.mu.Unlock()
	} else {
		d.log.Printf("ERROR: control plane stuck: apps not hung up one by one (their liveness sockets close when the daemon exits)")
	}
	d.stopWorkers()
	busy := map[*portState]bool{}
	for _, w := range d.workers {
		if w.stalled.Load() {
			for _, v := range w.vdevs {
				busy[v.port] = true
			}
		}
	}
	for _, p := range d.ports {
		if p.started && !busy[p] {
			C.mr_port_stop(C.uint16_t(p.id))
		} else if busy[p] {
			d.log.Printf("port %s: not stopped (a stalled worker is inside it)", p.cfg.Name)
		}
	}
	C.mr_pdump_uninit()
}

// cleanupEAL releases EAL and removes what it leaves behind: the runtime
// dir and this prefix's hugepage files.
// After a worker stall EAL is not cleaned up: rte_eal_cleanup unmaps the
// hugepage memory the stalled worker is spinning on (it would crash the
// process); the files go, the mappings go with the process.
func (d *daemon) cleanupEAL() {
	if !d.anyStalled() {
		C.mr_eal_cleanup()
	}
	n := d.removeFiles()
	d.log.Printf("cleaned up runtime dir %s and %d hugepage files", d.rtDir, n)
}
