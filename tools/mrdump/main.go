// Command mrdump captures the packets mrzcpd delivers on a virtual device
// to a pcap or pcapng file, as a gomarsio application.
//
//	mrdump -dev vxe0 -w out.pcap [-c N] [-duration D] [-f 'udp and port 53'] [-forward]
//
// Run mrdump -h for everything. Design: mrdump opens the vdev like any
// application (package marsio, pure-Go attach), so it sees exactly what an
// application on that vdev would see, after the daemon's distribution. The
// daemon gives a vdev to one application at a time: while mrdump holds it,
// no other application can open it. -forward sends every packet back out
// of the vdev's port after it is recorded (what a forwarding app would
// do), so traffic keeps flowing while you look. To watch a port another
// application already holds, use DPDK's dpdk-dumpcap against the daemon
// (mrzcpd runs rte_pdump) instead; that needs an EAL secondary and sees
// the port, not the vdev's streams.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/gomarsio/marsio"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "mrdump:", err)
		os.Exit(1)
	}
}

const usage = `mrdump captures what mrzcpd delivers on a virtual device (vdev) into a
pcap or pcapng file, as an application: it opens the vdev through the
daemon like any gomarsio program, so it needs a running mrzcpd and the
vdev must be free (the daemon gives each vdev to one application at a time).

Usage:
  mrdump -dev VDEV -w FILE [flags]

Examples:
  mrdump -dev vxe0 -w cap.pcap -c 1000            first 1000 packets, then stop
  mrdump -dev vxe0 -w cap.pcapng -duration 10s    pcapng (chosen by the name, or -format)
  mrdump -dev vxe0 -w - -f 'tcp and port 443' | tcpdump -r - -n
  mrdump -dev vxe0 -w cap.pcap -forward           record, and send everything back out

Stops at -c packets written, after -duration, or on Ctrl-C, and prints a
summary on stderr. Packets are recorded whole up to -snaplen bytes.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mrdump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	devsym := fs.String("dev", "vxe0", "virtual device to capture (`vdev` symbol from the daemon's config)")
	out := fs.String("w", "", "write packets to `FILE` (- for standard output)")
	format := fs.String("format", "", "`pcap` or pcapng (default: pcapng if the file name ends in .pcapng, else pcap)")
	count := fs.Int64("c", 0, "stop after `N` packets written (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C or -c)")
	expr := fs.String("f", "", "capture only packets matching `EXPR` (see below)")
	streams := fs.Int("streams", 1, "rx streams to open, one capture thread each")
	forward := fs.Bool("forward", false, "send every received packet back out of the vdev after recording it")
	snaplen := fs.Int("snaplen", 65535, "record at most `N` bytes of each packet")
	app := fs.String("app", "mrdump", "application symbol (appsym) to register as")
	burst := fs.Int("burst", 32, "receive burst size")
	quiet := fs.Bool("q", false, "no summary on stderr")
	opts := marsio.FlagOptions(fs, "marsio.")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, filterHelp)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// A trailing expression, as tcpdump takes it.
		if *expr != "" {
			return fmt.Errorf("filter given twice (-f and %q)", strings.Join(fs.Args(), " "))
		}
		*expr = strings.Join(fs.Args(), " ")
	}
	if *out == "" {
		fs.Usage()
		return errors.New("-w FILE is required (- for standard output)")
	}
	if *streams < 1 || *snaplen < 1 || *burst < 1 || *count < 0 {
		return errors.New("-streams, -snaplen and -burst must be positive, -c not negative")
	}
	flt, err := parseFilter(*expr)
	if err != nil {
		return err
	}
	ng := *format == "pcapng" || (*format == "" && strings.HasSuffix(*out, ".pcapng"))
	if *format != "" && *format != "pcap" && *format != "pcapng" {
		return fmt.Errorf("-format %q: want pcap or pcapng", *format)
	}

	var w io.Writer = stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	rec, err := newRecorder(w, ng, *snaplen)
	if err != nil {
		return err
	}

	inst, err := marsio.New(append([]marsio.Option{marsio.WithThreads(*streams)}, opts()...)...)
	if err != nil {
		return err
	}
	if err := inst.Init(*app); err != nil {
		return err
	}
	defer inst.Close()
	ntx := 0
	if *forward {
		ntx = *streams
	}
	dev, err := inst.OpenDevice(*devsym, *streams, ntx)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &capture{rec: rec, flt: flt, limit: *count, forward: *forward, done: cancel}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *streams)
	for k := 0; k < *streams; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.loop(ctx, inst, dev, *burst); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	err = errors.Join(<-errs, rec.flush())
	if !*quiet {
		fmt.Fprintf(stderr, "mrdump: %d packets written to %s (%d received, %d filtered out) in %v\n",
			c.written.Load(), *out, c.received.Load(), c.filtered.Load(), time.Since(start).Round(time.Millisecond))
	}
	return err
}

// capture is the state the capture threads share.
type capture struct {
	rec      *recorder
	flt      filter
	limit    int64
	forward  bool
	done     func()
	received atomic.Int64
	filtered atomic.Int64
	written  atomic.Int64
}

// loop is one capture thread: receive a burst, record the matching packets
// (copied into the file writer), then send them on (-forward) or free them.
func (c *capture) loop(ctx context.Context, inst *marsio.Instance, dev *marsio.Device, burst int) error {
	t, err := inst.ThreadInit()
	if err != nil {
		return err
	}
	bufs := make([]marsio.Buffer, burst)
	dec := newDecoder()
	var p pkt
	for ctx.Err() == nil {
		n, err := t.RecvBurst(dev, bufs)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := t.PollWait(ctx, 100*time.Millisecond, dev); err != nil && ctx.Err() == nil &&
				!errors.Is(err, marsio.ErrTimeout) {
				return err
			}
			continue
		}
		c.received.Add(int64(n))
		for _, b := range bufs[:n] {
			data := b.Data()
			if b.Segments() > 1 {
				data = linearize(b)
			}
			if c.flt != nil {
				dec.decode(data, &p)
				if !c.flt(&p) {
					c.filtered.Add(1)
					continue
				}
			}
			ok, full, err := c.rec.write(data, b.Len(), c.limit, &c.written)
			if err != nil {
				t.Free(bufs[:n]...)
				return err
			}
			if full {
				c.done() // -c reached: every thread stops
			}
			if !ok || full {
				break
			}
		}
		if c.forward {
			if _, err := t.SendBurst(dev, bufs[:n]); err != nil {
				return err
			}
		} else if err := t.Free(bufs[:n]...); err != nil {
			return err
		}
	}
	return nil
}

// linearize copies a multi-segment packet into one slice.
func linearize(b marsio.Buffer) []byte {
	out := make([]byte, 0, b.Len())
	for s := b; !s.IsZero(); s = s.Next() {
		out = append(out, s.Data()...)
	}
	return out
}

// recorder serialises the capture threads' writes into a pcap or pcapng
// writer (gopacket/pcapgo).
type recorder struct {
	mu      sync.Mutex
	snaplen int
	pcap    *pcapgo.Writer
	ng      *pcapgo.NgWriter
}

func newRecorder(w io.Writer, ng bool, snaplen int) (*recorder, error) {
	r := &recorder{snaplen: snaplen}
	if ng {
		intf := pcapgo.DefaultNgInterface
		intf.LinkType = layers.LinkTypeEthernet
		intf.SnapLength = uint32(snaplen)
		intf.Name = "mrdump"
		nw, err := pcapgo.NewNgWriterInterface(w, intf, pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Application: "gomarsio mrdump"}})
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", err)
		}
		r.ng = nw
		return r, nil
	}
	r.pcap = pcapgo.NewWriterNanos(w)
	if err := r.pcap.WriteFileHeader(uint32(snaplen), layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	return r, nil
}

// write records one packet unless limit (>0) packets are already written
// (ok false); full reports that the limit is reached now.
func (r *recorder) write(data []byte, origLen int, limit int64, written *atomic.Int64) (ok, full bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if limit > 0 && written.Load() >= limit {
		return false, true, nil
	}
	if len(data) > r.snaplen {
		data = data[:r.snaplen]
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(data), Length: origLen}
	if r.ng != nil {
		err = r.ng.WritePacket(ci, data)
	} else {
		err = r.pcap.WritePacket(ci, data)
	}
	if err != nil {
		return false, false, fmt.Errorf("write: %w", err)
	}
	n := written.Add(1)
	return true, limit > 0 && n >= limit, nil
}

func (r *recorder) flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ng != nil {
		return r.ng.Flush()
	}
	return nil
}
