// Command flowcount receives everything a vdev of mrzcpd delivers and shows,
// once a second, packets/s, bytes/s and the top flows (both directions of a
// flow count as one: the daemon delivers them to the same thread).
//
//	flowcount -dev vdev0 -threads 2 -duration 5s -top 5
package main

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomarsio/marsio"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flowcount:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("flowcount", flag.ContinueOnError)
	app := fs.String("app", "flowcount", "application symbol (appsym)")
	devsym := fs.String("dev", "vxe0", "device to receive from")
	threads := fs.Int("threads", 1, "dataplane threads (rx streams)")
	burst := fs.Int("burst", 32, "receive burst size")
	top := fs.Int("top", 5, "flows to show")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	reattach := fs.Bool("reattach", true, "survive daemon restarts (re-attach, reopen the device)")
	opts := marsio.FlagOptions(fs, "marsio.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	inst, err := marsio.New(append([]marsio.Option{marsio.WithThreads(*threads), marsio.WithReattach(*reattach),
		marsio.WithReattachCallback(func(gen int, err error) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "flowcount: re-attach (generation %d): %v\n", gen, err)
				return
			}
			fmt.Fprintf(os.Stderr, "flowcount: re-attached to a restarted daemon (generation %d)\n", gen)
		})}, opts()...)...)
	if err != nil {
		return err
	}
	if err := inst.Init(*app); err != nil {
		return err
	}
	defer inst.Close()
	dev, err := inst.OpenDevice(*devsym, *threads, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "flowcount: %s on %s (%s), %d threads\n", *app, dev.Name(), dev.MAC(), *threads)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	reports := make(chan table, *threads)
	errs := make(chan error, *threads)
	var wg sync.WaitGroup
	for k := 0; k < *threads; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := count(ctx, inst, dev, *burst, reports); err != nil {
				errs <- err
			}
		}()
	}
	go func() { wg.Wait(); close(reports) }()

	total := table{}
	second := table{}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var totPkts, totBytes uint64
	for done := false; !done; {
		select {
		case t, ok := <-reports:
			if !ok {
				done = true
				break
			}
			second.merge(t)
		case <-tick.C:
			p, b := second.sum()
			totPkts += p
			totBytes += b
			total.merge(second)
			show(out, fmt.Sprintf("[%5.1fs] %10d pkt/s %12d B/s %6d flows", time.Since(start).Seconds(), p, b, len(second)), second, *top)
			second = table{}
		}
	}
	p, b := second.sum()
	totPkts += p
	totBytes += b
	total.merge(second)
	fmt.Fprintf(out, "total: %d packets, %d bytes, %d flows in %v\n", totPkts, totBytes, len(total), time.Since(start).Round(time.Millisecond))
	show(out, "", total, *top)
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

// flowKey is a flow with its two endpoints in canonical order.
type flowKey struct {
	a, b   netip.AddrPort
	proto  uint8
	nonIP  bool
	ethTyp uint16
}

type flowStat struct{ pkts, bytes uint64 }

type table map[flowKey]*flowStat

func (t table) merge(o table) {
	for k, v := range o {
		s := t[k]
		if s == nil {
			s = &flowStat{}
			t[k] = s
		}
		s.pkts += v.pkts
		s.bytes += v.bytes
	}
}

func (t table) sum() (p, b uint64) {
	for _, v := range t {
		p += v.pkts
		b += v.bytes
	}
	return
}

// count is one dataplane thread: it counts into a table and hands it to the
// reporter about every 200 ms.
func count(ctx context.Context, inst *marsio.Instance, dev *marsio.Device, burst int, reports chan<- table) error {
	t, err := inst.ThreadInit()
	if err != nil {
		return err
	}
	defer t.Release()
	bufs := make([]marsio.Buffer, burst)
	tab := table{}
	last := time.Now()
	defer func() { reports <- tab }()
	for ctx.Err() == nil {
		n, err := t.RecvBurst(dev, bufs)
		if err != nil {
			if err := restarted(err, inst, &dev); err != nil {
				return err
			}
			continue
		}
		for _, b := range bufs[:n] {
			k := parse(b.Data())
			s := tab[k]
			if s == nil {
				s = &flowStat{}
				tab[k] = s
			}
			s.pkts++
			s.bytes += uint64(b.Len())
		}
		if n > 0 {
			if err := t.Free(bufs[:n]...); err != nil {
				if err := restarted(err, inst, &dev); err != nil {
					return err
				}
			}
		} else if err := t.PollWait(ctx, 200*time.Millisecond, dev); err != nil &&
			!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			if err := restarted(err, inst, &dev); err != nil {
				return err
			}
		}
		if time.Since(last) > 200*time.Millisecond {
			reports <- tab
			tab, last = table{}, time.Now()
		}
	}
	return nil
}

