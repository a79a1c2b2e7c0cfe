package metrics

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/zz_generated/abi"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

func TestTable(t *testing.T) {
	if _, err := buildFamilies(counterRows); err != nil {
		t.Fatal(err)
	}
	ok := counterRow{scopeVdev, "x_total", "a", abi.OffsetofVdevDescNoApp + drops, "help"}
	for name, rows := range map[string][]counterRow{
		"reason twice": {ok, {scopeVdev, "x_total", "a", abi.OffsetofVdevDescPortTx + drops, ""}},
		"mixed scope":  {ok, {scopeRxStream, "x_total", "b", abi.OffsetofRxStreamDaemon + drops, ""}},
		"mixed reason": {ok, {scopeVdev, "x_total", "", abi.OffsetofVdevDescPortTx + drops, ""}},
		"no help":      {{scopeVdev, "y_total", "", abi.OffsetofVdevDescPortTx + drops, ""}},
		"outside":      {{scopeTxStream, "y_total", "", abi.SizeofTxStream, "help"}},
		"name twice":   {{scopeVdev, "y_total", "", 0, "help"}, {scopeVdev, "y_total", "", 8, "help"}},
	} {
		if _, err := buildFamilies(rows); err == nil {
			t.Errorf("%s: table accepted", name)
		}
	}
}

// goMem returns n bytes of 64-byte aligned Go memory; keep is what must
// stay alive while the address is used.
func goMem(n int) (addr uintptr, keep []byte) {
	b := make([]byte, n+64)
	a := uintptr(unsafe.Pointer(&b[0]))
	return (a + 63) &^ 63, b
}

// fakeShm lays out a root with two vdevs (vxe0 open by app "a3" in slot 3
// with 2 rx and 1 tx streams, vxe1 idle), one pool without a mempool, and
// the app's zone with 2 threads' caches, all in Go memory.
type fakeShm struct {
	root  *abi.Root
	keep  [][]byte
	rings []fastpath.Ring
}

func newFakeShm(t *testing.T) *fakeShm {
	f := &fakeShm{}
	ra, k := goMem(abi.SizeofRoot)
	f.keep = append(f.keep, k)
	r := (*abi.Root)(ptrAt(ra))
	f.root = r
	r.Magic, r.AbiVersion, r.DpdkVersion, r.DaemonPid = abi.MR_ABI_MAGIC, abi.MR_ABI_VERSION, 22<<24|11<<16|11<<8, 4242
	r.NrPools, r.NrVdevs = 1, 2
	copy(r.Pools[0].Name[:], "MZ0")
	r.Pools[0].Size, r.Pools[0].DataRoom = 4095, 2176
	for i, name := range []string{"vxe0", "vxe1"} {
		d := &r.Vdevs[i]
		copy(d.Devsym[:], name)
		d.PortId = uint16(i)
		d.PortRx.Pkts, d.PortRx.Bytes = 100+uint64(i), 6400
		d.PortTx.Pkts, d.PortTx.Drops = 90, 7
		d.NoApp.Drops, d.NoApp.Bytes = 3, 192
	}
	a := &r.Apps[3]
	a.State, a.Pid, a.NrThreads = abi.MR_APP_ACTIVE, 777, 2
	copy(a.Appsym[:], "a3")
	za, k := goMem(abi.SizeofAppZone)
	f.keep = append(f.keep, k)
	z := (*abi.AppZone)(ptrAt(za))
	stride := uintptr(dpdk.SizeofMempoolCache+63) &^ 63
	ca, k := goMem(int(2 * stride))
	f.keep = append(f.keep, k)
	z.NrThreads, z.NrPools, z.Caches, z.CacheStride = 2, 1, uint64(ca), uint64(stride)
	*(*uint32)(ptrAt(ca + dpdk.OffsetofMempoolCacheLen)) = 10
	*(*uint32)(ptrAt(ca + stride + dpdk.OffsetofMempoolCacheLen)) = 5
	a.Zone = uint64(za)

	ia, k := goMem(abi.SizeofVdevInstance)
	f.keep = append(f.keep, k)
	vi := (*abi.VdevInstance)(ptrAt(ia))
	vi.Magic, vi.VdevIndex, vi.AppSlot, vi.NrRxstream, vi.NrTxstream, vi.RingSize = abi.MR_ABI_MAGIC, 0, 3, 2, 1, 64
	for k, n := range []int{4, 6, 1} { // rx0, rx1, tx0 ring fill
		size, err := fastpath.RingMemSize(64, 8, 0)
		if err != nil {
			t.Fatal(err)
		}
		ringA, keep := goMem(size)
		f.keep = append(f.keep, keep)
		ring, err := fastpath.RingInit(ringA, fmt.Sprintf("r%d", k), 64, 0)
		if err != nil {
			t.Fatal(err)
		}
		objs := make([]uintptr, n)
		for j := range objs {
			objs[j] = uintptr(j + 1)
		}
		ring.EnqueueBulk(objs)
		f.rings = append(f.rings, ring)
		if k < 2 {
			vi.Rx[k].Ring = uint64(ringA)
			vi.Rx[k].Daemon.Pkts, vi.Rx[k].Daemon.Drops, vi.Rx[k].App.Pkts = 50+uint64(k), 2+uint64(k), 40
		} else {
			vi.Tx[0].Ring = uint64(ringA)
			vi.Tx[0].App.Pkts, vi.Tx[0].App.Drops, vi.Tx[0].Daemon.Pkts, vi.Tx[0].Daemon.Drops = 30, 1, 29, 5
		}
	}
	d := &r.Vdevs[0]
	d.State, d.OwnerSlot, d.Instance = abi.MR_VDEV_OPEN, 3, uint64(ia)
	return f
}

