package marsio

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

// statusPeriod is how often mrmonit.app.<appsym> is rewritten (the seed's
// control-plane thread sleeps 1 s between writes).
const statusPeriod = time.Second

// startBackground starts the liveness watcher and the status-file writer
// (the seed's marsio_survival_monitor and mrapp_ctrlplane_thread).
func (i *Instance) startBackground() {
	i.bg.Add(2)
	go i.watchLiveness()
	go i.statusLoop()
}

// watchLiveness blocks (in the netpoller) on our end of the liveness
// socketpair; the daemon never writes to it, so any return means it hung up.
func (i *Instance) watchLiveness() {
	defer i.bg.Done()
	var b [1]byte
	for {
		_, err := i.live.Read(b[:])
		select {
		case <-i.stop:
			return
		default:
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		cause := "liveness socket closed"
		if err != nil {
			cause += ": " + err.Error()
		}
		i.markGone(cause)
		if i.state.Load() == stateGone {
			// Let the daemon's successor start while buffers of this
			// one may still be touched (awaitTold): i.mem changes only
			// in reattachLoop, started below, or after Close's bg.Wait.
			i.mem.orphan()
		}
		if i.opts.Reattach && i.state.Load() == stateGone {
			i.bg.Add(1)
			go i.reattachLoop()
		}
		return
	}
}

// statusLoop rewrites the status file every second until Close.
func (i *Instance) statusLoop() {
	defer i.bg.Done()
	tick := time.NewTicker(statusPeriod)
	defer tick.Stop()
	for {
		i.writeStatus()
		select {
		case <-i.stop:
			return
		case <-tick.C:
		}
	}
}

// writeStatus writes mrmonit.app.<appsym> (JSON: devices with per-stream
// rx/tx/drop counters, threads) atomically.
func (i *Instance) writeStatus() error {
	s := i.Status()
	if s == nil {
		return nil
	}
	return monit.WriteFile(i.opts.appStatusPath(i.appsym), s)
}

// Status returns the instance's current status, as written to
// mrmonit.app.<appsym>; nil before Init and after Close.
func (i *Instance) Status() *monit.App {
	i.mu.Lock()
	defer i.mu.Unlock()
	st := i.state.Load()
	if st != stateReady && st != stateGone {
		return nil
	}
	a := &monit.App{General: monit.AppGeneral{
		Appsym: i.appsym, Pid: os.Getpid(), Slot: i.slot,
		GCfgfile: i.cfg.GlobalFile, AppCfgfile: i.cfg.AppFile,
		StartTime: i.started.UnixNano(), UpdateTime: time.Now().UnixNano(),
		NrThreads: uint32(i.nthreads),
	}}
	load := func(c *abiCounters, k int) monit.AppStream {
		return monit.AppStream{Index: uint32(k), Pkts: atomic.LoadUint64(&c.Pkts), Bytes: atomic.LoadUint64(&c.Bytes),
			Drops: atomic.LoadUint64(&c.Drops), Events: atomic.LoadUint64(&c.Events)}
	}
	a.Devices = []monit.AppDevice{}
	for _, d := range i.devOrder {
		ad := monit.AppDevice{Devsym: d.name, MAC: d.mac.String(), Rx: []monit.AppStream{}, Tx: []monit.AppStream{}}
		for k := range d.rx {
			ad.Rx = append(ad.Rx, load(&d.rx[k].st.App, k))
		}
		for k := range d.tx {
			ad.Tx = append(ad.Tx, load(&d.tx[k].st.App, k))
		}
		a.Devices = append(a.Devices, ad)
	}
	a.Threads = []monit.AppThread{}
	for _, t := range i.threads {
		if t.tid == 0 {
			continue
		}
		a.Threads = append(a.Threads, monit.AppThread{ID: uint32(t.id), TID: t.tid, CPU: t.cpu, Sleeps: t.sleeps.Load()})
	}
	return a
}
