package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/zz_generated/abi"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// AllApps is the slot Source.Root returns for the view of everything (the daemon's).
const AllApps = -1

// Source says where a Collector finds the shared memory and how a scrape
// stays inside memory that is mapped.
type Source struct {
	// Root returns the address of struct mr_root in this process's mapping
	// (0 when there is nothing to read: not attached yet, closed) and whose
	// view to export: AllApps (the daemon's), or an application slot: then
	// only that application's vdevs (port counters and streams) and buffer
	// usage are exported, next to the daemon and pool gauges. It is called
	// under Lock at the start of every scrape.
	Root func() (root uintptr, slot int)
	// Lock, when set, is held for the whole scrape. The daemon passes its
	// control lock, under which it frees vdev instances, their rings and
	// app zones, so a scrape never reads freed (possibly unmapped) memory;
	// an application passes the lock under which it closes its devices and
	// detaches. Nil: the collector's own mutex only.
	Lock sync.Locker
	// Contains, when set, validates every address the collector follows
	// (shm.Handle.Contains in an attached process); an object whose
	// address fails is skipped and counted in
	// gomarsio_metrics_skipped_objects. Nil: addresses are trusted (the
	// daemon, which made them). Called under Lock.
	Contains func(addr, n uintptr) bool
}

// Collector is a prometheus.Collector reading mrzcpd's shared-memory ABI at
// scrape time: every counter is one atomic load of a field the daemon or
// the application writes on its data path; nothing is counted on the data
// path for the collector. Scrapes are serialised.
type Collector struct {
	src      Source
	slot     int // of the current scrape
	cache    seriesCache
	mu       sync.Mutex
	closed   bool
	families *counterFamilies
}

// NewCollector returns a collector over src. It panics if src.Root is nil.
func NewCollector(src Source) *Collector {
	if src.Root == nil {
		panic("metrics: Source.Root is nil")
	}
	fs, err := buildFamilies(counterRows)
	if err != nil {
		panic(err) // the table is static: TestTable keeps it valid
	}
	return &Collector{src: src, families: fs}
}

// Close makes every later scrape empty. When it returns no scrape is
// reading shared memory any more, so the memory may go away.
func (c *Collector) Close() {
	c.lock()
	c.closed = true
	c.unlock()
}

func (c *Collector) lock() {
	c.mu.Lock()
	if c.src.Lock != nil {
		c.src.Lock.Lock()
	}
}

func (c *Collector) unlock() {
	if c.src.Lock != nil {
		c.src.Lock.Unlock()
	}
	c.mu.Unlock()
}

// Descriptors of the gauges (the counters' come from counterRows).
var (
	descDaemonInfo = prometheus.NewDesc("gomarsio_daemon_info",
		"mrzcpd serving this shared memory (value 1).", []string{"pid", "abi_version", "dpdk_version"}, nil)
	descDaemonStart = prometheus.NewDesc("gomarsio_daemon_start_time_seconds",
		"When mrzcpd started (Unix time).", nil, nil)
	descHeartbeatAge = prometheus.NewDesc("gomarsio_daemon_heartbeat_age_seconds",
		"Time since mrzcpd's control loop last beat the root's heartbeat (about 1 s when healthy).", nil, nil)
	descPoolSize = prometheus.NewDesc("gomarsio_pool_size_mbufs",
		"Mbufs in the pool.", []string{"pool"}, nil)
	descPoolAvail = prometheus.NewDesc("gomarsio_pool_available_mbufs",
		"Mbufs free in the pool: its ring plus the daemon's per-lcore caches (rte_mempool_avail_count).", []string{"pool"}, nil)
	descPoolInUse = prometheus.NewDesc("gomarsio_pool_in_use_mbufs",
		"Mbufs not free in the pool: size minus available (in rings, in flight, held by applications, in application caches).", []string{"pool"}, nil)
	descPoolDataRoom = prometheus.NewDesc("gomarsio_pool_data_room_bytes",
		"Data room of each mbuf of the pool.", []string{"pool"}, nil)
	descVdevOpen = prometheus.NewDesc("gomarsio_vdev_open",
		"1 while an application has the vdev open, else 0.", []string{"port", "vdev"}, nil)
	descVdevStreams = prometheus.NewDesc("gomarsio_vdev_streams",
		"Streams of the open vdev instance, by direction.", []string{"port", "vdev", "direction"}, nil)
	descVdevOwner = prometheus.NewDesc("gomarsio_vdev_owner_info",
		"The application that has the vdev open (value 1).", []string{"port", "vdev", "app"}, nil)
	descRxQueued = prometheus.NewDesc("gomarsio_rx_stream_ring_mbufs",
		"Mbufs waiting in the rx stream's ring for the application.", scopeLabels[scopeRxStream], nil)
	descTxQueued = prometheus.NewDesc("gomarsio_tx_stream_ring_mbufs",
		"Mbufs waiting in the tx stream's ring for the daemon.", scopeLabels[scopeTxStream], nil)
	descRingSize = prometheus.NewDesc("gomarsio_stream_ring_capacity_mbufs",
		"Capacity of each stream ring of the open vdev instance.", []string{"port", "vdev"}, nil)
	descApps = prometheus.NewDesc("gomarsio_apps",
		"Registered applications.", nil, nil)
	descAppInfo = prometheus.NewDesc("gomarsio_app_info",
		"A registered application (value 1).", []string{"app", "slot", "pid"}, nil)
	descAppThreads = prometheus.NewDesc("gomarsio_app_threads",
		"Dataplane threads of the application.", []string{"app"}, nil)
	descAppHeld = prometheus.NewDesc("gomarsio_app_held_mbufs",
		"Approximate mbufs of a pool held by the application, by where: rx_rings (delivered, not yet received), "+
			"tx_rings (sent, not yet taken by the daemon; counted in the vdev's pool) and caches (its per-thread "+
			"caches). Mbufs in the application's hands are not counted (that would need a walk over every mbuf).",
		[]string{"app", "pool", "where"}, nil)
	descSkipped = prometheus.NewDesc("gomarsio_metrics_skipped_objects",
		"Objects the last scrape skipped because an address in shared memory failed validation or a header was inconsistent.", nil, nil)
)

