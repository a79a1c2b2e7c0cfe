package marsio

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/tap"
	"github.com/gomarsio/marsio/internal/trace"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Instance states.
const (
	stateNew uint32 = iota
	stateReady
	stateGone   // the daemon died; memory still mapped until Close
	stateClosed // Close ran; nothing may touch shared memory
)

// Preallocated errors for the fast path (no allocation per call).
var (
	errHotNotInit = &Error{Op: "fast path", Msg: "instance not initialised", Hint: "call Init first", Err: ErrClosed}
	errHotGone    = &Error{Op: "fast path", Msg: "the daemon exited", Hint: "restart mrzcpd, then this application", Err: ErrDaemonGone}
	errHotClosed  = &Error{Op: "fast path", Msg: "instance closed", Err: ErrClosed}
	// errHotReattached is a thread's first call after a re-attach.
	errHotReattached = &Error{Op: "fast path", Msg: "the daemon was restarted since this thread's last call", Hint: "drop every buffer held from before (never free or send it), then carry on", Err: ErrDaemonGone}
	errDevClosed     = &Error{Op: "fast path", Msg: "device closed", Err: ErrClosed}
	errNoStream      = &Error{Op: "fast path", Msg: "this thread has no stream on the device", Hint: "open the device with at least as many streams as threads", Err: ErrInvalid}
	errForeignDev    = &Error{Op: "fast path", Msg: "device belongs to another instance", Err: ErrInvalid}
	errNilDev        = &Error{Op: "fast path", Msg: "nil *Device", Err: ErrInvalid}
	errNilCtx        = &Error{Op: "poll wait", Msg: "nil context", Hint: "pass context.Background()", Err: ErrInvalid}
)

// Instance is one application's connection to mrzcpd: the mapped shared
// memory, its registration, its devices and dataplane threads. Create it
// with New, configure it with Options, then Init. Control-plane methods
// (Init, ThreadInit, OpenDevice, Close, …) are safe for concurrent use; the
// fast-path methods live on *Thread and *Device and are used by the thread
// that owns them.
type Instance struct {
	opts  Options
	state atomic.Uint32

	mu       sync.Mutex // control plane
	appsym   string
	cfg      ServiceConfig
	lib      vdevLib     // [vdev:] addrs/representor keys, static neighbours
	tr       *trace.Area // the daemon's trace area, nil if it has none
	nthreads int
	mem      *memory // attachment + control channel
	root     *abiRoot
	slot     uint32
	gen      uint64
	zone     *abiAppZone
	ownerOff uintptr // byte offset of the owner dynfield in an mbuf
	rxtscOff uintptr // byte offset of the daemon's rx TSC stamp in an mbuf, 0: none
	owner    uint32  // slot+1, the owner tag of our mbufs
	pools    []pool
	hasher   flowhash.Hasher
	live     *os.File // our end of the liveness socketpair
	liveFD   int      // its descriptor (never call live.Fd(): it would make it blocking)
	wakefd   int      // eventfd in every thread's epoll: written at Close / daemon death
	threads  []*Thread
	byTID    map[int]*Thread
	nextTID  int
	devices  map[string]*Device
	devOrder []*Device

	stop    chan struct{} // closes the control-plane goroutines
	bg      sync.WaitGroup
	waiters atomic.Int32 // threads inside PollWait
	// The fast path's view of the state is per thread (Thread.ok, written
	// by setUsable after i.state): the thread loads one word of its own.
	goneErr atomic.Pointer[Error]
	deadGen atomic.Int64 // the generation whose daemon died last (markGone), for Thread.told
	started time.Time

	// Re-attach (reattach.go); under mu.
	generation int   // daemon instances attached to: 1 after Init
	daemonPID  int   // pid of the daemon of this generation
	reopenErr  error // devices the last re-attach could not reopen
}

