// Command l2fwd forwards every packet between two vdevs of mrzcpd, swapping
// the Ethernet source and destination addresses, one dataplane thread per
// stream pair (the shape of DPDK's l2fwd on top of package marsio).
//
//	l2fwd -app l2fwd -a vdev0 -b vdev1 -threads 2 [-duration 10s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomarsio/marsio"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "l2fwd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("l2fwd", flag.ContinueOnError)
	app := fs.String("app", "l2fwd", "application symbol (appsym)")
	devA := fs.String("a", "vdev0", "first device")
	devB := fs.String("b", "vdev1", "second device")
	threads := fs.Int("threads", 1, "dataplane threads (streams per device)")
	burst := fs.Int("burst", 32, "burst size")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	reattach := fs.Bool("reattach", true, "survive daemon restarts (re-attach, reopen the devices)")
	opts := marsio.FlagOptions(fs, "marsio.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	inst, err := marsio.New(append([]marsio.Option{marsio.WithThreads(*threads), marsio.WithReattach(*reattach),
		marsio.WithReattachCallback(reattached)}, opts()...)...)
	if err != nil {
		return err
	}
	if err := inst.Init(*app); err != nil {
		return err
	}
	defer inst.Close()
	a, err := inst.OpenDevice(*devA, *threads, *threads)
	if err != nil {
		return err
	}
	b, err := inst.OpenDevice(*devB, *threads, *threads)
	if err != nil {
		return err
	}
	fmt.Printf("l2fwd: %s (%s) <-> %s (%s), %d threads\n", a.Name(), a.MAC(), b.Name(), b.MAC(), *threads)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	var fwd atomic.Uint64
	var wg sync.WaitGroup
	errs := make(chan error, *threads)
	for k := 0; k < *threads; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := forward(ctx, inst, a, b, *burst, &fwd); err != nil {
				errs <- err
			}
		}()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last uint64
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			n := fwd.Load()
			fmt.Printf("forwarded %d pkt/s (total %d)\n", n-last, n)
			last = n
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Printf("l2fwd: forwarded %d packets\n", fwd.Load())
	return nil
}

// reattached reports the re-attach attempts after a daemon restart.
func reattached(gen int, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "l2fwd: re-attach (generation %d): %v\n", gen, err)
		return
	}
	fmt.Printf("l2fwd: re-attached to a restarted daemon (generation %d)\n", gen)
}

// forward is one dataplane thread: a → b and b → a with MACs swapped.
func forward(ctx context.Context, inst *marsio.Instance, a, b *marsio.Device, burst int, fwd *atomic.Uint64) error {
	t, err := inst.ThreadInit()
	if err != nil {
		return err
	}
	defer t.Release()
	bufs := make([]marsio.Buffer, burst)
	for ctx.Err() == nil {
		total := 0
		var ferr error
		for _, dir := range [2][2]*marsio.Device{{a, b}, {b, a}} {
			n, err := t.RecvBurst(dir[0], bufs)
			if err != nil {
				ferr = err
				break
			}
			for _, buf := range bufs[:n] {
				swapMAC(buf.Data())
			}
			if n > 0 {
				if _, err := t.SendBurst(dir[1], bufs[:n]); err != nil {
					ferr = err // after ErrDaemonGone the buffers are gone with the daemon: drop them
					break
				}
			}
			total += n
		}
		fwd.Add(uint64(total))
		if ferr == nil && total == 0 {
			ferr = t.PollWait(ctx, 100*time.Millisecond, a, b)
			if errors.Is(ferr, context.Canceled) || errors.Is(ferr, context.DeadlineExceeded) {
				ferr = nil
			}
		}
		if ferr != nil {
			if err := restarted(ferr, inst, &a, &b); err != nil {
				return err
			}
		}
	}
	return nil
}

// restarted handles a dataplane error after a daemon restart (WithReattach):
// while the daemon is down (ErrDaemonGone) it waits; once the instance has
// re-attached, the old *Device handles return ErrClosed and it looks the
// reopened devices up by name. Other errors are returned.
func restarted(err error, inst *marsio.Instance, devs ...**marsio.Device) error {
	switch {
	case errors.Is(err, marsio.ErrDaemonGone):
	case errors.Is(err, marsio.ErrClosed):
		for _, d := range devs {
			if nd, ok := inst.Device((*d).Name()); ok {
				*d = nd
			}
		}
	default:
		return err
	}
	time.Sleep(time.Millisecond)
	return nil
}

// swapMAC swaps the Ethernet destination and source addresses.
func swapMAC(p []byte) {
	if len(p) < 12 {
		return
	}
	var tmp [6]byte
	copy(tmp[:], p[0:6])
	copy(p[0:6], p[6:12])
	copy(p[6:12], tmp[:])
}
