// Package metrics exports mrzcpd's shared memory as Prometheus metrics
// (github.com/prometheus/client_golang): a Collector that reads the ABI of
// gen/abi/mrzcpd_abi.h at scrape time, and a small /metrics HTTP server.
//
// The collector works on the address of struct mr_root in the caller's
// mapping, so the same code serves the daemon (the primary, which made the
// memory: tools/mrzcpd, [service] metrics_listen, default 127.0.0.1:9465)
// and applications attached with package shm (package marsio:
// Instance.MetricsCollector, MetricsHandler, ServeMetrics). Every counter
// is one atomic load of a field its writer updates on the data path anyway;
// the data path does no work for metrics. A scrape holds Source.Lock: the
// daemon's control lock, under which it frees vdev instances, rings and app
// zones, or an application's, under which it closes devices and detaches,
// so a scrape never follows a pointer into memory that is gone. Addresses
// are validated with Source.Contains where the caller has it.
//
// # Families
//
// Counters (one table row each in table.go; a counter the ABI gains, such
// as a new drop reason, is one more row):
//
//	gomarsio_port_{rx,tx}_{packets,bytes}_total{port,vdev}
//	gomarsio_vdev_dropped_packets_total{port,vdev,reason}   no_app, port_tx_refused, rx_ring_full, no_mbuf, filtered, app_tx_ring_full, malformed
//	gomarsio_vdev_dropped_bytes_total{port,vdev,reason}     no_app
//	gomarsio_rx_stream_{delivered,received}_{packets,bytes}_total{port,vdev,app,stream}
//	gomarsio_rx_stream_{wakeups,sleeps}_total{port,vdev,app,stream}
//	gomarsio_rx_stream_dropped_packets_total{port,vdev,app,stream,reason}  ring_full
//	gomarsio_tx_stream_{sent,transmitted}_{packets,bytes}_total{port,vdev,app,stream}
//	gomarsio_tx_stream_dropped_packets_total{port,vdev,app,stream,reason}  ring_full, port_refused
//
// "delivered" is what the daemon enqueued to an rx stream, "received" what
// the application dequeued; "sent" is what the application enqueued to a tx
// stream, "transmitted" what the port accepted. port is the ethdev port id,
// vdev the devsym, app the appsym of the application holding the vdev open,
// stream the stream index. Stream series exist while their vdev instance
// is open; its counters start at zero at every open (Prometheus treats the
// drop as a counter reset). port_tx_refused per vdev is the sum of the tx
// streams' port_refused over the daemon's lifetime.
//
// Gauges: gomarsio_daemon_info{pid,abi_version,dpdk_version},
// gomarsio_daemon_start_time_seconds, gomarsio_daemon_heartbeat_age_seconds,
// gomarsio_pool_{size,available,in_use}_mbufs{pool},
// gomarsio_pool_data_room_bytes{pool}, gomarsio_vdev_open{port,vdev},
// gomarsio_vdev_owner_info{port,vdev,app},
// gomarsio_vdev_streams{port,vdev,direction},
// gomarsio_stream_ring_capacity_mbufs{port,vdev},
// gomarsio_{rx,tx}_stream_ring_mbufs{port,vdev,app,stream}, gomarsio_apps,
// gomarsio_app_info{app,slot,pid}, gomarsio_app_threads{app},
// gomarsio_app_held_mbufs{app,pool,where}, gomarsio_metrics_skipped_objects.
//
// # Approximations
//
// gomarsio_pool_available_mbufs is rte_mempool_avail_count: the pool's ring
// plus the daemon's per-lcore caches. gomarsio_app_held_mbufs is what an
// application holds where the collector can see it cheaply: its rx rings
// (delivered, not yet received), its tx rings (sent, not yet taken by the
// daemon; counted in the vdev's pool although an application may send
// mbufs of another pool) and its per-thread caches (free mbufs parked in
// its shared-memory caches). Mbufs in the application's hands (received
// and kept, allocated and not sent) are not counted: finding them means
// walking every mbuf's owner tag, too costly for a scrape; the pool's
// in_use minus the sum of held over applications bounds them from above
// (in_use also counts mbufs inside the daemon and the NIC).
//
// Every value is a snapshot taken without stopping the writers: a scrape is
// not a consistent cut across counters.
package metrics