// New returns an instance configured by opts over the defaults (the seed's
// paths, overridden by the GOMARSIO_* environment variables). It does not
// contact the daemon: call Init.
func New(opts ...Option) (*Instance, error) {
	i := &Instance{opts: defaultOptions(), wakefd: -1}
	if err := i.SetOptions(opts...); err != nil {
		return nil, err
	}
	return i, nil
}

// SetOptions changes options before Init (marsio_option_set). After Init it
// returns ErrBusy.
func (i *Instance) SetOptions(opts ...Option) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.state.Load() != stateNew {
		return errorf("set options", ErrBusy, "set options before Init", "instance already initialised")
	}
	o := i.opts.clone()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return err
		}
	}
	i.opts = o
	return nil
}

// Options returns a copy of the current options (marsio_option_get, which
// the C library leaves a stub).
func (i *Instance) Options() Options {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.opts.clone()
}

// AppSym returns the application symbol given to Init.
func (i *Instance) AppSym() string { return i.appsym }

// Config returns the [service]/[eal] settings Init loaded.
func (i *Instance) Config() ServiceConfig { return i.cfg }

// Threads returns the number of dataplane threads.
func (i *Instance) Threads() int { return i.nthreads }

// Slot returns the application slot the daemon gave us.
func (i *Instance) Slot() int { return int(i.slot) }

// fail applies ExitOnError to a failing control-plane call.
func (i *Instance) fail(err error) error {
	if err != nil && i.opts.ExitOnError {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return err
}

// check is the control-plane state check.
func (i *Instance) check(op string) error {
	switch i.state.Load() {
	case stateReady:
		return nil
	case stateNew:
		return errorf(op, ErrClosed, "call Init first", "instance not initialised")
	case stateGone:
		if e := i.goneErr.Load(); e != nil {
			return e
		}
		return errHotGone
	default:
		return errorf(op, ErrClosed, "", "instance closed")
	}
}

// hotCheck is check without allocation, for the fast path.
func (i *Instance) hotCheck() error {
	switch i.state.Load() {
	case stateReady:
		return nil
	case stateGone:
		return errHotGone
	case stateNew:
		return errHotNotInit
	}
	return errHotClosed
}

// validSymbol checks an appsym or devsym.
func validSymbol(op, what, s string) error {
	if s == "" {
		return errorf(op, ErrInvalid, "", "empty %s", what)
	}
	if len(s) > MaxSymbol {
		return errorf(op, ErrInvalid, "", "%s %q is %d bytes, at most %d", what, s, len(s), MaxSymbol)
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c == '/' || c >= 0x7f {
			return errorf(op, ErrInvalid, "use letters, digits, '-', '_', '.'", "%s %q contains %q", what, s, c)
		}
	}
	return nil
}

// Init connects the instance to the daemon as application appsym
// (marsio_init): it finds the daemon through its status file, loads the
// [service]/[eal] settings, attaches to the shared memory, registers (with
// liveness), prepares per-thread notification and buffer caches, and starts
// the goroutine that keeps mrmonit.app.<appsym> current. On failure nothing
// stays mapped, open or registered.
func (i *Instance) Init(appsym string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fail(i.init(appsym))
}

func (i *Instance) init(appsym string) (err error) {
	const op = "init"
	if s := i.state.Load(); s != stateNew {
		if s == stateReady {
			return errorf(op, ErrBusy, "", "instance already initialised as %q", i.appsym)
		}
		return errorf(op, ErrClosed, "create a new instance", "instance closed")
	}
	if err := validSymbol(op, "appsym", appsym); err != nil {
		return err
	}
	if len(i.opts.StatusDir)+len(AppStatusPrefix)+len(appsym)+1 >= abiPathMax-16 {
		return errorf(op, ErrInvalid, "use a shorter status dir", "status file path too long")
	}
	n, err := i.opts.threadCount()
	if err != nil {
		return err
	}
	i.appsym, i.nthreads, i.started = appsym, n, time.Now()

	st, err := readDaemonStatus(i.opts.daemonStatusPath())
	if err != nil {
		return err
	}
	if i.cfg, err = loadServiceConfig(st.CfgFile, appsym, st.RunDir); err != nil {
		return err
	}
	if i.lib, err = loadVdevLib(st.CfgFile, i.cfg); err != nil {
		return err
	}
	for _, v := range i.lib.vdevs {
		if v.Representor {
			// Persistent leftovers of a crashed run of this app.
			tap.CleanupStale(appsym)
			break
		}
	}
	if i.cfg.EAL.NoHuge {
		return errorf(op, ErrConfig, "remove nohuge=1 from [eal] of "+st.CfgFile,
			"the daemon runs without hugepages: it cannot share memory with applications")
	}

	cleanup := []func(){}
	defer func() {
		if err != nil {
			for k := len(cleanup) - 1; k >= 0; k-- {
				cleanup[k]()
			}
		}
	}()

	if i.mem, err = attach(&i.opts, st, &i.cfg); err != nil {
		return err
	}
	cleanup = append(cleanup, func() { i.mem.detach(); i.mem = nil })

	if err = i.bindRoot(); err != nil {
		return err
	}
	i.attachTrace()

	if i.wakefd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return errorf(op, ErrNoSpace, "", "eventfd: %v", err)
	}
	cleanup = append(cleanup, func() { unix.Close(i.wakefd); i.wakefd = -1 })

	if err = i.register(); err != nil {
		return err
	}
	cleanup = append(cleanup, func() { i.deregister(); i.live.Close(); i.live = nil })

	if err = i.setupPools(); err != nil {
		return err
	}
	if i.hasher, err = flowhash.New(i.cfg.DistMode, i.cfg.HashMode, i.root.HashSeed); err != nil {
		return wrapf(op, ErrConfig, "check distmode/hashmode in [service]", err, "distributer")
	}
	i.threads = make([]*Thread, n)
	i.byTID = map[int]*Thread{}
	for k := range i.threads {
		t, err := newThread(i, k)
		if err != nil {
			for _, t := range i.threads[:k] {
				t.close()
			}
			return err
		}
		i.threads[k] = t
	}
	cleanup = append(cleanup, func() {
		for _, t := range i.threads {
			t.close()
		}
	})
	i.devices = map[string]*Device{}
	registerMembarrier() // once per process, so a re-attach does not pay
	i.stop = make(chan struct{})
	i.generation, i.daemonPID = 1, st.PID
	i.state.Store(stateReady)
	i.setUsable(threadOK)
	i.startBackground()
	return nil
}

