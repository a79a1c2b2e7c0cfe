package main

import (
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
)

// TestTxRefused: the port refuses part of a tx burst. On a looped-back
// net_ring the worker takes one rx burst (32) from the port's ring per
// loop but drains one burst from each of the app's 8 tx streams into it:
// an app that keeps them full (testapp flood, not reading its rx stream)
// fills the port's 1023 slots and rte_eth_tx_burst returns less than it
// was given. The refused packets are freed and counted as port_tx_refused,
// the vdev's port_tx drops and the tx streams' daemon drops, all equal;
// nothing is lost: once the tx rings are empty every packet sent was
// either taken by the port (its own opackets) or refused, and every packet
// the port took came back (received, or dropped with rx_ring_full). The
// daemon goes on forwarding afterwards.
func TestTxRefused(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: daemontest.LoopRingConfig, Args: []string{"-status-interval", "20ms"}})
	f := daemontest.StartFlood(t, d, "flooder", "vxe0", 8, time.Second, 0)
	sent := f.Report.Sent
	// The status file is rewritten every 20 ms: wait for one that has
	// every sent packet accounted for by the tx streams.
	st, ok := d.WaitStatus(t, 5*time.Second, func(s *monit.Daemon) bool {
		v := s.Vdevs[0]
		var sum uint64
		for _, x := range v.Tx {
			sum += x.Daemon.Pkts + x.Daemon.Drops
		}
		return sum == sent && v.PortRx.Pkts == s.Ports[0].Tx.Pkts
	})
	v := st.Vdevs[0]
	var streamPkts, streamDrops uint64
	for _, x := range v.Tx {
		streamPkts += x.Daemon.Pkts
		streamDrops += x.Daemon.Drops
	}
	t.Logf("sent %d (per stream %v), port took %d, refused %d, rx_ring_full %d, received %d",
		sent, f.Report.PerTx, v.PortTx.Pkts, v.Drops.PortTxRefused, v.Drops.RxRingFull, f.Report.Received)
	if !ok {
		t.Fatalf("status never accounted for the %d packets sent: tx streams %d taken + %d dropped, %+v, port %+v",
			sent, streamPkts, streamDrops, v, st.Ports[0])
	}
	if v.Drops.PortTxRefused == 0 {
		t.Fatalf("no port_tx_refused drops after %d packets on %d tx streams: %+v", sent, len(v.Tx), v)
	}
	if v.Drops.PortTxRefused != v.PortTx.Drops || v.Drops.PortTxRefused != streamDrops {
		t.Errorf("port_tx_refused %d, port_tx drops %d, tx streams' drops %d: want equal", v.Drops.PortTxRefused, v.PortTx.Drops, streamDrops)
	}
	if v.PortTx.Pkts+v.PortTx.Drops != sent || v.PortTx.Pkts != streamPkts || v.PortTx.Pkts != st.Ports[0].Tx.Pkts {
		t.Errorf("sent %d = port_tx %d + refused %d? tx streams took %d, the port's opackets %d",
			sent, v.PortTx.Pkts, v.PortTx.Drops, streamPkts, st.Ports[0].Tx.Pkts)
	}
	if got := v.Drops.RxRingFull + f.Report.Received; v.PortRx.Pkts != v.PortTx.Pkts || got != v.PortTx.Pkts {
		t.Errorf("port took %d, gave back %d: %d received + %d rx_ring_full", v.PortTx.Pkts, v.PortRx.Pkts, f.Report.Received, v.Drops.RxRingFull)
	}
	if v.Drops.AppTxRingFull != 0 || v.Drops.NoApp != 0 || v.Drops.NoMbuf != 0 || v.Drops.Malformed != 0 {
		t.Errorf("other drops: %+v", v.Drops)
	}
	// Afterwards the daemon forwards as before: the 32-frame echo burst
	// goes out and comes back, nothing more is refused.
	if n := f.Echo(t); n != 32 {
		t.Fatalf("echo after the flood: %d of 32 came back", n)
	}
	st = d.Status(t)
	if r := st.Vdevs[0].Drops.PortTxRefused; r != v.Drops.PortTxRefused {
		t.Errorf("port_tx_refused %d after the echo, %d before", r, v.Drops.PortTxRefused)
	}
	select {
	case <-d.Exited():
		t.Fatalf("mrzcpd exited: %v", d.ExitErr())
	default:
	}
}
