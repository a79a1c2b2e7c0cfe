package daemon

/*
#include "dp.h"
*/
import "C"

import (
	"os"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

func counters(c *C.struct_mr_counters) monit.Counters {
	return monit.Counters{Pkts: uint64(c.pkts), Bytes: uint64(c.bytes), Drops: uint64(c.drops), Events: uint64(c.events)}
}

// appTxDrops sums the app-written tx ring-full drops of an open instance.
func appTxDrops(inst *C.struct_mr_vdev_instance) uint64 {
	var n uint64
	if inst == nil {
		return 0
	}
	for i := 0; i < int(inst.nr_txstream); i++ {
		n += uint64(inst.tx[i].app.drops)
	}
	return n
}

// drops is a vdev's mr_drops for the status file; appTx adds the drops of
// the instance open now (folded into the counter only at close).
func drops(c *C.struct_mr_drops, appTx uint64) monit.Drops {
	return monit.Drops{RxRingFull: uint64(c.rx_ring_full), NoMbuf: uint64(c.no_mbuf), NoApp: uint64(c.no_app),
		Filtered: uint64(c.filtered), PortTxRefused: uint64(c.port_tx_refused),
		AppTxRingFull: uint64(c.app_tx_ring_full) + appTx, Malformed: uint64(c.malformed)}
}

// status builds mrmonit.daemon; it also beats the root's heartbeat.
func (d *daemon) status() *monit.Daemon {
	s, _ := d.statusBounded(0)
	return s
}

// statusBounded is status waiting at most bound for the control lock (0:
// as long as it takes, or until a stall); false when it gave up: s then
// lacks the vdevs, apps and reclaims.
func (d *daemon) statusBounded(bound time.Duration) (*monit.Daemon, bool) {
	d.root.heartbeat_ns = C.uint64_t(C.mr_now_monotonic())
	s := &monit.Daemon{General: monit.DaemonGeneral{
		GCfgfile: d.cfg.Path, Pid: os.Getpid(), StartTime: d.start.UnixNano(), UpdateTime: time.Now().UnixNano(),
		FilePrefix: d.prefix, RuntimeDir: d.rtDir, HugeDir: d.hugeDir, RunDir: d.runDir,
		DPDKVersion: C.GoString(C.mr_dpdk_version()), ABIVersion: abiVersion,
		Root: uint64(uintptrOf(d.root)), AppGroup: d.cfg.Service.AppGroup,
	}}
	for i, p := range d.cfg.Pools {
		avail := uint32(C.mr_pool_avail(C.uint32_t(i)))
		s.Pools = append(s.Pools, monit.PoolStatus{Name: p.Name, Size: p.Size, Available: avail, InUse: p.Size - avail,
			Ring: ringEnds(i)})
	}
	for _, p := range d.ports {
		ps := monit.PortStatus{Name: p.cfg.Name, PortID: p.id, Device: p.cfg.DeviceArg(), MAC: macString(p.mac)}
		var st C.struct_mr_port_stats
		if p.started && C.mr_port_stats(C.uint16_t(p.id), &st) == 0 {
			ps.LinkUp = st.link_up != 0
			ps.Rx = monit.Counters{Pkts: uint64(st.ipackets), Bytes: uint64(st.ibytes)}
			ps.Tx = monit.Counters{Pkts: uint64(st.opackets), Bytes: uint64(st.obytes)}
			ps.Missed, ps.Errors, ps.OErrors = uint64(st.imissed), uint64(st.ierrors), uint64(st.oerrors)
			ps.RxNoMbuf = uint64(st.rx_nombuf)
			for _, v := range d.vdevs {
				if v.port == p {
					d.traceNoMbuf(v, uint64(st.rx_nombuf-v.desc.drops.no_mbuf)) // drop no-mbuf event, tracing on only
					v.desc.drops.no_mbuf = st.rx_nombuf
				}
			}
		}
		s.Ports = append(s.Ports, ps)
	}
	s.StalledWorkers = d.stalledWorkers()
	if !d.lockCtl(bound) {
		return s, false
	}
	defer d.mu.Unlock()
	for _, v := range d.vdevs {
		vs := monit.VdevStatus{Devsym: v.cfg.Devsym, Port: v.cfg.Port, State: "idle",
			PortRx: counters(&v.desc.port_rx), PortTx: counters(&v.desc.port_tx), NoApp: counters(&v.desc.no_app)}
		if !v.port.started {
			vs.State = "port failed: " + v.port.err.Error()
		}
		var appTx uint64
		if v.owner >= 0 && v.inst != nil {
			appTx = appTxDrops(v.inst)
		}
		vs.Drops = drops(&v.desc.drops, appTx)
		if v.owner >= 0 && v.inst != nil {
			vs.State = "open"
			vs.App = d.apps[v.owner].appsym
			for i := 0; i < int(v.inst.nr_rxstream); i++ {
				rx := &v.inst.rx[i]
				vs.Rx = append(vs.Rx, monit.StreamStatus{Daemon: counters(&rx.daemon), App: counters(&rx.app),
					Count: uint32(C.rte_ring_count((*C.struct_rte_ring)(ptrOf(uint64(rx.ring)))))})
			}
			for i := 0; i < int(v.inst.nr_txstream); i++ {
				tx := &v.inst.tx[i]
				vs.Tx = append(vs.Tx, monit.StreamStatus{Daemon: counters(&tx.daemon), App: counters(&tx.app),
					Count: uint32(C.rte_ring_count((*C.struct_rte_ring)(ptrOf(uint64(tx.ring)))))})
			}
		}
		s.Vdevs = append(s.Vdevs, vs)
	}
	for _, a := range d.apps {
		if a == nil {
			continue
		}
		as := monit.AppSummary{Slot: uint32(a.slot), Appsym: a.appsym, Pid: a.pid, State: "active",
			MonitFile: cstr(&d.root.apps[a.slot].monit_file[0], len(d.root.apps[a.slot].monit_file))}
		for vi := range a.vdevs {
			as.Vdevs = append(as.Vdevs, d.vdevs[vi].cfg.Devsym)
		}
		s.Apps = append(s.Apps, as)
	}
	s.Reclaims = append([]monit.Reclaim(nil), d.reclaims...)
	return s, true
}

func (d *daemon) writeStatus(path string) error {
	return monit.WriteFile(path, d.status())
}