// bindRoot finds and validates the root object.
func (i *Instance) bindRoot() error {
	const op = "init"
	addr, size, err := i.mem.memzone(abiRootMemzone)
	if err != nil {
		return wrapf(op, ErrNoDaemon, "is it mrzcpd (not another DPDK primary) behind this file prefix?", err, "root memzone %s", abiRootMemzone)
	}
	if size < abiSizeofRoot {
		return errorf(op, ErrVersion, "rebuild against the daemon's ABI", "root memzone is %d bytes, want %d", size, abiSizeofRoot)
	}
	r := (*abiRoot)(ptrAt(addr))
	if m := atomic.LoadUint32(&r.Magic); m != abiMagic {
		return errorf(op, ErrNoDaemon, "the daemon is still starting or is not mrzcpd", "root magic %#x, want %#x", m, abiMagic)
	}
	if r.AbiVersion != abiVersion {
		return errorf(op, ErrVersion, "use the same gomarsio version for daemon and application", "daemon ABI version %d, library %d", r.AbiVersion, abiVersion)
	}
	if r.NrPools > abiMaxPools || r.NrVdevs > abiMaxVdevs {
		return errorf(op, ErrVersion, "", "root has %d pools, %d vdevs: corrupt", r.NrPools, r.NrVdevs)
	}
	if r.OwnerDynfieldOffset < dpdk.OffsetofMbufDynfield1 || r.OwnerDynfieldOffset+4 > dpdk.SizeofMbuf || r.OwnerDynfieldOffset%4 != 0 {
		return errorf(op, ErrVersion, "", "owner dynfield offset %d outside struct rte_mbuf", r.OwnerDynfieldOffset)
	}
	i.root = r
	i.ownerOff = uintptr(r.OwnerDynfieldOffset)
	i.rxtscOff = 0
	if o := r.RxtscDynfieldOffset; o >= dpdk.OffsetofMbufDynfield1 && o+8 <= dpdk.SizeofMbuf && o%8 == 0 {
		i.rxtscOff = uintptr(o)
	}
	return nil
}