// restarted handles a dataplane error after a daemon restart (WithReattach):
// while the daemon is down (ErrDaemonGone) it waits (buffers received before
// are gone with the daemon: drop them); once the instance has re-attached,
// the old *Device handle returns ErrClosed and it looks the reopened device
// up by name. Other errors are returned.
func restarted(err error, inst *marsio.Instance, dev **marsio.Device) error {
	switch {
	case errors.Is(err, marsio.ErrDaemonGone):
	case errors.Is(err, marsio.ErrClosed):
		if nd, ok := inst.Device((*dev).Name()); ok {
			*dev = nd
		}
	default:
		return err
	}
	time.Sleep(time.Millisecond)
	return nil
}

// parse extracts the outer 5-tuple (through VLAN/QinQ tags).
func parse(p []byte) flowKey {
	if len(p) < 14 {
		return flowKey{nonIP: true}
	}
	et := binary.BigEndian.Uint16(p[12:])
	off := 14
	for (et == 0x8100 || et == 0x88a8 || et == 0x9100) && len(p) >= off+4 {
		et = binary.BigEndian.Uint16(p[off+2:])
		off += 4
	}
	var a, b netip.Addr
	var proto uint8
	l4 := -1
	switch {
	case et == 0x0800 && len(p) >= off+20:
		ihl := int(p[off]&0xf) * 4
		a = netip.AddrFrom4([4]byte(p[off+12 : off+16]))
		b = netip.AddrFrom4([4]byte(p[off+16 : off+20]))
		proto = p[off+9]
		if binary.BigEndian.Uint16(p[off+6:])&0x3fff == 0 { // not a fragment
			l4 = off + ihl
		}
	case et == 0x86dd && len(p) >= off+40:
		a = netip.AddrFrom16([16]byte(p[off+8 : off+24]))
		b = netip.AddrFrom16([16]byte(p[off+24 : off+40]))
		proto = p[off+6]
		l4 = off + 40
	default:
		return flowKey{nonIP: true, ethTyp: et}
	}
	var pa, pb uint16
	if (proto == 6 || proto == 17 || proto == 132) && l4 >= 0 && len(p) >= l4+4 {
		pa = binary.BigEndian.Uint16(p[l4:])
		pb = binary.BigEndian.Uint16(p[l4+2:])
	}
	x, y := netip.AddrPortFrom(a, pa), netip.AddrPortFrom(b, pb)
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return flowKey{a: x, b: y, proto: proto}
}

func (k flowKey) String() string {
	if k.nonIP {
		return fmt.Sprintf("non-IP ethertype %#04x", k.ethTyp)
	}
	name := map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 58: "icmp6", 132: "sctp"}[k.proto]
	if name == "" {
		name = fmt.Sprintf("proto %d", k.proto)
	}
	return fmt.Sprintf("%-5s %s <-> %s", name, k.a, k.b)
}

// show prints header (if any) and the top flows of t.
func show(out io.Writer, header string, t table, top int) {
	type row struct {
		k flowKey
		s *flowStat
	}
	rows := make([]row, 0, len(t))
	for k, s := range t {
		rows = append(rows, row{k, s})
	}
	slices.SortFunc(rows, func(x, y row) int {
		if c := cmp.Compare(y.s.pkts, x.s.pkts); c != 0 {
			return c
		}
		return strings.Compare(x.k.String(), y.k.String())
	})
	if header != "" {
		fmt.Fprintln(out, header)
	}
	for _, r := range rows[:min(top, len(rows))] {
		fmt.Fprintf(out, "          %10d pkts %12d B  %s\n", r.s.pkts, r.s.bytes, r.k)
	}
}
