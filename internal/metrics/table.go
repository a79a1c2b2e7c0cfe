package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomarsio/marsio/zz_generated/abi"
)

// scope says which ABI struct a counter lives in, and so which labels its
// series carry.
type scope int

const (
	scopeVdev     scope = iota // struct mr_vdev_desc (root, daemon lifetime): port, vdev
	scopeRxStream              // struct mr_rx_stream (vdev instance): port, vdev, app, stream
	scopeTxStream              // struct mr_tx_stream (vdev instance): port, vdev, app, stream
)

// scopeLabels are the label names of each scope, in the order Collect
// passes their values.
var scopeLabels = [...][]string{
	scopeVdev:     {"port", "vdev"},
	scopeRxStream: {"port", "vdev", "app", "stream"},
	scopeTxStream: {"port", "vdev", "app", "stream"},
}

// counterRow is one uint64 counter of the shared-memory ABI, read with an
// atomic load at scrape time. Rows with the same name form one metric
// family; a row with a reason adds the label reason="<reason>" (drop
// counters: one family per scope, one row per reason).
type counterRow struct {
	scope  scope
	name   string
	reason string
	off    uintptr // byte offset of the uint64 inside the scope's struct
	help   string
}

// Offsets of the counter blocks' fields, for the table below.
const (
	pkts   = abi.OffsetofCountersPkts
	bytes  = abi.OffsetofCountersBytes
	drops  = abi.OffsetofCountersDrops
	events = abi.OffsetofCountersEvents
)

// counterRows is every counter the collector exports. Adding a counter that
// the ABI gains (a new drop reason, say) is one row here: its scope, metric
// name, reason (drop families only) and where it lives.
var counterRows = []counterRow{
	// Per vdev (struct mr_vdev_desc), W: daemon, daemon lifetime.
	{scopeVdev, "gomarsio_port_rx_packets_total", "", abi.OffsetofVdevDescPortRx + pkts, "Packets received from the port of the vdev."},
	{scopeVdev, "gomarsio_port_rx_bytes_total", "", abi.OffsetofVdevDescPortRx + bytes, "Bytes received from the port of the vdev."},
	{scopeVdev, "gomarsio_port_tx_packets_total", "", abi.OffsetofVdevDescPortTx + pkts, "Packets the port accepted for transmission."},
	{scopeVdev, "gomarsio_port_tx_bytes_total", "", abi.OffsetofVdevDescPortTx + bytes, "Bytes the port accepted for transmission."},
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "no_app", abi.OffsetofVdevDescNoApp + drops, "Packets the daemon dropped per vdev, by reason (no_app: received while no application had the vdev open; port_tx_refused: refused by the port's tx burst, the sum over the tx streams; rx_ring_full: an rx stream ring was full; no_mbuf: the port's rx_nombuf, updated every status period; filtered, malformed: reserved, 0; app_tx_ring_full: the app found a tx ring full, folded in when the vdev closes)."},
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "port_tx_refused", abi.OffsetofVdevDescPortTx + drops, ""},
	// struct mr_drops (ABI v2), W: daemon: the other reasons, cumulative
	// per vdev (no_app and port_tx_refused above are the same counts).
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "rx_ring_full", abi.OffsetofVdevDescDrops + abi.OffsetofDropsRxRingFull, ""},
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "no_mbuf", abi.OffsetofVdevDescDrops + abi.OffsetofDropsNoMbuf, ""},
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "filtered", abi.OffsetofVdevDescDrops + abi.OffsetofDropsFiltered, ""},
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "app_tx_ring_full", abi.OffsetofVdevDescDrops + abi.OffsetofDropsAppTxRingFull, ""},
	{scopeVdev, "gomarsio_vdev_dropped_packets_total", "malformed", abi.OffsetofVdevDescDrops + abi.OffsetofDropsMalformed, ""},
	{scopeVdev, "gomarsio_vdev_dropped_bytes_total", "no_app", abi.OffsetofVdevDescNoApp + bytes, "Bytes the daemon dropped per vdev, by reason (only no_app counts bytes)."},

	// Per rx stream (struct mr_rx_stream of an open vdev instance).
	{scopeRxStream, "gomarsio_rx_stream_delivered_packets_total", "", abi.OffsetofRxStreamDaemon + pkts, "Packets the daemon enqueued to the rx stream's ring."},
	{scopeRxStream, "gomarsio_rx_stream_delivered_bytes_total", "", abi.OffsetofRxStreamDaemon + bytes, "Bytes the daemon enqueued to the rx stream's ring."},
	{scopeRxStream, "gomarsio_rx_stream_received_packets_total", "", abi.OffsetofRxStreamApp + pkts, "Packets the application dequeued from the rx stream's ring."},
	{scopeRxStream, "gomarsio_rx_stream_received_bytes_total", "", abi.OffsetofRxStreamApp + bytes, "Bytes the application dequeued from the rx stream's ring."},
	{scopeRxStream, "gomarsio_rx_stream_wakeups_total", "", abi.OffsetofRxStreamDaemon + events, "Wake-ups (eventfd writes) the daemon sent to the sleeping application thread."},
	{scopeRxStream, "gomarsio_rx_stream_sleeps_total", "", abi.OffsetofRxStreamApp + events, "Times the application thread went to sleep on the rx stream."},
	{scopeRxStream, "gomarsio_rx_stream_dropped_packets_total", "ring_full", abi.OffsetofRxStreamDaemon + drops, "Packets dropped on the way to the application, by reason (ring_full: the rx ring was full)."},

	// Per tx stream (struct mr_tx_stream of an open vdev instance).
	{scopeTxStream, "gomarsio_tx_stream_sent_packets_total", "", abi.OffsetofTxStreamApp + pkts, "Packets the application enqueued to the tx stream's ring."},
	{scopeTxStream, "gomarsio_tx_stream_sent_bytes_total", "", abi.OffsetofTxStreamApp + bytes, "Bytes the application enqueued to the tx stream's ring."},
	{scopeTxStream, "gomarsio_tx_stream_transmitted_packets_total", "", abi.OffsetofTxStreamDaemon + pkts, "Packets of the tx stream the port accepted."},
	{scopeTxStream, "gomarsio_tx_stream_transmitted_bytes_total", "", abi.OffsetofTxStreamDaemon + bytes, "Bytes of the tx stream the port accepted."},
	{scopeTxStream, "gomarsio_tx_stream_dropped_packets_total", "ring_full", abi.OffsetofTxStreamApp + drops, "Packets of the tx stream dropped, by reason (ring_full: the application found the tx ring full and freed them; port_refused: the port's tx burst refused them)."},
	{scopeTxStream, "gomarsio_tx_stream_dropped_packets_total", "port_refused", abi.OffsetofTxStreamDaemon + drops, ""},
}