var gaugeDescs = []*prometheus.Desc{descDaemonInfo, descDaemonStart, descHeartbeatAge, descPoolSize, descPoolAvail,
	descPoolInUse, descPoolDataRoom, descVdevOpen, descVdevStreams, descVdevOwner, descRxQueued, descTxQueued,
	descRingSize, descApps, descAppInfo, descAppThreads, descAppHeld, descSkipped}

// Describe sends every family the collector can export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.families.all {
		ch <- f.desc
	}
	for _, d := range gaugeDescs {
		ch <- d
	}
}

// ptrAt turns an address in shared memory (never Go's heap) into a pointer.
func ptrAt(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

func load64(a uintptr) uint64 { return atomic.LoadUint64((*uint64)(ptrAt(a))) }
func load32(a uintptr) uint32 { return atomic.LoadUint32((*uint32)(ptrAt(a))) }

// cstr reads a NUL-terminated string from a fixed-size field.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// scrape is the state of one Collect.
type scrape struct {
	c       *Collector
	ch      chan<- prometheus.Metric
	root    *abi.Root
	skipped int
	// held[app slot][pool][where]: the approximation of gomarsio_app_held_mbufs.
	held map[int]*[abi.MR_MAX_POOLS][3]int
}

const (
	heldRx = iota
	heldTx
	heldCache
)

var heldWhere = [...]string{heldRx: "rx_rings", heldTx: "tx_rings", heldCache: "caches"}

func (s *scrape) ok(addr, n uintptr) bool {
	if addr == 0 || addr%8 != 0 {
		s.skipped++
		return false
	}
	if f := s.c.src.Contains; f != nil && !f(addr, n) {
		s.skipped++
		return false
	}
	return true
}

func (s *scrape) gauge(d *prometheus.Desc, v float64, labels ...string) {
	s.send(d, prometheus.GaugeValue, v, labels)
}

func (s *scrape) send(d *prometheus.Desc, typ prometheus.ValueType, v float64, labels []string) {
	s.ch <- &sample{s.c.cache.get(d, typ, labels), v}
}

// Collect reads the shared memory and sends the current values.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.lock()
	defer c.unlock()
	if c.closed {
		return
	}
	addr, slot := c.src.Root()
	c.slot = slot
	if addr == 0 {
		return
	}
	s := &scrape{c: c, ch: ch, held: map[int]*[abi.MR_MAX_POOLS][3]int{}}
	c.cache.begin()
	defer func() {
		s.gauge(descSkipped, float64(s.skipped))
		c.cache.end()
	}()
	if !s.ok(addr, abi.SizeofRoot) {
		return
	}
	r := (*abi.Root)(ptrAt(addr))
	if load32(uintptr(unsafe.Pointer(&r.Magic))) != abi.MR_ABI_MAGIC || r.AbiVersion != abi.MR_ABI_VERSION {
		s.skipped++
		return
	}
	s.root = r
	s.daemon()
	s.vdevs()
	s.apps()
	s.pools()
}

