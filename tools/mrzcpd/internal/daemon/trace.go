package daemon

/*
#include <errno.h>
#include <stdlib.h>
#include "dp.h"
#include <string.h>
#include <time.h>
#include <rte_cycles.h>
#include <rte_memzone.h>
#include <rte_ethdev.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>
#include <stddef.h>

// Offset of the mbuf's hash.rss, which the workers set to the flow hash.
enum { MR_RSS_OFF = offsetof(struct rte_mbuf, hash) };

// mr_trace_size is the bytes of a trace area (gen/abi/mrzcpd_abi.h):
// header, nvdevs controls, nrings rings of ring_size records.
static size_t mr_trace_size(uint32_t nvdevs, uint32_t nrings, uint32_t ring_size)
{
	return sizeof(struct mr_trace_header) + (size_t)nvdevs * sizeof(struct mr_trace_control) +
	       (size_t)nrings * (sizeof(struct mr_trace_ring) +
				 (size_t)ring_size * sizeof(struct mr_trace_record));
}

// mr_tsc_pair reads the TSC and clock id together: of five tries, the
// one whose two rte_rdtsc() around clock_gettime are closest, the TSC
// taken half-way.
static void mr_tsc_pair(clockid_t id, uint64_t *tsc, int64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		struct timespec ts;
		uint64_t t0 = rte_rdtsc();
		clock_gettime(id, &ts);
		uint64_t t1 = rte_rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + best / 2;
			*ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	}
}

// mr_trace_clock fills the header's TSC calibration (readers convert the
// records' TSC to wall-clock time with it, writers without RDTSC convert
// the wall clock to TSC). tsc_hz: rte_get_tsc_hz(), refined by measuring
// the TSC against CLOCK_MONOTONIC over 20 ms when the two agree within 1%:
// where the CPU does not report its TSC rate DPDK measures it and rounds
// to 10 MHz (lib/eal/linux/eal_timer.c get_tsc_freq: 2450 MHz for a
// 2445.4 MHz TSC on the test VM, 0.19%, a wall clock 1.9 ms off per second
// from the reference). Then one (rte_rdtsc(), CLOCK_REALTIME) pair.
static void mr_trace_clock(struct mr_trace_header *h)
{
	uint64_t hz = rte_get_tsc_hz(), t0, t1;
	int64_t n0, n1;
	mr_tsc_pair(CLOCK_MONOTONIC, &t0, &n0);
	struct timespec sl = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
	while (nanosleep(&sl, &sl) != 0 && errno == EINTR)
		;
	mr_tsc_pair(CLOCK_MONOTONIC, &t1, &n1);
	if (n1 > n0 && t1 > t0) {
		double m = (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
		if (m > (double)hz * 0.99 && m < (double)hz * 1.01)
			hz = (uint64_t)(m + 0.5);
	}
	h->tsc_hz = hz;
	mr_tsc_pair(CLOCK_REALTIME, &h->tsc_ref, &h->unix_ns_ref);
}

// mr_trace_zone reserves and zeroes the data-path trace area (memzone
// MR_TRACE_MEMZONE), fills its header and publishes it (magic last, release):
// every control off, every ring empty, the TSC calibration filled
// (mr_trace_clock). ring_size must be a power of two.
static void *mr_trace_zone(uint32_t nvdevs, uint32_t nrings, uint32_t ring_size,
			   uint32_t daemon_rings, uint32_t app_threads, size_t *len)
{
	*len = mr_trace_size(nvdevs, nrings, ring_size);
	const struct rte_memzone *mz =
		rte_memzone_reserve_aligned(MR_TRACE_MEMZONE, *len, SOCKET_ID_ANY, 0, MR_CACHE_LINE);
	if (mz == NULL)
		return NULL;
	memset(mz->addr, 0, *len);
	struct mr_trace_header *h = mz->addr;
	h->version = MR_TRACE_VERSION;
	h->nr_vdevs = nvdevs;
	h->nr_rings = nrings;
	h->ring_size = ring_size;
	h->daemon_rings = daemon_rings;
	h->app_threads = app_threads;
	mr_trace_clock(h);
	__atomic_store_n(&h->magic, MR_TRACE_MAGIC, __ATOMIC_RELEASE); // published last
	return mz->addr;
}

// mr_tx_take dequeues up to burst mbufs of tx stream s (tracing on: the
// Go worker records them between take and send), untags them and returns
// their data addresses, lengths and hash.rss.
static uint16_t mr_tx_take(struct mr_vdev_instance *vi, uint32_t s, struct rte_mbuf **objs,
			   uintptr_t *addrs, uint16_t *lens, uint32_t *hashes, uint16_t burst)
{
	int off = mr_owner_offset();
	struct rte_ring *r = (void *)(uintptr_t)vi->tx[s].ring;
	unsigned n = rte_ring_sc_dequeue_burst(r, (void **)objs, burst, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		*RTE_MBUF_DYNFIELD(m, off, uint32_t *) = 0; // the daemon holds it from here on
		addrs[i] = (uintptr_t)rte_pktmbuf_mtod(m, void *);
		lens[i] = m->data_len;
		hashes[i] = m->hash.rss;
	}
	return n;
}

// mr_tx_send sends what mr_tx_take took, with mr_tx_drain's accounting;
// it returns how many the port accepted (the rest are freed).
static uint16_t mr_tx_send(struct mr_vdev_desc *d, struct mr_vdev_instance *vi, uint32_t s,
			   uint16_t port, uint16_t q, struct rte_mbuf **objs, uint16_t n)
{
	struct mr_tx_stream *tx = &vi->tx[s];
	uint64_t bytes = 0, dbytes = 0;
	for (unsigned i = 0; i < n; i++)
		bytes += objs[i]->pkt_len;
	uint16_t sent = rte_eth_tx_burst(port, q, objs, n);
	if (sent < n) {
		for (unsigned i = sent; i < n; i++)
			dbytes += objs[i]->pkt_len;
		rte_pktmbuf_free_bulk(&objs[sent], n - sent);
		tx->daemon.drops += n - sent;
		d->port_tx.drops += n - sent;
		d->drops.port_tx_refused += n - sent;
	}
	tx->daemon.pkts += sent;
	tx->daemon.bytes += bytes - dbytes;
	d->port_tx.pkts += sent;
	d->port_tx.bytes += bytes - dbytes;
	return sent;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/gomarsio/marsio/internal/trace"
)

// The data-path trace area (issue 10, internal/trace): per-vdev controls
// that tools/mrtrace switches, one event ring per worker and one for the
// control thread (the daemon's rings), then traceAppThreads rings per
// application slot (threads beyond that are not traced). Worker i writes
// ring i: port-rx, dist, port-tx and drop events (traceRx, traceRefused,
// traceTx); the control thread writes ring <workers>: no-mbuf drops
// (traceNoMbuf); applications write app-rx, app-tx and their drops.
const (
	traceMemzone    = trace.Memzone
	traceAppThreads = 8
	traceRingSize   = 256
)

// setupTrace creates the trace area (tracing off everywhere): C lays it
// out with the ABI header's structs, Go attaches its views (trace.Attach
// checks magic, version and sizes).
func (d *daemon) setupTrace() error {
	workers := int(d.cfg.Service.Workers)
	rings := workers + 1 + maxApps*traceAppThreads
	var csize C.size_t
	p := C.mr_trace_zone(maxVdevs, C.uint32_t(rings), traceRingSize, C.uint32_t(workers+1), traceAppThreads, &csize)
	size := int(csize)
	if p == nil {
		return fmt.Errorf("memzone %s (%d bytes): %s", traceMemzone, size, C.GoString(C.mr_strerror_last()))
	}
	a, err := trace.Attach(unsafe.Slice((*byte)(p), size))
	if err == nil && (a.Vdevs() != maxVdevs || a.Rings() != rings || a.DaemonRings() != workers+1 || size != trace.Size(maxVdevs, rings, traceRingSize)) {
		err = fmt.Errorf("%w: C laid out %d bytes, %d vdevs, %d rings (%d daemon); Go expects %d bytes, %d, %d (%d)",
			trace.ErrLayout, size, a.Vdevs(), a.Rings(), a.DaemonRings(), trace.Size(maxVdevs, rings, traceRingSize), maxVdevs, rings, workers+1)
	}
	if err != nil {
		return fmt.Errorf("memzone %s: %w", traceMemzone, err)
	}
	d.trace.area = a
	for v := range d.trace.ctl {
		d.trace.ctl[v] = a.Control(v)
	}
	d.trace.w = make([]*workerTrace, workers)
	for i := range d.trace.w {
		tw, err := a.Writer(i)
		if err != nil {
			return fmt.Errorf("memzone %s: %w", traceMemzone, err)
		}
		d.trace.w[i] = &workerTrace{w: tw, refused: (*C.uint16_t)(C.calloc(maxBurst, 2))}
	}
	if d.trace.ctlW, err = a.Writer(workers); err != nil {
		return fmt.Errorf("memzone %s: %w", traceMemzone, err)
	}
	d.log.Printf("trace area %s: %d KiB, %d rings of %d events (off), TSC %d Hz (rte_get_tsc_hz %d)", traceMemzone, size>>10, rings, traceRingSize, a.Clock().Hz, uint64(C.rte_get_tsc_hz()))
	return nil
}

// mbufRSSOff is the offset of the mbuf's hash.rss.
const mbufRSSOff = C.MR_RSS_OFF

// daemonTrace is the daemon's side of the trace area.
type daemonTrace struct {
	area *trace.Area
	ctl  [maxVdevs]*trace.Control // per vdev; nil before setupTrace
	w    []*workerTrace           // per worker (ring = worker id)
	// The control thread's ring (ring = number of workers).
	ctlMu sync.Mutex
	ctlW  *trace.Writer
}

// traceNoMbuf records one drop no-mbuf event for vdev v when its tracing
// is on and its port's rx_nombuf grew by delta since the last status
// period (called with each status update, before the counter is copied).
// The PMD drops those packets before the daemon sees them, so the event
// has no packet: len is the number of packets, no tuple, stream 0xffff;
// it is recorded whatever the filter.
func (d *daemon) traceNoMbuf(v *vdevState, delta uint64) {
	if delta == 0 || d.trace.ctlW == nil || d.traceOn(v) == nil {
		return
	}
	d.trace.ctlMu.Lock()
	defer d.trace.ctlMu.Unlock()
	d.trace.ctlW.Burst()
	d.trace.ctlW.Record(trace.Drop, trace.DropNoMbuf, uint16(v.port.id), uint16(v.idx), 0xffff, uint32(min(delta, 1<<32-1)), 0, &trace.Tuple{})
}

// workerTrace is one worker's writer and the scratch of traceRx/traceTx:
// the tuples and selection of the burst in hand (by index), and the C
// array mr_deliver names the packets a full rx ring refused in.
type workerTrace struct {
	w       *trace.Writer
	tup     [maxBurst]trace.Tuple // parsed before the send / the delivery
	sel     [maxBurst]bool
	refused *C.uint16_t // maxBurst indices (C memory, the worker's lifetime)
}

// refusedBuf returns worker w's mr_deliver refused array when tracing is
// on for the burst (c != nil), else nil (mr_deliver then records nothing).
func (d *daemon) refusedBuf(w *worker, c *trace.Control) *C.uint16_t {
	if c == nil || w.id >= len(d.trace.w) {
		return nil
	}
	return d.trace.w[w.id].refused
}

// traceOn returns vdev v's control when its tracing is on (the workers'
// one branch per burst), else nil.
func (d *daemon) traceOn(v *vdevState) *trace.Control {
	if c := d.trace.ctl[v.idx]; c != nil && c.On() {
		return c
	}
	return nil
}

// frameAt is the n bytes of packet data at addr (C memory).
func frameAt(addr uintptr, n uint16) []byte {
	return unsafe.Slice((*byte)(ptrOf(uint64(addr))), int(n))
}

// traceRx records port-rx then dist (streams != nil) or drop no-app
// (streams == nil) events for the selected packets of an rx burst of
// vdev v; hashes are the flow hashes (nil with no app).
func (d *daemon) traceRx(w *worker, v *vdevState, c *trace.Control, addrs []uintptr, lens []uint16, hashes, streams []uint32) {
	if w.id >= len(d.trace.w) {
		return
	}
	wt := d.trace.w[w.id]
	tw := wt.w
	tw.Burst() // traceRefused's drops share this burst's timestamp
	port, vdev := uint16(v.port.id), uint16(v.idx)
	n := len(addrs)
	clear(wt.sel[:n])
	// Skip: with a match-all filter sampling 1/N, one call per chosen
	// packet instead of one Select per packet.
	for i := tw.Skip(c, n); i < n; i += 1 + tw.Skip(c, n-i-1) {
		t := &wt.tup[i]
		wt.sel[i] = tw.Select(c, frameAt(addrs[i], lens[i]), t)
		if !wt.sel[i] {
			continue
		}
		var hash uint32
		if hashes != nil {
			hash = hashes[i]
		}
		tw.Record(trace.PortRx, 0, port, vdev, 0xffff, uint32(lens[i]), hash, t)
		if streams == nil {
			tw.Record(trace.Drop, trace.DropNoApp, port, vdev, 0xffff, uint32(lens[i]), 0, t)
		} else {
			tw.Record(trace.Distribute, 0, port, vdev, uint16(streams[i]), uint32(lens[i]), hash, t)
		}
	}
}

// traceRefused records drop rx-ring-full for the packets of the burst
// traceRx saw that mr_deliver reports refused (nref indices in the
// worker's refused array); the packets themselves are freed already,
// traceRx kept their tuples.
func (d *daemon) traceRefused(w *worker, v *vdevState, nref int, lens []uint16, hashes, streams []uint32) {
	if w.id >= len(d.trace.w) {
		return
	}
	wt := d.trace.w[w.id]
	port, vdev := uint16(v.port.id), uint16(v.idx)
	for _, i := range unsafe.Slice((*uint16)(unsafe.Pointer(wt.refused)), nref) {
		if int(i) < len(lens) && wt.sel[i] {
			wt.w.Record(trace.Drop, trace.DropRxRingFull, port, vdev, uint16(streams[i]), uint32(lens[i]), hashes[i], &wt.tup[i])
		}
	}
}

// traceTx is mr_tx_drain with tracing on for vdev v: per tx stream, take
// a burst, select and parse it, send, then record port-tx for what the
// port took and drop tx-refused for the rest. It returns the packets
// taken. pkts, addrs, lens and hashes are the worker's C scratch arrays.
func (d *daemon) traceTx(w *worker, v *vdevState, c *trace.Control, act *active, burst int,
	pkts **C.struct_rte_mbuf, caddrs *C.uintptr_t, clens *C.uint16_t, chashes *C.uint32_t) int {
	if w.id >= len(d.trace.w) {
		return int(C.mr_tx_drain(v.desc, act.inst, C.uint16_t(v.port.id), 0, C.uint16_t(burst)))
	}
	wt := d.trace.w[w.id]
	tw := wt.w
	addrs := unsafe.Slice((*uintptr)(unsafe.Pointer(caddrs)), maxBurst)
	lens := unsafe.Slice((*uint16)(unsafe.Pointer(clens)), maxBurst)
	hashes := unsafe.Slice((*uint32)(unsafe.Pointer(chashes)), maxBurst)
	port, vdev := uint16(v.port.id), uint16(v.idx)
	total := 0
	for s := uint32(0); s < act.ntx; s++ {
		n := int(C.mr_tx_take(act.inst, C.uint32_t(s), pkts, caddrs, clens, chashes, C.uint16_t(burst)))
		if n == 0 {
			continue
		}
		total += n
		clear(wt.sel[:n])
		for i := tw.Skip(c, n); i < n; i += 1 + tw.Skip(c, n-i-1) {
			wt.sel[i] = tw.Select(c, frameAt(addrs[i], lens[i]), &wt.tup[i])
		}
		tw.Burst()
		sent := int(C.mr_tx_send(v.desc, act.inst, C.uint32_t(s), C.uint16_t(v.port.id), 0, pkts, C.uint16_t(n)))
		for i := 0; i < n; i++ {
			if !wt.sel[i] {
				continue
			}
			if i < sent {
				tw.Record(trace.PortTx, 0, port, vdev, uint16(s), uint32(lens[i]), hashes[i], &wt.tup[i])
			} else {
				tw.Record(trace.Drop, trace.DropTxRefused, port, vdev, uint16(s), uint32(lens[i]), hashes[i], &wt.tup[i])
			}
		}
	}
	return total
}