// ptrAt converts an address in shared memory (not Go heap) to a pointer,
// as fastpath's ptrAt does (unsafe.Add from nil: no store of the address to
// the stack and load back, which the *(*unsafe.Pointer)(&a) spelling costs).
func ptrAt(a uintptr) unsafe.Pointer { return unsafe.Add(nil, a) }

// cstr returns a NUL-terminated C string from a fixed array.
func cstr(b []byte) string {
	for k, c := range b {
		if c == 0 {
			return string(b[:k])
		}
	}
	return string(b)
}

// setcstr copies s into a fixed C char array (truncating, NUL-terminated).
func setcstr(dst []byte, s string) {
	n := copy(dst[:len(dst)-1], s)
	clear(dst[n:])
}

// Device returns the opened device named devsym (marsio_device_lookup).
func (i *Instance) Device(devsym string) (*Device, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	d, ok := i.devices[devsym]
	return d, ok
}

// Devices returns the opened devices in opening order.
func (i *Instance) Devices() []*Device {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]*Device(nil), i.devOrder...)
}

// Thread returns the thread with id (0 ≤ id < Threads) once ThreadInit gave
// it out.
func (i *Instance) Thread(id int) (*Thread, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.check("thread"); err != nil {
		return nil, err
	}
	if id < 0 || id >= len(i.threads) {
		return nil, errorf("thread", ErrInvalid, "", "thread id %d out of range 0..%d", id, len(i.threads)-1)
	}
	t := i.threads[id]
	if t.tid == 0 {
		return nil, errorf("thread", ErrThread, "call ThreadInit on the thread first", "thread %d not initialised", id)
	}
	return t, nil
}

// ThreadInit makes the calling goroutine dataplane thread number
// Threads()-so-far (marsio_thread_init): it locks the goroutine to its OS
// thread, binds that thread to the next CPU of the configured set (if any),
// and returns the thread's handle. A second call on the same OS thread, and
// more calls than Threads(), fail with ErrThread.
func (i *Instance) ThreadInit() (*Thread, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	t, err := i.threadInit()
	return t, i.fail(err)
}

func (i *Instance) threadInit() (*Thread, error) {
	const op = "thread init"
	if err := i.check(op); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	tid := unix.Gettid()
	if t, dup := i.byTID[tid]; dup {
		runtime.UnlockOSThread()
		return nil, errorf(op, ErrThread, "call ThreadInit once per thread", "OS thread %d is already dataplane thread %d", tid, t.id)
	}
	if i.nextTID >= i.nthreads {
		runtime.UnlockOSThread()
		return nil, errorf(op, ErrThread, "raise the thread count (WithThreads)", "more ThreadInit calls than the %d configured threads", i.nthreads)
	}
	t := i.threads[i.nextTID]
	t.cpu = -1
	if len(i.opts.CPUs) > 0 {
		cpu := i.opts.CPUs[t.id]
		if err := bindCPU(tid, cpu); err != nil {
			runtime.UnlockOSThread()
			return nil, err
		}
		t.cpu = cpu
	}
	t.tid = tid
	i.byTID[tid] = t
	i.nextTID++
	return t, nil
}