// family is one metric family of counterRows.
type family struct {
	desc *prometheus.Desc
	rows []int // indices into counterRows
}

// counterFamilies groups counterRows by name; per scope in table order.
type counterFamilies struct {
	byScope [len(scopeLabels)][]*family
	all     []*family
}

// buildFamilies checks the table (one scope and one help text per family,
// reasons only in families that have them, offsets inside their struct) and
// makes the descriptors.
func buildFamilies(rows []counterRow) (*counterFamilies, error) {
	size := [...]uintptr{scopeVdev: abi.SizeofVdevDesc, scopeRxStream: abi.SizeofRxStream, scopeTxStream: abi.SizeofTxStream}
	fs := &counterFamilies{}
	byName := map[string]*family{}
	first := map[string]counterRow{}
	for i, r := range rows {
		if r.off%8 != 0 || r.off+8 > size[r.scope] {
			return nil, fmt.Errorf("metrics: row %s: offset %d outside its struct", r.name, r.off)
		}
		f := byName[r.name]
		if f == nil {
			if r.help == "" {
				return nil, fmt.Errorf("metrics: row %s: the first row of a family needs a help text", r.name)
			}
			labels := scopeLabels[r.scope]
			if r.reason != "" {
				labels = append(append([]string(nil), labels...), "reason")
			}
			f = &family{desc: prometheus.NewDesc(r.name, r.help, labels, nil)}
			byName[r.name] = f
			first[r.name] = r
			fs.byScope[r.scope] = append(fs.byScope[r.scope], f)
			fs.all = append(fs.all, f)
		} else if p := first[r.name]; p.scope != r.scope || (p.reason == "") != (r.reason == "") {
			return nil, fmt.Errorf("metrics: row %s: scope or reason label differs from the family's first row", r.name)
		} else if r.reason == "" {
			return nil, fmt.Errorf("metrics: row %s: listed twice", r.name)
		}
		for _, j := range f.rows {
			if rows[j].reason == r.reason {
				return nil, fmt.Errorf("metrics: row %s: reason %q listed twice", r.name, r.reason)
			}
		}
		f.rows = append(f.rows, i)
	}
	return fs, nil
}
