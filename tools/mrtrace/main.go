// Command mrtrace switches mrzcpd's data-path trace on and off per vdev
// and shows the recorded events, one line per event (or JSON lines).
//
//	mrtrace [-file-prefix P] on -vdev vxe0 [-filter 'proto=udp dport=53'] [-sample N]
//	mrtrace [-file-prefix P] off -vdev vxe0
//	mrtrace [-file-prefix P] show [-duration 10s] [-json out.jsonl]
//
// It attaches to the daemon's hugepage memory read/write (package shm) and
// uses the memzone mrtrace (internal/trace). Events are consumed: run one
// show at a time.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/internal/trace"
	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/zz_generated/abi"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mrtrace:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mrtrace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("file-prefix", shm.DefaultFilePrefix, "the daemon's --file-prefix")
	runDir := fs.String("runtime-dir", "", "the daemon's DPDK runtime directory (default: from -file-prefix)")
	hugeDir := fs.String("huge-dir", "", "hugetlbfs directory of the daemon's pages")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mrtrace [flags] on -vdev NAME [-filter EXPR] [-sample N] | off -vdev NAME | show [-duration D] [-json FILE]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("missing command (on, off, show)")
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	sub := flag.NewFlagSet("mrtrace "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	vdev := sub.String("vdev", "", "devsym of the vdev")
	filter := sub.String("filter", "", "5-tuple filter: proto= src= dst= sport= dport= dir= (wildcards: * or absent)")
	sample := sub.Uint("sample", 1, "record 1 in N matching packets")
	duration := sub.Duration("duration", 0, "show: stop after this long (0: until interrupted)")
	jsonOut := sub.String("json", "", "show: also write the events as JSON lines to this file")
	if err := sub.Parse(rest); err != nil {
		return err
	}
	var f trace.Filter
	if cmd == "on" {
		var err error
		if f, err = trace.ParseFilter(*filter); err != nil {
			return err
		}
	}
	h, err := shm.Attach(shm.Options{FilePrefix: *prefix, RuntimeDir: *runDir, HugeDir: *hugeDir, NoIPC: true})
	if err != nil {
		return err
	}
	defer h.Detach()
	a, index, err := attach(h, *vdev, cmd != "show")
	if err != nil {
		return err
	}
	switch cmd {
	case "on":
		a.Control(index).Set(f, uint32(*sample))
		fmt.Fprintf(stdout, "trace on for %s (vdev %d): filter %q, 1 in %d\n", *vdev, index, f.String(), max(*sample, 1))
	case "off":
		a.Control(index).Off()
		fmt.Fprintf(stdout, "trace off for %s (vdev %d)\n", *vdev, index)
	case "show":
		return show(a, stdout, *duration, *jsonOut)
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q (on, off, show)", cmd)
	}
	return nil
}

// attach finds the trace area and, when needVdev, the index of devsym.
func attach(h *shm.Handle, devsym string, needVdev bool) (*trace.Area, int, error) {
	mz, err := h.Memzone(trace.Memzone)
	if err != nil {
		return nil, 0, fmt.Errorf("trace area: %w (is the daemon a gomarsio mrzcpd with tracing support?)", err)
	}
	a, err := trace.Attach(unsafe.Slice((*byte)(ptrAt(mz.Addr)), mz.Len))
	if err != nil {
		return nil, 0, err
	}
	if !needVdev {
		return a, 0, nil
	}
	if devsym == "" {
		return nil, 0, errors.New("-vdev is required")
	}
	rz, err := h.Memzone(abi.MR_ROOT_MEMZONE)
	if err != nil {
		return nil, 0, fmt.Errorf("root memzone: %w", err)
	}
	root := (*abi.Root)(ptrAt(rz.Addr))
	for k := 0; k < int(root.NrVdevs) && k < len(root.Vdevs); k++ {
		name := root.Vdevs[k].Devsym[:]
		n := 0
		for n < len(name) && name[n] != 0 {
			n++
		}
		if string(name[:n]) == devsym {
			if a.Control(k) == nil {
				return nil, 0, fmt.Errorf("vdev %s: index %d beyond the trace area's %d", devsym, k, a.Vdevs())
			}
			return a, k, nil
		}
	}
	return nil, 0, fmt.Errorf("no vdev %q in the daemon", devsym)
}

// show prints events as they arrive, one line each, until duration ends
// or SIGINT.
func show(a *trace.Area, stdout io.Writer, duration time.Duration, jsonPath string) error {
	var js *bufio.Writer
	if jsonPath != "" {
		f, err := os.Create(jsonPath)
		if err != nil {
			return err
		}
		defer f.Close()
		js = bufio.NewWriter(f)
		defer js.Flush()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	defer signal.Stop(stop)
	var end <-chan time.Time
	if duration > 0 {
		end = time.After(duration)
	}
	clk := a.Clock() // the daemon's TSC calibration: records carry TSC ticks
	lost := make([]uint64, a.Rings())
	var recs []trace.Record
	var ring []int
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		// One poll of every ring, shown in time order (TSC order: the
		// daemon's and the applications' TSC are one counter, a purego
		// writer's ticks come from the same calibration): a packet's
		// daemon and application events interleave (port-rx, dist,
		// app-rx, app-tx, port-tx).
		recs, ring = recs[:0], ring[:0]
		for r := 0; r < a.Rings(); r++ {
			n := len(recs)
			recs = a.Read(r, recs)
			for range recs[n:] {
				ring = append(ring, r)
			}
			if l := a.Lost(r); l != lost[r] {
				fmt.Fprintf(stdout, "ring %d: %d events lost (ring full)\n", r, l-lost[r])
				lost[r] = l
			}
		}
		idx := make([]int, len(recs))
		for k := range idx {
			idx[k] = k
		}
		sort.SliceStable(idx, func(x, y int) bool { return recs[idx[x]].TSC < recs[idx[y]].TSC })
		for _, k := range idx {
			fmt.Fprintf(stdout, "ring %d %s\n", ring[k], recs[k].Format(&clk))
			if js != nil {
				b, _ := recs[k].JSON(&clk) // time_ns (wall clock) and tsc
				js.Write(append(b, '\n'))
			}
		}
		select {
		case <-stop:
			return nil
		case <-end:
			return nil
		case <-tick.C:
		}
	}
}

// ptrAt turns an address in the mapped shared memory into a pointer.
func ptrAt(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
