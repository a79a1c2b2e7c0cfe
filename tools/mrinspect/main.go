// Command mrinspect shows what a running DPDK primary keeps in shared
// memory — memzones, rings and mempools — in the spirit of dpdk-proc-info,
// but in pure Go and without joining the primary as an EAL secondary.
//
//	mrinspect -file-prefix rte            # human tables
//	mrinspect -file-prefix rte -json      # one JSON document for scripts
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/gomarsio/marsio/shm"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mrinspect:", err)
		}
		os.Exit(1)
	}
}

// Report is the -json document.
type Report struct {
	FilePrefix string           `json:"file_prefix"`
	RuntimeDir string           `json:"runtime_dir"`
	Version    string           `json:"dpdk_version"`
	LegacyMem  bool             `json:"legacy_mem"`
	SingleFile bool             `json:"single_file_segments"`
	Memory     []MemsegListInfo `json:"memseg_lists"`
	Memzones   []MemzoneInfo    `json:"memzones"`
	Rings      []RingInfo       `json:"rings"`
	Mempools   []MempoolInfo    `json:"mempools"`
}

// MemsegListInfo is one memseg list.
type MemsegListInfo struct {
	Index     int    `json:"index"`
	Base      string `json:"base"`
	Len       uint64 `json:"len"`
	PageSize  uint64 `json:"page_size"`
	Socket    int    `json:"socket"`
	UsedPages int    `json:"used_pages"`
}

// MemzoneInfo is one memzone.
type MemzoneInfo struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Len      uint64 `json:"len"`
	Socket   int    `json:"socket"`
	PageSize uint64 `json:"page_size"`
	Flags    uint32 `json:"flags"`
}

// RingInfo is one ring.
type RingInfo struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Count    uint32 `json:"count"`
	Free     uint32 `json:"free"`
	Capacity uint32 `json:"capacity"`
	Size     uint32 `json:"size"`
	ProdSync string `json:"prod_sync"`
	ConsSync string `json:"cons_sync"`
	Flags    uint32 `json:"flags"`
}

// MempoolInfo is one mempool.
type MempoolInfo struct {
	Name      string `json:"name"`
	Addr      string `json:"addr"`
	Size      uint32 `json:"size"`
	Available uint32 `json:"available"`
	InUse     uint32 `json:"in_use"`
	CacheSize uint32 `json:"cache_size"`
	EltSize   uint32 `json:"elt_size"`
	OpsRing   string `json:"ops_ring"`
	Flags     uint32 `json:"flags"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mrinspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("file-prefix", shm.DefaultFilePrefix, "the primary's --file-prefix")
	runDir := fs.String("runtime-dir", "", "the primary's runtime directory (default: found from -file-prefix as EAL does)")
	hugeDir := fs.String("huge-dir", "", "hugetlbfs directory of the primary's pages (default: from its hugepage_info)")
	asJSON := fs.Bool("json", false, "print one JSON document instead of tables")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mrinspect [-file-prefix P] [-runtime-dir D] [-huge-dir D] [-json]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	h, err := shm.Attach(shm.Options{FilePrefix: *prefix, RuntimeDir: *runDir, HugeDir: *hugeDir, NoIPC: true})
	if err != nil {
		return err
	}
	defer h.Detach()
	rep, err := collect(h)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printTables(stdout, rep)
}

func hex(a uintptr) string { return fmt.Sprintf("%#x", a) }

func collect(h *shm.Handle) (*Report, error) {
	rep := &Report{
		FilePrefix: h.FilePrefix(),
		RuntimeDir: h.RuntimeDir(),
		Version:    shm.VersionString(h.Version()),
		LegacyMem:  h.LegacyMem(),
		SingleFile: h.SingleFileSegments(),
		Memory:     []MemsegListInfo{},
		Memzones:   []MemzoneInfo{},
		Rings:      []RingInfo{},
		Mempools:   []MempoolInfo{},
	}
	for _, l := range h.MemsegLists() {
		rep.Memory = append(rep.Memory, MemsegListInfo{l.Index, hex(l.Base), uint64(l.Len), uint64(l.PageSz), l.Socket, l.Used})
	}
	mzs, err := h.Memzones()
	if err != nil {
		return nil, err
	}
	for _, m := range mzs {
		rep.Memzones = append(rep.Memzones, MemzoneInfo{m.Name, hex(m.Addr), uint64(m.Len), m.SocketID, m.HugepageSz, m.Flags})
	}
	rings, err := h.Rings()
	if err != nil {
		return nil, err
	}
	for _, r := range rings {
		c := r.Count()
		rep.Rings = append(rep.Rings, RingInfo{r.Name, hex(r.Addr), c, r.Capacity - c, r.Capacity, r.Size,
			shm.SyncName(r.ProdSync), shm.SyncName(r.ConsSync), r.Flags})
	}
	pools, err := h.Mempools()
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		ops := "(not ring-based)"
		if p.Ops != nil {
			ops = p.Ops.Name
		}
		avail := p.Available()
		rep.Mempools = append(rep.Mempools, MempoolInfo{p.Name, hex(p.Addr), p.Size, avail, p.Size - avail,
			p.CacheSize, p.EltSize, ops, p.Flags})
	}
	return rep, nil
}

func printTables(out io.Writer, r *Report) error {
	fmt.Fprintf(out, "primary %s (DPDK %s, runtime dir %s", r.FilePrefix, r.Version, r.RuntimeDir)
	if r.LegacyMem {
		fmt.Fprint(out, ", legacy-mem")
	}
	if r.SingleFile {
		fmt.Fprint(out, ", single-file-segments")
	}
	fmt.Fprintln(out, ")")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	section := func(title, header string) {
		tw.Flush()
		fmt.Fprintf(out, "\n%s\n", title)
		fmt.Fprintln(tw, header)
	}
	section("MEMORY", "list\tbase\tpage size\tsocket\tused pages\tused bytes\t")
	for _, l := range r.Memory {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t\n", l.Index, l.Base, bytesStr(l.PageSize), l.Socket, l.UsedPages,
			bytesStr(uint64(l.UsedPages)*l.PageSize))
	}
	section("MEMZONES", "name\taddr\tlen\tsocket\tpage size\tflags\t")
	for _, m := range r.Memzones {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%#x\t\n", m.Name, m.Addr, bytesStr(m.Len), m.Socket, bytesStr(m.PageSize), m.Flags)
	}
	section("RINGS", "name\tcount\tfree\tcapacity\tsize\tprod\tcons\tflags\t")
	for _, g := range r.Rings {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%#x\t\n", g.Name, g.Count, g.Free, g.Capacity, g.Size, g.ProdSync, g.ConsSync, g.Flags)
	}
	section("MEMPOOLS", "name\tsize\tavailable\tin use\tcache\telt size\tops ring\t")
	for _, p := range r.Mempools {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", p.Name, p.Size, p.Available, p.InUse, p.CacheSize, p.EltSize, p.OpsRing)
	}
	return tw.Flush()
}

func bytesStr(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
