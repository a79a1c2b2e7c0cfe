package daemon

/*
#include "dp.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

// ErrWorkerStalled is Run's error when the stall watchdog found a dataplane
// worker stuck: the daemon shut down without it and must be restarted.
var ErrWorkerStalled = errors.New("dataplane worker stalled")

// The stall watchdog. A pool's ring is shared with the applications; an
// application killed between its head CAS and its tail store leaves that
// ring end's tail stuck, and every later producer (consumer) on it spins
// forever inside DPDK's inline rte_ring code — the daemon's workers too
// (the PMD's rx mbuf allocation, rte_pktmbuf_free). DPDK cannot undo a dead
// process's half-done ring operation, so the daemon fails fast: a worker
// whose epoch has not moved for the stall timeout while it is not being
// stopped is stalled (an idle worker sleeps at most 100 µs a loop and a
// busy one spends microseconds per burst in C, so a healthy worker's epoch
// always moves); the watchdog logs the diagnosis with each pool ring's
// ends, records it in the status file, and Run shuts down without waiting
// for the stalled workers and returns ErrWorkerStalled (mrzcpd exits 3).

// stallState is the watchdog's record, under its own lock (never d.mu:
// the control plane may be the one that is stuck).
type stallState struct {
	mu      sync.Mutex
	workers []monit.StalledWorker
	gone    []goneApp     // recent liveness hang-ups (the suspects)
	ch      chan struct{} // closed on the first stall
	once    sync.Once
	acked   chan struct{} // closed when Run has taken the stall in hand
	ackOnce sync.Once
	// ctlStuck: after a stall, d.mu did not come free within a bound
	// (the control plane is stuck in C too): nobody waits for it again.
	ctlStuck atomic.Bool
}

// stalled reports whether the watchdog has found a stall.
func (d *daemon) stalled() bool {
	select {
	case <-d.stall.ch:
		return true
	default:
		return false
	}
}

// stalledWorkers is a copy of the stall record (nil: none).
func (d *daemon) stalledWorkers() []monit.StalledWorker {
	d.stall.mu.Lock()
	defer d.stall.mu.Unlock()
	return append([]monit.StalledWorker(nil), d.stall.workers...)
}

// watchdogInterval is how often the watchdog samples the epochs.
func watchdogInterval(timeout time.Duration) time.Duration {
	return min(100*time.Millisecond, max(timeout/8, time.Millisecond))
}

// watchdog samples every worker's epoch until done is closed or it found a
// stall; d.opts.StallTimeout > 0.
func (d *daemon) watchdog(done <-chan struct{}) {
	timeout := d.opts.StallTimeout
	iv := watchdogInterval(timeout)
	tick := time.NewTicker(iv)
	defer tick.Stop()
	type sample struct {
		epoch uint64
		moved time.Time // when the epoch last changed
	}
	now := time.Now()
	last := now
	samples := make([]sample, len(d.workers))
	for i, w := range d.workers {
		samples[i] = sample{w.epoch.Load(), now}
	}
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now = time.Now()
		// The watchdog itself was held up (process stopped, machine
		// suspended, starved): the workers were too; start over.
		late := now.Sub(last) > max(timeout/2, 4*iv)
		last = now
		var stuck []*worker
		var stuckFor []time.Duration
		for i, w := range d.workers {
			e := w.epoch.Load()
			if e != samples[i].epoch || late || w.stop.Load() {
				samples[i] = sample{e, now}
				continue
			}
			select {
			case <-w.done:
				continue
			default:
			}
			if since := now.Sub(samples[i].moved); since >= timeout {
				stuck = append(stuck, w)
				stuckFor = append(stuckFor, since)
			}
		}
		if len(stuck) > 0 {
			d.onStall(stuck, stuckFor)
			return
		}
	}
}

// onStall marks the workers stalled, logs the diagnosis, records it for the
// status file and tells Run. Should Run not take it in hand (its loop held
// up behind a stuck control plane), it exits the process itself.
func (d *daemon) onStall(ws []*worker, since []time.Duration) {
	rings := d.poolRings()
	const cause = "stuck inside DPDK (most likely spinning in rte_ring code on a shared mbuf pool whose ring " +
		"an application left half-done: killed between its head move and its tail store)"
	recs := make([]monit.StalledWorker, len(ws))
	for i, w := range ws {
		w.stalled.Store(true)
		var ports, vdevs []string
		for _, v := range w.vdevs {
			vdevs = append(vdevs, v.cfg.Devsym)
			if !slices.Contains(ports, v.port.cfg.Name) {
				ports = append(ports, v.port.cfg.Name)
			}
		}
		recs[i] = monit.StalledWorker{Worker: w.id, Ports: ports, Vdevs: vdevs, Epoch: w.epoch.Load(),
			Stalled: int64(since[i]), Time: time.Now().UnixNano(), Cause: cause}
		d.log.Printf("ERROR: worker %d stalled: its loop has not advanced for %v (ports %s, vdevs %s); it is %s",
			w.id, since[i].Round(time.Millisecond), listOrNone(ports), listOrNone(vdevs), cause)
	}
	for _, r := range rings {
		d.log.Printf("ERROR: pool %s ring: %s", r.name, r.describe())
	}
	if gone := d.recentlyGone(time.Minute); gone != "" {
		d.log.Printf("ERROR: applications that died in the last minute (suspects): %s", gone)
	}
	d.stall.mu.Lock()
	d.stall.workers = recs
	d.stall.mu.Unlock()
	d.log.Printf("ERROR: a dead process's half-done ring operation cannot be undone: shutting down without the stalled worker(s); restart mrzcpd (applications with WithReattach(true) re-attach)")
	d.stall.once.Do(func() { close(d.stall.ch) })
	go func() {
		select {
		case <-d.stall.acked:
		case <-time.After(2*d.opts.StallTimeout + 2*time.Second):
			d.emergencyExit()
		}
	}()
}

// emergencyExit is the last resort when Run does not take a stall in hand:
// remove the runtime dir and hugepage files and exit 3 (the kernel closes
// the apps' liveness sockets).
func (d *daemon) emergencyExit() {
	d.log.Printf("ERROR: shutdown held up (control plane stuck?): removing the runtime dir and hugepage files and exiting now")
	d.removeFiles()
	d.log.Printf("exiting with status %d: %v; restart mrzcpd", ExitStalled, ErrWorkerStalled)
	os.Exit(ExitStalled)
}

// goneApp is an app whose liveness socket hung up.
type goneApp struct {
	appsym string
	pid    int
	at     time.Time
}

// noteGone records an app's hang-up for the stall diagnosis (watch calls
// it before it takes d.mu, so a stuck control plane does not hide it).
func (d *daemon) noteGone(appsym string, pid int) {
	d.stall.mu.Lock()
	defer d.stall.mu.Unlock()
	d.stall.gone = append(d.stall.gone, goneApp{appsym, pid, time.Now()})
	if len(d.stall.gone) > 32 {
		d.stall.gone = d.stall.gone[1:]
	}
}

// recentlyGone lists the apps whose liveness socket hung up within window.
func (d *daemon) recentlyGone(window time.Duration) string {
	d.stall.mu.Lock()
	defer d.stall.mu.Unlock()
	var l []string
	now := time.Now()
	for _, g := range d.stall.gone {
		if now.Sub(g.at) <= window {
			l = append(l, fmt.Sprintf("%s (pid %d, %v before)", g.appsym, g.pid, now.Sub(g.at).Round(time.Millisecond)))
		}
	}
	return strings.Join(l, ", ")
}

// ExitStalled is mrzcpd's exit status after a worker stall.
const ExitStalled = 3

// poolRing is one pool's ring ends, sampled twice, gap apart.
type poolRing struct {
	name string
	a, b *monit.RingEnds
	gap  time.Duration
}

// poolRings samples each pool's ring ends twice, 20 ms apart: a head ≠
// tail that did not move is a half-done operation.
func (d *daemon) poolRings() []poolRing {
	const gap = 20 * time.Millisecond
	var out []poolRing
	var idx []int
	for i, p := range d.cfg.Pools {
		if e := ringEnds(i); e != nil {
			out = append(out, poolRing{name: p.Name, a: e, b: e, gap: gap})
			idx = append(idx, i)
		}
	}
	time.Sleep(gap)
	for j, i := range idx {
		if e := ringEnds(i); e != nil {
			out[j].b = e
		}
	}
	return out
}

func (r poolRing) describe() string {
	end := func(which string, h0, t0, h1, t1 uint32) string {
		s := fmt.Sprintf("%s head %d tail %d", which, h1, t1)
		switch {
		case h1 == t1:
		case h0 == h1 && t0 == t1:
			s += fmt.Sprintf(" (head ≠ tail, unchanged for %v: a half-done %s of a dead process; %d slots)",
				r.gap, map[string]string{"prod": "enqueue", "cons": "dequeue"}[which], h1-t1)
		default:
			s += " (moving)"
		}
		return s
	}
	return end("prod", r.a.ProdHead, r.a.ProdTail, r.b.ProdHead, r.b.ProdTail) + ", " +
		end("cons", r.a.ConsHead, r.a.ConsTail, r.b.ConsHead, r.b.ConsTail)
}

// ringEnds reads pool i's ring ends for the status file (nil: none).
func ringEnds(i int) *monit.RingEnds {
	var e C.struct_mr_ring_ends
	if C.mr_pool_ring_ends(C.uint32_t(i), &e) != 0 {
		return nil
	}
	return &monit.RingEnds{ProdHead: uint32(e.prod_head), ProdTail: uint32(e.prod_tail),
		ConsHead: uint32(e.cons_head), ConsTail: uint32(e.cons_tail)}
}

// removeFiles removes the runtime dir and this prefix's hugepage files.
func (d *daemon) removeFiles() int {
	if d.rtDir != "" {
		if err := os.RemoveAll(d.rtDir); err != nil {
			d.log.Printf("remove runtime dir: %v", err)
		}
	}
	hd := d.hugeDir
	if hd == "" {
		hd = "/dev/hugepages"
	}
	files, _ := filepath.Glob(filepath.Join(hd, d.prefix+"map_*"))
	for _, f := range files {
		os.Remove(f)
	}
	return len(files)
}

// lockCtl takes d.mu, giving up after bound (0: as long as it takes,
// unless a stall is found meanwhile: the control plane may be stuck in C
// behind the same ring, holding d.mu for good).
func (d *daemon) lockCtl(bound time.Duration) bool {
	if d.mu.TryLock() {
		return true
	}
	if d.stall.ctlStuck.Load() {
		return false // it did not come free within a bound before
	}
	var deadline time.Time
	if bound > 0 {
		deadline = time.Now().Add(bound)
	}
	for !d.mu.TryLock() {
		if bound > 0 && time.Now().After(deadline) {
			d.stall.ctlStuck.Store(true)
			return false
		}
		if bound <= 0 && d.stalled() {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// bounded runs f and waits for it at most bound; false: it is still running.
func bounded(bound time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(bound):
		return false
	}
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ",")
}
