// Package marsio is the application side of gomarsio: zero-copy packet I/O
// for Go programs behind the mrzcpd service daemon, the Go counterpart of
// MARSIO's libmarsio (marsio_create, marsio_init, marsio_thread_init,
// marsio_open_device, marsio_recv_burst, marsio_send_burst,
// marsio_poll_wait, …).
//
// # Life cycle
//
//	inst, err := marsio.New(marsio.WithThreads(2), marsio.WithCPUMask(0x6))
//	err = inst.Init("myapp")                  // find, attach, register
//	dev, err := inst.OpenDevice("vdev0", 2, 2) // 2 rx + 2 tx streams
//	// on each dataplane goroutine:
//	t, err := inst.ThreadInit()                // locks the OS thread, binds CPU, thread id
//	n, err := t.RecvBurst(dev, bufs)
//	_, err = t.SendBurst(dev, bufs[:n])
//	err = t.PollWait(ctx, time.Second, dev)    // sleep when idle
//	// when done:
//	inst.Close()
//
// Init finds the daemon through its status file (mrmonit.daemon in the
// status dir, /var/run/mrzcpd by default), reads the global config it names
// (general.g_cfgfile) for [eal] and [service] and then mrapp.<appsym>.conf
// beside it, which overrides key by key. It attaches to the daemon's
// hugepage memory — in pure Go by default (package shm), through DPDK's EAL
// with the `eal` build tag — registers with a liveness socketpair, and
// starts a goroutine that rewrites mrmonit.app.<appsym> every second.
//
// # Threads and streams
//
// Dataplane thread k (ThreadInit hands out ids in call order) owns rx
// stream k and tx stream k of every device: single consumer, single
// producer, no locks. The daemon spreads received packets over the rx
// streams by the symmetric flow hash (fastpath/flowhash), so both directions
// of a flow reach the same thread. SendBurstFlow instead picks the tx stream
// by hash (open the device with SharedTx). The library hashes with the same
// code and the same config as the daemon: Buffer.Hash is the value the
// daemon distributed a packet by, Thread.FlowHash and Thread.FlowHashBurst
// compute it from the bytes (equal for every packet the daemon delivers).
//
// # Zero copy and lifetimes
//
// A Buffer is the address of an rte_mbuf in shared memory; []Buffer is
// DPDK's struct rte_mbuf *[] so bursts move without copying. RecvBurst gives
// the caller ownership; SendBurst and Free take it back. Data returns a
// []byte aliasing the packet: valid until the buffer is sent or freed, and
// never after Close. Nothing on the fast path allocates on the Go heap.
// Every buffer the application holds is tagged with its owner in the mbuf
// (the ABI's owner dynfield): set on allocation, cleared on free, so the
// daemon can take back every buffer of an application that dies, and Free
// refuses buffers that are not this application's (ErrBadBuffer).
//
// # Waiting
//
// PollWait applies the seed's throttle ([service] poll_wait_*): after
// poll_wait_throttle_usleep_threshold empty receives it sleeps
// poll_wait_throttle_usleep_period µs per call, after
// poll_wait_throttle_notify_threshold it sets the streams' sleeping flags,
// fences, re-checks the rings and parks the goroutine in Go's netpoller until
// the daemon writes a stream's eventfd, the timeout passes or the context
// ends. PollWaitEpoll blocks the OS thread in epoll_wait instead, as the C
// library does.
//
// # Addresses, ARP and the representor
//
// A [vdev:] section of the daemon's config may give the vdev addresses
// (addrs=10.0.0.1/24,fd00::1/64) and a kernel representor (representor=1,
// representor_name=, representor_addrs=, default addrs). Opening such a
// device reserves one more tx stream at the daemon — the library's control
// stream, the vdev instance's last tx stream in the daemon's status file —
// and, with addresses, gives it a neighbour table (internal/neigh, the
// seed's [service] neigh_* defaults: 4096 entries, no timeout, one request
// per next hop per second, 3 gratuitous ARPs on open) filled from
// mrneigh.table beside the global config (a bad line fails Init naming
// file and line) and from ARP/ND seen in RecvBurst, which answers requests
// for the vdev's addresses on the control stream and hides ARP/ND from the
// application. Without addresses RecvBurst pays one predictable branch.
// Thread.SendIP fills the Ethernet header from the table (unresolved: the
// packet is dropped and a rate-limited request goes out). With
// representor=1 a TAP interface (internal/tap) with the vdev's MAC, MTU and
// addresses is created in the calling thread's network namespace:
// Thread.ToKernel hands it a received packet, and what the kernel sends
// out of it leaves through the vdev on the control stream. Device.Close
// removes it; a crashed application's TAP disappears with its process.
//
// # Errors
//
// Errors wrap sentinels testable with errors.Is: ErrNoDaemon (daemon not
// running, stale status file), ErrConfig (bad status or config file; the
// message names file, section and key), ErrDaemonGone (the daemon exited:
// every call returns it, blocked PollWaits wake, WithOnDaemonGone's callback
// runs), ErrClosed, ErrBusy (appsym already live, device already open),
// ErrDenied, ErrNoDevice, ErrInvalid, ErrThread, ErrNoBuffers, ErrBadBuffer,
// ErrVersion, ErrTimeout. Unlike the C library, which exits the process on
// most errors, calls return errors; WithExitOnError(true) restores the exit.
//
// # Paths
//
// Every path can be changed by an Option, an environment variable or a flag
// (FlagOptions): the status dir (GOMARSIO_STATUS_DIR, else MRZCPD_RUN_DIR),
// the daemon's status file (GOMARSIO_DAEMON_STATUS), the daemon's DPDK
// runtime dir and file prefix (GOMARSIO_RUNTIME_DIR, GOMARSIO_FILE_PREFIX;
// by default taken from the daemon's status file) and hugepage dir
// (GOMARSIO_HUGEPAGE_DIR).
package marsio
