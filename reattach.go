package marsio

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath/flowhash"
)

// Surviving daemon restarts (WithReattach).
//
// When the liveness socket hangs up, markGone moves the instance to
// stateGone: every call (fast path included: its one state load and
// compare) returns ErrDaemonGone and blocked PollWaits wake. With Reattach
// the liveness goroutine then starts reattachLoop, which:
//
//  1. waits until no thread is inside a fast-path call that may still
//     touch the old daemon's memory (quiesce.go: per-thread slots written
//     on entry and exit of every call, one membarrier(2) on this side;
//     threads asleep in PollWait are offline, and only their wake-up is
//     awaited; a thread that stays inside
//     postpones the re-attach, reported once through OnReattach with
//     ErrBusy, and nothing is unmapped under it), then until every thread
//     in use has been told of the death (awaitTold: buffers are touched
//     between calls too; a thread that makes no call is reported the same
//     way). The files the app held in the dead daemon's runtime dir were
//     released at the death (memory.orphan), so the new daemon starts
//     meanwhile. Only then
//  2. tears the old generation down under the control lock (trace area and
//     the threads' trace writers included): the devices are
//     released locally (eventfds closed, neighbour/representor goroutines
//     stopped; *Device handles of the old generation are closed for good
//     and return ErrClosed), the liveness socket is closed, and the old
//     daemon's memory is unmapped (its addresses are usually those the new
//     daemon uses, so they must be free before the new attach);
//  3. polls the status file with backoff (reattachMinBackoff doubling to
//     reattachMaxBackoff) for a live daemon with another pid, attaches,
//     checks the root (another ABI version: ErrVersion to the callback,
//     detach, keep retrying), registers, binds the pools, rebinds every
//     thread's caches and epoll (Thread handles stay valid: same ids, same
//     OS threads), and reopens every device with the same stream counts and
//     options;
//  4. stores stateReady, restarts the liveness goroutine and calls
//     OnReattach(generation, nil) (or, when a device could not be reopened,
//     the error naming it; the instance is usable without it). Applications look their devices up again
//     (Instance.Device) in the callback or on the next ErrClosed.
//
// Buffers received before the death stay valid memory until the thread
// that holds them makes a call that returns ErrDaemonGone; from then on
// they point into unmapped memory, or into the new daemon's: drop them
// (never Free, Data or Send them). A thread that made no call while the daemon was
// away still learns of it: its first call after the re-attach returns
// ErrDaemonGone once (Thread.enter).
// Close stops the loop at any step.
const (
	reattachMinBackoff = 10 * time.Millisecond
	reattachMaxBackoff = 500 * time.Millisecond
)

// reopen is what the new generation reopens.
type reopen struct {
	name     string
	nrx, ntx int
	sharedTx bool
}