func (s *scrape) daemon() {
	r := s.root
	v := r.DpdkVersion
	dv := strconv.Itoa(int(v>>24)) + "." + strconv.Itoa(int(v>>16&0xff)) + "." + strconv.Itoa(int(v>>8&0xff))
	s.gauge(descDaemonInfo, 1, strconv.Itoa(int(r.DaemonPid)), strconv.Itoa(int(r.AbiVersion)), dv)
	s.gauge(descDaemonStart, float64(r.StartNs)/1e9)
	var ts unix.Timespec
	if hb := load64(uintptr(unsafe.Pointer(&r.HeartbeatNs))); hb != 0 && unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		s.gauge(descHeartbeatAge, (time.Duration(ts.Nano()) - time.Duration(hb)).Seconds())
	}
}

// appName returns the appsym of an active slot.
func (s *scrape) appName(slot uint32) string {
	if slot >= abi.MR_MAX_APPS {
		return ""
	}
	return cstr(s.root.Apps[slot].Appsym[:])
}

func (s *scrape) vdevs() {
	r := s.root
	n := min(r.NrVdevs, abi.MR_MAX_VDEVS)
	fams := &s.c.families.byScope
	for i := range n {
		d := &r.Vdevs[i]
		state := load32(uintptr(unsafe.Pointer(&d.State)))
		owner := load32(uintptr(unsafe.Pointer(&d.OwnerSlot)))
		open := state == abi.MR_VDEV_OPEN
		if s.c.slot != AllApps && (!open || owner != uint32(s.c.slot)) {
			continue
		}
		port, vdev := strconv.Itoa(int(d.PortId)), cstr(d.Devsym[:])
		base := uintptr(unsafe.Pointer(d))
		s.counters(fams[scopeVdev], base, port, vdev)
		s.gauge(descVdevOpen, b2f(open), port, vdev)
		if !open {
			continue
		}
		inst := uintptr(load64(uintptr(unsafe.Pointer(&d.Instance))))
		if inst == 0 {
			continue // published after state; closing
		}
		if !s.ok(inst, abi.SizeofVdevInstance) {
			continue
		}
		vi := (*abi.VdevInstance)(ptrAt(inst))
		if load32(uintptr(unsafe.Pointer(&vi.Magic))) != abi.MR_ABI_MAGIC || vi.VdevIndex != i ||
			vi.NrRxstream > abi.MR_MAX_STREAMS || vi.NrTxstream > abi.MR_MAX_STREAMS {
			s.skipped++
			continue
		}
		app := s.appName(vi.AppSlot)
		s.gauge(descVdevOwner, 1, port, vdev, app)
		s.gauge(descVdevStreams, float64(vi.NrRxstream), port, vdev, "rx")
		s.gauge(descVdevStreams, float64(vi.NrTxstream), port, vdev, "tx")
		s.gauge(descRingSize, float64(vi.RingSize), port, vdev)
		held := s.heldOf(int(vi.AppSlot))
		pool := d.PoolIndex
		for k := range vi.NrRxstream {
			st := &vi.Rx[k]
			stream := strconv.Itoa(int(k))
			s.counters(fams[scopeRxStream], uintptr(unsafe.Pointer(st)), port, vdev, app, stream)
			if q, ok := s.ringCount(st.Ring); ok {
				s.gauge(descRxQueued, float64(q), port, vdev, app, stream)
				if held != nil && pool < abi.MR_MAX_POOLS {
					held[pool][heldRx] += q
				}
			}
		}
		for k := range vi.NrTxstream {
			st := &vi.Tx[k]
			stream := strconv.Itoa(int(k))
			s.counters(fams[scopeTxStream], uintptr(unsafe.Pointer(st)), port, vdev, app, stream)
			if q, ok := s.ringCount(st.Ring); ok {
				s.gauge(descTxQueued, float64(q), port, vdev, app, stream)
				if held != nil && pool < abi.MR_MAX_POOLS {
					held[pool][heldTx] += q
				}
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// counters sends every row of fams for the struct at base.
func (s *scrape) counters(fams []*family, base uintptr, labels ...string) {
	for _, f := range fams {
		for _, i := range f.rows {
			row := &counterRows[i]
			v := float64(load64(base + row.off))
			if row.reason != "" {
				s.send(f.desc, prometheus.CounterValue, v, append(labels, row.reason))
			} else {
				s.send(f.desc, prometheus.CounterValue, v, labels)
			}
		}
	}
}

// ringCount returns the number of mbufs in the ring at addr.
func (s *scrape) ringCount(addr uint64) (int, bool) {
	a := uintptr(addr)
	if !s.ok(a, dpdk.SizeofRing) {
		return 0, false
	}
	r, err := fastpath.RingAt(a)
	if err != nil {
		s.skipped++
		return 0, false
	}
	return r.Count(), true
}

// heldOf returns the held counts of an application slot the collector
// reports on, nil for others.
func (s *scrape) heldOf(slot int) *[abi.MR_MAX_POOLS][3]int {
	if slot < 0 || slot >= abi.MR_MAX_APPS || (s.c.slot != AllApps && slot != s.c.slot) {
		return nil
	}
	h := s.held[slot]
	if h == nil {
		h = new([abi.MR_MAX_POOLS][3]int)
		s.held[slot] = h
	}
	return h
}

func (s *scrape) apps() {
	r := s.root
	npools := min(r.NrPools, abi.MR_MAX_POOLS)
	active := 0
	for slot := range abi.MR_MAX_APPS {
		a := &r.Apps[slot]
		if load32(uintptr(unsafe.Pointer(&a.State))) != abi.MR_APP_ACTIVE {
			continue
		}
		active++
		if s.c.slot != AllApps && slot != s.c.slot {
			continue
		}
		name := cstr(a.Appsym[:])
		s.gauge(descAppInfo, 1, name, strconv.Itoa(slot), strconv.Itoa(int(a.Pid)))
		s.gauge(descAppThreads, float64(a.NrThreads), name)
		held := s.heldOf(slot)
		s.appCaches(uintptr(a.Zone), held)
		for p := range npools {
			pool := cstr(r.Pools[p].Name[:])
			for w, where := range heldWhere {
				s.gauge(descAppHeld, float64(held[p][w]), name, pool, where)
			}
		}
	}
	s.gauge(descApps, float64(active))
}

// appCaches adds the lengths of an application's per-thread caches (struct
// mr_app_zone: nr_threads x nr_pools caches, thread-major).
func (s *scrape) appCaches(zone uintptr, held *[abi.MR_MAX_POOLS][3]int) {
	if !s.ok(zone, abi.SizeofAppZone) {
		return
	}
	z := (*abi.AppZone)(ptrAt(zone))
	nt, np, stride := uintptr(z.NrThreads), uintptr(z.NrPools), uintptr(z.CacheStride)
	if nt > abi.MR_MAX_THREADS || np > abi.MR_MAX_POOLS || stride < dpdk.SizeofMempoolCache || stride > 1<<16 {
		s.skipped++
		return
	}
	caches := uintptr(z.Caches)
	if nt*np == 0 || !s.ok(caches, nt*np*stride) {
		return
	}
	for t := range nt {
		for p := range np {
			l := load32(caches + (t*np+p)*stride + dpdk.OffsetofMempoolCacheLen)
			held[p][heldCache] += int(min(l, 2*dpdk.RTE_MEMPOOL_CACHE_MAX_SIZE))
		}
	}
}

func (s *scrape) pools() {
	r := s.root
	for p := range min(r.NrPools, abi.MR_MAX_POOLS) {
		d := &r.Pools[p]
		name := cstr(d.Name[:])
		s.gauge(descPoolSize, float64(d.Size), name)
		s.gauge(descPoolDataRoom, float64(d.DataRoom), name)
		avail, ok := s.poolAvail(uintptr(d.Mempool))
		if !ok {
			continue
		}
		avail = min(avail, int(d.Size))
		s.gauge(descPoolAvail, float64(avail), name)
		s.gauge(descPoolInUse, float64(int(d.Size)-avail), name)
	}
}

// poolAvail is rte_mempool_avail_count: the pool's ring plus the lengths of
// its per-lcore caches (used by the daemon's EAL threads, if any).
func (s *scrape) poolAvail(addr uintptr) (int, bool) {
	if !s.ok(addr, dpdk.SizeofMempool) {
		return 0, false
	}
	// MempoolAt follows pool_data to the ring: validate it first.
	if !s.ok(uintptr(load64(addr+dpdk.OffsetofMempoolPoolData)), dpdk.SizeofRing) {
		return 0, false
	}
	mp, err := fastpath.MempoolAt(addr)
	if err != nil {
		s.skipped++
		return 0, false
	}
	n := mp.AvailCount()
	if load32(addr+dpdk.OffsetofMempoolPoolCacheSize) == 0 {
		return n, true
	}
	lc := uintptr(load64(addr + dpdk.OffsetofMempoolLocalCache))
	if !s.ok(lc, dpdk.RTE_MAX_LCORE*dpdk.SizeofMempoolCache) {
		return n, true
	}
	for i := range uintptr(dpdk.RTE_MAX_LCORE) {
		l := load32(lc + i*dpdk.SizeofMempoolCache + dpdk.OffsetofMempoolCacheLen)
		n += int(min(l, 2*dpdk.RTE_MEMPOOL_CACHE_MAX_SIZE))
	}
	return n, true
}