// markGone records the daemon's death: every call returns ErrDaemonGone from
// now on, blocked PollWaits wake, the callback runs, and with ExitOnError the
// process exits.
func (i *Instance) markGone(cause string) {
	if !i.state.CompareAndSwap(stateReady, stateGone) {
		return
	}
	i.deadGen.Store(int64(i.generation)) // before Q0: a thread that sees threadGone sees it
	i.setUsable(threadGone)              // Q0 (quiesce.go)
	e := &Error{Op: "liveness", Msg: "the daemon exited: " + cause, Hint: "restart mrzcpd, then this application", Err: ErrDaemonGone}
	i.goneErr.Store(e)
	i.wake()
	if i.opts.ExitOnError {
		fmt.Fprintln(os.Stderr, e)
		os.Exit(1)
	}
	if f := i.opts.OnDaemonGone; f != nil {
		go f(e)
	}
}

// wake makes every thread's epoll readable (Close, daemon death).
func (i *Instance) wake() {
	if i.wakefd >= 0 {
		var one = [8]byte{1}
		unix.Write(i.wakefd, one[:])
	}
}

// Err returns nil while the instance is usable, otherwise why not
// (ErrDaemonGone, ErrClosed).
func (i *Instance) Err() error { return i.check("instance") }

// Close releases everything (marsio_destory, which the C library leaves a
// stub): it wakes blocked PollWait calls, stops the status-file goroutine
// and removes the file, closes every device at the daemon, flushes the
// threads' buffer caches back to the pools, deregisters and detaches. Every
// Buffer, []byte view and Device of the instance is invalid afterwards, and
// calls return ErrClosed. Close may be called more than once. Fast-path
// calls that run concurrently with Close return ErrClosed: Close waits for
// those already inside a call to leave (quiesce.go) before it unmaps, at
// most closeQuiesce (2 s); a thread still inside then keeps the memory
// mapped (leaked, Close reports ErrBusy) rather than fault.
func (i *Instance) Close() error {
	i.mu.Lock()
	prev := i.state.Load()
	if prev == stateClosed || prev == stateNew {
		i.state.Store(stateClosed)
		i.mu.Unlock()
		return nil
	}
	// Stop the fast path first: threads still inside PollWait see the wake
	// eventfd and leave before memory goes away.
	i.state.Store(stateClosed)
	i.setUsable(threadGone) // Q0 (quiesce.go)
	i.wake()
	i.mu.Unlock()
	// No thread may still be inside a fast-path call (quiesce.go) when the
	// memory goes; one that stays inside for closeQuiesce keeps it mapped.
	stuck, quiet := i.quiesce(nil, closeQuiesce, nil)
	leak := !quiet
	for deadline := time.Now().Add(2 * time.Second); i.waiters.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	// The background goroutines take i.mu (Status): stop them unlocked.
	close(i.stop)
	if i.live != nil {
		// Unblocks the liveness goroutine; the daemon sees our hang-up
		// only after deregistration below (we keep the fd until then).
		i.live.SetReadDeadline(time.Unix(1, 0))
	}
	i.bg.Wait()
	i.mu.Lock()
	defer i.mu.Unlock()
	var errs []error
	alive := prev == stateReady
	for _, d := range i.devOrder {
		if err := d.release(alive); err != nil {
			errs = append(errs, err)
		}
	}
	i.devices, i.devOrder = nil, nil
	if alive && !leak {
		for _, t := range i.threads {
			t.flushCaches()
		}
		if err := i.deregister(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range i.threads {
		t.close()
	}
	if i.live != nil {
		i.live.Close()
		i.live = nil
	}
	if i.wakefd >= 0 {
		unix.Close(i.wakefd)
		i.wakefd = -1
	}
	if err := os.Remove(i.opts.appStatusPath(i.appsym)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove status file: %w", err))
	}
	i.root, i.zone, i.pools = nil, nil, nil
	if leak {
		errs = append(errs, errorf("close", ErrBusy, "do not call Close while dataplane threads still run",
			"threads %v still inside a fast-path call after %v: shared memory left mapped", stuck, closeQuiesce))
		i.mem = nil
	}
	if i.mem != nil {
		if err := i.mem.detach(); err != nil {
			errs = append(errs, err)
		}
		i.mem = nil
	}
	if len(errs) > 0 {
		return fmt.Errorf("marsio: close: %w", errors.Join(errs...))
	}
	return nil
}