// reattachLoop runs in i.bg until the instance is usable again or closed.
func (i *Instance) reattachLoop() {
	defer i.bg.Done()
	sleep := func(d time.Duration) bool {
		select {
		case <-i.stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	// 1. Quiesce (quiesce.go): no thread inside a call that may still
	// touch the old generation. Threads parked in PollWait are offline.
	if _, ok := i.quiesce(i.stop, 0, i.opts.OnReattach); !ok {
		return
	}
	// Threads parked in PollWait must also have woken (markGone's write of
	// the wake eventfd, which reattach drains: one that slept through the
	// drain would sleep on the old devices until its timeout). They do at
	// once; none parks again until the instance is usable (waiters is
	// counted inside the call).
	for i.waiters.Load() > 0 {
		if !sleep(100 * time.Microsecond) {
			return
		}
	}
	// Buffers the application touches between calls: every thread in use
	// must have been told of the death (quiesce.go, awaitTold).
	if !i.awaitTold(i.deadGen.Load(), i.stop, i.opts.OnReattach) {
		return
	}
	// 2. Tear down the old generation.
	i.mu.Lock()
	if i.state.Load() != stateGone {
		i.mu.Unlock()
		return
	}
	oldPID := i.daemonPID
	devs := i.teardownGeneration()
	i.mu.Unlock()

	// 3. Wait for the new daemon.
	backoff := reattachMinBackoff
	var lastErr string
	for {
		if !sleep(backoff) {
			return
		}
		backoff = min(2*backoff, reattachMaxBackoff)
		i.mu.Lock()
		if i.state.Load() != stateGone {
			i.mu.Unlock()
			return
		}
		err := i.reattach(oldPID, devs)
		gen, rerr := i.generation, i.reopenErr
		i.mu.Unlock()
		if err == nil {
			i.bg.Add(1)
			go i.watchLiveness()
			if f := i.opts.OnReattach; f != nil {
				f(gen, rerr)
			}
			return
		}
		if errors.Is(err, ErrNoDaemon) {
			continue // not there yet: quiet
		}
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			if f := i.opts.OnReattach; f != nil {
				f(gen+1, err)
			}
		}
	}
}

// teardownGeneration releases what belongs to the dead daemon and returns
// the devices to reopen. Callers hold i.mu, in stateGone, after quiescence.
func (i *Instance) teardownGeneration() []reopen {
	var devs []reopen
	for _, d := range i.devOrder {
		devs = append(devs, reopen{name: d.name, nrx: len(d.rx), ntx: len(d.tx), sharedTx: d.sharedTx})
		d.release(false)
	}
	i.devices, i.devOrder = map[string]*Device{}, nil
	if i.live != nil {
		i.live.Close() // also leaves every thread's epoll
		i.live, i.liveFD = nil, -1
	}
	for _, t := range i.threads {
		t.caches, t.tw = nil, nil // t.tw: trace ring of the old daemon
	}
	i.root, i.zone, i.pools, i.tr = nil, nil, nil, nil
	if i.mem != nil {
		i.mem.detach()
		i.mem = nil
	}
	return devs
}

// reattach attaches to a new daemon (not oldPID) and rebuilds the instance
// on it. On failure nothing of the attempt stays mapped or registered.
// Callers hold i.mu.
func (i *Instance) reattach(oldPID int, devs []reopen) (err error) {
	const op = "reattach"
	st, err := readDaemonStatus(i.opts.daemonStatusPath())
	if err != nil {
		return err
	}
	if st.PID == oldPID {
		return errorf(op, ErrNoDaemon, "", "status file still names the dead daemon %d", oldPID)
	}
	cfg, err := loadServiceConfig(st.CfgFile, i.appsym, st.RunDir)
	if err != nil {
		return err
	}
	if cfg.MempoolCacheSize != i.cfg.MempoolCacheSize {
		return errorf(op, ErrConfig, "restart the application", "mp_cache_size changed from %d to %d", i.cfg.MempoolCacheSize, cfg.MempoolCacheSize)
	}
	if i.mem, err = attach(&i.opts, st, &cfg); err != nil {
		i.mem = nil
		return err
	}
	defer func() {
		if err != nil {
			if i.live != nil {
				i.deregister()
				i.live.Close()
				i.live, i.liveFD = nil, -1
			}
			for _, t := range i.threads {
				t.caches, t.tw = nil, nil
			}
			i.root, i.zone, i.pools, i.tr = nil, nil, nil, nil
			i.mem.detach()
			i.mem = nil
		}
	}()
	if err = i.bindRoot(); err != nil {
		return err
	}
	i.attachTrace() // the new daemon's trace area, if any (trace.go)
	if err = i.register(); err != nil {
		return err
	}
	if err = i.setupPools(); err != nil {
		return err
	}
	if i.hasher, err = flowhash.New(cfg.DistMode, cfg.HashMode, i.root.HashSeed); err != nil {
		return wrapf(op, ErrConfig, "check distmode/hashmode in [service]", err, "distributer")
	}
	for _, t := range i.threads {
		if err = i.threadCaches(t); err != nil {
			return err
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(i.liveFD)}
		if e := unix.EpollCtl(t.epfd, unix.EPOLL_CTL_ADD, i.liveFD, &ev); e != nil {
			return errorf(op, ErrNoSpace, "", "thread %d: epoll_ctl: %v", t.id, e)
		}
	}
	i.daemonPID = st.PID
	i.cfg = cfg
	var drain [8]byte
	unix.Read(i.wakefd, drain[:]) // markGone's wake-up, or PollWait would return at once
	// openDevice needs stateReady; threads may run from here on, so a
	// device that cannot be reopened is reported, not rolled back.
	i.goneErr.Store(nil)
	i.generation++
	i.state.Store(stateReady)
	i.setUsable(threadReattached) // the fast path's state (quiesce.go)
	var errs []error
	for _, d := range devs {
		var opts []DeviceOption
		if d.sharedTx {
			opts = append(opts, SharedTx())
		}
		if _, e := i.openDevice(d.name, d.nrx, d.ntx, opts); e != nil {
			errs = append(errs, fmt.Errorf("reopen %s: %w", d.name, e))
		}
	}
	i.reopenErr = errors.Join(errs...)
	return nil
}

// Generation returns how many daemon instances this instance has been
// attached to: 1 after Init, +1 per successful re-attach.
func (i *Instance) Generation() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.generation
}
