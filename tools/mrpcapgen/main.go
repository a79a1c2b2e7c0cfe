// Command mrpcapgen writes deterministic test traffic to a pcap file: many
// flows with packets in both directions over every encapsulation gomarsio's
// flow hash understands (plain IPv4/IPv6 TCP/UDP/SCTP, VLAN, QinQ, IP-in-IP,
// GRE, NVGRE, VXLAN, GTP-U, IPv6 extension headers, fragments), plus
// malformed and truncated packets. The same flags give the same file.
//
//	mrpcapgen -o traffic.pcap -flows 256 -packets 4096 -seed 1 -mix all
//	mrpcapgen -o v4.pcap -mix plain4,vlan,vxlan
//
// Kinds for -mix: plain4, plain6, vlan, qinq, ipip, gre, nvgre, vxlan, gtpu,
// v6ext, frag, malformed, truncated (or all). Flows take the kinds in turn.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gomarsio/marsio/internal/pcapgen"
	"github.com/gomarsio/marsio/internal/pcapio"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mrpcapgen:", err)
		os.Exit(1)
	}
}

// baseTime is the timestamp of the first packet: fixed, so files are
// byte-for-byte reproducible.
var baseTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mrpcapgen", flag.ContinueOnError)
	out := fs.String("o", "", "output pcap file (- for standard output)")
	flows := fs.Int("flows", 64, "number of flows")
	packets := fs.Int("packets", 1024, "number of packets")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same file")
	mix := fs.String("mix", "all", "comma-separated packet kinds, or all")
	quiet := fs.Bool("q", false, "do not print a summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-o is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	kinds, err := pcapgen.ParseMix(*mix)
	if err != nil {
		return err
	}
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: *seed, Flows: *flows, Packets: *packets, Mix: kinds})
	if err != nil {
		return err
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
	if err := write(w, pkts); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !*quiet && *out != "-" {
		counts := map[pcapgen.Kind]int{}
		for _, p := range pkts {
			counts[p.Kind]++
		}
		fmt.Fprintf(stdout, "%s: %d packets, %d flows, seed %d:", *out, len(pkts), *flows, *seed)
		for _, k := range pcapgen.AllKinds() {
			if counts[k] > 0 {
				fmt.Fprintf(stdout, " %v=%d", k, counts[k])
			}
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// write writes pkts as a pcap file, one microsecond apart.
func write(w io.Writer, pkts []pcapgen.Packet) error {
	pw, err := pcapio.NewWriter(w)
	if err != nil {
		return err
	}
	for i, p := range pkts {
		if err := pw.WritePacket(baseTime.Add(time.Duration(i)*time.Microsecond), p.Data, len(p.Data)); err != nil {
			return err
		}
	}
	return pw.Flush()
}
