package statview

import (
	"fmt"
	"path/filepath"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

// SampleStart is the start time (CLOCK_REALTIME ns) of the sample daemon.
const SampleStart int64 = 1_790_000_000_000_000_000

// Sample returns the status of a small made-up system at step (one second
// per step): mrzcpd with one pcap port feeding vdev vxe0, opened by app
// "flowcount" with two rx and two tx streams, plus an idle vdev. Tests and
// the fixture run dir of tools/mrstat are generated from it, so they follow
// ctrlproto/monit's schema instead of hand-written JSON.
func Sample(step int) (*monit.Daemon, []*monit.App) {
	s := uint64(step)
	now := SampleStart + int64(step+3600)*1e9
	pps := []uint64{600_000, 400_000} // per rx stream
	const size = 100                  // bytes per packet
	d := &monit.Daemon{General: monit.DaemonGeneral{
		GCfgfile: "/opt/tsg/mrzcpd/etc/mrglobal.conf", Pid: 4242, StartTime: SampleStart, UpdateTime: now,
		FilePrefix: "rte", RuntimeDir: "/var/run/dpdk/rte", HugeDir: "/dev/hugepages", RunDir: monit.DefaultRunDir,
		DPDKVersion: "DPDK 22.11.11", ABIVersion: 1, Root: 0x110180840,
	}}
	d.Pools = []monit.PoolStatus{{Name: "MZ0", Size: 8191, Available: 7100 - uint32(step), InUse: 1091 + uint32(step)}}
	total := (pps[0] + pps[1]) * (s + 10)
	d.Ports = []monit.PortStatus{
		{Name: "p0", PortID: 0, Device: "net_pcap0,rx_pcap=/tmp/in.pcap,tx_pcap=/tmp/out.pcap", MAC: "02:00:00:00:00:01", LinkUp: true,
			Rx: monit.Counters{Pkts: total, Bytes: total * size}, Tx: monit.Counters{Pkts: total / 2, Bytes: total / 2 * size}, Missed: 7},
		{Name: "p1", PortID: 1, Device: "net_null0", MAC: "02:00:00:00:00:02"},
	}
	v := monit.VdevStatus{Devsym: "vxe0", Port: "p0", State: "open", App: "flowcount",
		PortRx: monit.Counters{Pkts: total, Bytes: total * size}, PortTx: monit.Counters{Pkts: total / 2, Bytes: total / 2 * size},
		NoApp: monit.Counters{Pkts: 1000, Bytes: 1000 * size, Drops: 1000},
		Drops: monit.Drops{NoApp: 1000, RxRingFull: 12, AppTxRingFull: 3}}
	app := &monit.App{General: monit.AppGeneral{Appsym: "flowcount", Pid: 4343, Slot: 0,
		GCfgfile: d.General.GCfgfile, AppCfgfile: filepath.Join("/opt/tsg/mrzcpd/etc", "mrapp.flowcount.conf"),
		StartTime: SampleStart + 5e9, UpdateTime: now - 2e8, NrThreads: 2}}
	dev := monit.AppDevice{Devsym: "vxe0", MAC: "02:00:00:00:00:01"}
	for i, p := range pps {
		n := p * (s + 10)
		drops := uint64(0)
		if i == 1 {
			drops = 50 * s // stream 1 is slow: its ring overflows a little
		}
		v.Rx = append(v.Rx, monit.StreamStatus{Daemon: monit.Counters{Pkts: n, Bytes: n * size, Drops: drops},
			App: monit.Counters{Pkts: n - 32, Bytes: (n - 32) * size, Events: s}, Count: 32})
		v.Tx = append(v.Tx, monit.StreamStatus{Daemon: monit.Counters{Pkts: n / 2, Bytes: n / 2 * size},
			App: monit.Counters{Pkts: n / 2, Bytes: n / 2 * size}})
		dev.Rx = append(dev.Rx, monit.AppStream{Index: uint32(i), Pkts: n - 32, Bytes: (n - 32) * size, Events: s})
		dev.Tx = append(dev.Tx, monit.AppStream{Index: uint32(i), Pkts: n / 2, Bytes: n / 2 * size})
	}
	app.Devices = []monit.AppDevice{dev}
	for i := 0; i < 2; i++ {
		app.Threads = append(app.Threads, monit.AppThread{ID: uint32(i), TID: 4344 + i, CPU: i, Sleeps: s * 3})
	}
	d.Vdevs = []monit.VdevStatus{v, {Devsym: "vxe1", Port: "p1", State: "idle"}}
	d.Apps = []monit.AppSummary{{Slot: 0, Appsym: "flowcount", Pid: 4343, State: "active", Vdevs: []string{"vxe0"},
		MonitFile: monit.AppPath(monit.DefaultRunDir, "flowcount")}}
	d.Reclaims = []monit.Reclaim{{Appsym: "crashy", Pid: 4000, Time: SampleStart + 60e9, FromRings: 512, FromCache: 256, FromTags: 3}}
	return d, []*monit.App{app}
}

// WriteSample writes Sample(step) into dir with monit.WriteFile.
func WriteSample(dir string, step int) error {
	d, apps := Sample(step)
	if err := monit.WriteFile(monit.DaemonPath(dir), d); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	for _, a := range apps {
		if err := monit.WriteFile(monit.AppPath(dir, a.General.Appsym), a); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
	}
	return nil
}