func (f *fakeShm) addr() uintptr { return uintptr(unsafe.Pointer(f.root)) }

// view is the daemon's view (Source.Root).
func (f *fakeShm) view() (uintptr, int) { return f.addr(), AllApps }

// appView returns an application's view.
func (f *fakeShm) appView(slot int) func() (uintptr, int) {
	return func() (uintptr, int) { return f.addr(), slot }
}

// gather gathers reg and returns "name{l=v,...}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, lp := range m.Label {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(ls)
			key := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.Counter.GetValue()
			default:
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

func TestCollect(t *testing.T) {
	f := newFakeShm(t)
	defer runtime.KeepAlive(f)
	c := NewCollector(Source{Root: f.view})
	reg := prometheus.NewPedanticRegistry() // checks Collect against Describe
	reg.MustRegister(c)
	got := gather(t, reg)
	want := map[string]float64{
		fmt.Sprintf("gomarsio_daemon_info{abi_version=%d,dpdk_version=22.11.11,pid=4242}", abi.MR_ABI_VERSION): 1,
		"gomarsio_port_rx_packets_total{port=0,vdev=vxe0}":                                                     100,
		"gomarsio_port_rx_packets_total{port=1,vdev=vxe1}":                                                     101,
		"gomarsio_port_rx_bytes_total{port=0,vdev=vxe0}":                                                       6400,
		"gomarsio_port_tx_packets_total{port=0,vdev=vxe0}":                                                     90,
		"gomarsio_vdev_dropped_packets_total{port=0,reason=no_app,vdev=vxe0}":                                  3,
		"gomarsio_vdev_dropped_packets_total{port=0,reason=port_tx_refused,vdev=vxe0}":                         7,
		"gomarsio_vdev_dropped_bytes_total{port=0,reason=no_app,vdev=vxe0}":                                    192,
		"gomarsio_vdev_open{port=0,vdev=vxe0}":                                                                 1,
		"gomarsio_vdev_open{port=1,vdev=vxe1}":                                                                 0,
		"gomarsio_vdev_owner_info{app=a3,port=0,vdev=vxe0}":                                                    1,
		"gomarsio_vdev_streams{direction=rx,port=0,vdev=vxe0}":                                                 2,
		"gomarsio_vdev_streams{direction=tx,port=0,vdev=vxe0}":                                                 1,
		"gomarsio_rx_stream_delivered_packets_total{app=a3,port=0,stream=1,vdev=vxe0}":                         51,
		"gomarsio_rx_stream_received_packets_total{app=a3,port=0,stream=0,vdev=vxe0}":                          40,
		"gomarsio_rx_stream_dropped_packets_total{app=a3,port=0,reason=ring_full,stream=1,vdev=vxe0}":          3,
		"gomarsio_rx_stream_ring_mbufs{app=a3,port=0,stream=0,vdev=vxe0}":                                      4,
		"gomarsio_rx_stream_ring_mbufs{app=a3,port=0,stream=1,vdev=vxe0}":                                      6,
		"gomarsio_tx_stream_ring_mbufs{app=a3,port=0,stream=0,vdev=vxe0}":                                      1,
		"gomarsio_tx_stream_sent_packets_total{app=a3,port=0,stream=0,vdev=vxe0}":                              30,
		"gomarsio_tx_stream_transmitted_packets_total{app=a3,port=0,stream=0,vdev=vxe0}":                       29,
		"gomarsio_tx_stream_dropped_packets_total{app=a3,port=0,reason=ring_full,stream=0,vdev=vxe0}":          1,
		"gomarsio_tx_stream_dropped_packets_total{app=a3,port=0,reason=port_refused,stream=0,vdev=vxe0}":       5,
		"gomarsio_stream_ring_capacity_mbufs{port=0,vdev=vxe0}":                                                64,
		"gomarsio_apps{}":                                                    1,
		"gomarsio_app_info{app=a3,pid=777,slot=3}":                           1,
		"gomarsio_app_threads{app=a3}":                                       2,
		"gomarsio_app_held_mbufs{app=a3,pool=MZ0,where=rx_rings}":            10,
		"gomarsio_app_held_mbufs{app=a3,pool=MZ0,where=tx_rings}":            1,
		"gomarsio_app_held_mbufs{app=a3,pool=MZ0,where=caches}":              15,
		"gomarsio_pool_size_mbufs{pool=MZ0}":                                 4095,
		"gomarsio_pool_data_room_bytes{pool=MZ0}":                            2176,
		"gomarsio_metrics_skipped_objects{}":                                 1, // the pool without a mempool
		"gomarsio_daemon_start_time_seconds{}":                               0,
		"gomarsio_rx_stream_wakeups_total{app=a3,port=0,stream=0,vdev=vxe0}": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for k := range got {
		if strings.Contains(k, "vxe1") && !strings.HasPrefix(k, "gomarsio_port_") && !strings.HasPrefix(k, "gomarsio_vdev_") {
			t.Errorf("idle vdev has stream series: %s", k)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}

	// An application's view: its vdev and usage only.
	app := gather(t, registry(NewCollector(Source{Root: f.appView(3)})))
	if _, ok := app["gomarsio_port_rx_packets_total{port=1,vdev=vxe1}"]; ok {
		t.Error("app 3 sees vxe1")
	}
	if app["gomarsio_app_held_mbufs{app=a3,pool=MZ0,where=caches}"] != 15 || app["gomarsio_port_rx_packets_total{port=0,vdev=vxe0}"] != 100 {
		t.Errorf("app 3 view: %v", app)
	}
	other := gather(t, registry(NewCollector(Source{Root: f.appView(5)})))
	for k := range other {
		if strings.Contains(k, "vdev=") || strings.Contains(k, "app=") {
			t.Errorf("app 5 sees %s", k)
		}
	}

	// Addresses that fail validation are skipped, never followed.
	var mu sync.Mutex
	strict := gather(t, registry(NewCollector(Source{Root: f.view, Lock: &mu,
		Contains: func(a, n uintptr) bool { return a == f.addr() && n == abi.SizeofRoot }})))
	if strict["gomarsio_metrics_skipped_objects{}"] != 3 /* instance, zone, pool */ || strict["gomarsio_port_rx_packets_total{port=0,vdev=vxe0}"] != 100 {
		t.Errorf("strict view: skipped %v", strict["gomarsio_metrics_skipped_objects{}"])
	}
	if _, ok := strict["gomarsio_rx_stream_ring_mbufs{app=a3,port=0,stream=0,vdev=vxe0}"]; ok {
		t.Error("followed an instance that failed validation")
	}

	// A bad magic (daemon restarting) yields nothing but the skip count;
	// Close yields nothing at all.
	f.root.Magic = 0
	if s := gather(t, registry(NewCollector(Source{Root: f.view}))); len(s) != 1 {
		t.Errorf("bad magic: %v", s)
	}
	f.root.Magic = abi.MR_ABI_MAGIC
	c.Close()
	if s := gather(t, reg); len(s) != 0 {
		t.Errorf("after Close: %v", s)
	}
	if s := gather(t, registry(NewCollector(Source{Root: func() (uintptr, int) { return 0, AllApps }}))); len(s) != 0 {
		t.Errorf("root 0: %v", s)
	}
}

func registry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return reg
}

// BenchmarkScrape is the cost of one scrape of a vdev with 64 rx and 64 tx
// streams: Collect, Gather and the text encoding of the HTTP handler.
// cpu-us/op is the process's CPU time per scrape (getrusage), which a
// loaded machine does not inflate the way it inflates ns/op.
func BenchmarkScrape(b *testing.B) {
	f := newFakeShm(&testing.T{})
	defer runtime.KeepAlive(f)
	vi := (*abi.VdevInstance)(ptrAt(uintptr(f.root.Vdevs[0].Instance)))
	vi.NrRxstream, vi.NrTxstream = 64, 64
	for k := range 64 {
		vi.Rx[k].Ring = uint64(f.rings[0].Addr())
		vi.Tx[k].Ring = uint64(f.rings[2].Addr())
	}
	h := Handler(Registry(NewCollector(Source{Root: f.view}), false), nil)
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	var size int
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		size = w.Body.Len()
		n++
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/op")
	b.ReportMetric(float64(size)/1024, "KiB/op")
}
