package statview

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

// RenderOptions make a frame reproducible in tests.
type RenderOptions struct {
	// Alive reports whether a pid runs (default monit.ProcessAlive).
	Alive func(pid int) bool
	// Now is the current time, for the staleness of files (default time.Now).
	Now func() time.Time
	// MaxAge is how old a status file may be before it is marked stale
	// (default 5 s).
	MaxAge time.Duration
}

func (o *RenderOptions) fill() {
	if o.Alive == nil {
		o.Alive = monit.ProcessAlive
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAge == 0 {
		o.MaxAge = 5 * time.Second
	}
}

// liveness says "running", or why the writer looks gone.
func (o *RenderOptions) liveness(pid int, updateNs int64) string {
	if !o.Alive(pid) {
		return "NOT RUNNING (stale status file)"
	}
	if updateNs > 0 {
		if age := o.Now().Sub(time.Unix(0, updateNs)); age > o.MaxAge {
			return fmt.Sprintf("running, but its status is %v old (hung?)", age.Round(time.Second))
		}
	}
	return "running"
}

// Render writes one frame: the daemon's header, pools, the counters table
// (rows from View.Update or Rows) and the applications.
func Render(w io.Writer, s *Snapshot, rows []Row, o RenderOptions) error {
	o.fill()
	var b bytes.Buffer
	g := s.Daemon.General
	up := ""
	if g.StartTime > 0 && g.UpdateTime >= g.StartTime {
		up = "up " + time.Duration(g.UpdateTime-g.StartTime).Round(time.Second).String()
	}
	fmt.Fprintf(&b, "mrzcpd pid %d: %s\n", g.Pid, o.liveness(g.Pid, g.UpdateTime))
	fmt.Fprintf(&b, "  %s\n", trimJoin("--file-prefix "+g.FilePrefix, g.DPDKVersion, fmt.Sprintf("ABI %d", g.ABIVersion), up))
	fmt.Fprintf(&b, "  %s\n", trimJoin("config "+g.GCfgfile, "status "+s.RunDir, "updated "+shortTime(g.UpdateTime)))

	if len(s.Daemon.Pools) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "POOL\tSIZE\tAVAILABLE\tIN USE\t")
		for _, p := range s.Daemon.Pools {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", p.Name, p.Size, p.Available, p.InUse)
		}
		tw.Flush()
	}

	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tDEVICE\tDIR\t    PKTS\t   BYTES\t   DROPS\t  PKTS/S\t BYTES/S\t DROPS/S\tNOTE")
	for _, r := range rows {
		rp, rb, rd := "-", "-", "-"
		if r.Rate != nil {
			rp, rb, rd = si(r.Rate.Pkts), si(r.Rate.Bytes), si(r.Rate.Drops)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%8s\t%8s\t%8s\t%8s\t%8s\t%8s\t%s\n", r.Source, r.Name, r.Dir,
			siInt(r.C.Pkts), siInt(r.C.Bytes), siInt(r.C.Drops), rp, rb, rd, r.Note)
	}
	tw.Flush()

	if len(s.Daemon.Apps) > 0 || len(s.Apps) > 0 {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tPID\tSLOT\tSTATE\tVDEVS\tTHREADS\tSTATUS FILE")
		files := map[string]*monit.App{}
		for _, a := range s.Apps {
			files[a.General.Appsym] = a
		}
		seen := map[string]bool{}
		for _, a := range s.Daemon.Apps {
			seen[a.Appsym] = true
			threads, file := "-", "none"
			if f := files[a.Appsym]; f != nil {
				threads = fmt.Sprint(f.General.NrThreads)
				file = "updated " + shortTime(f.General.UpdateTime) + ", " + o.liveness(f.General.Pid, f.General.UpdateTime)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", a.Appsym, a.Pid, a.Slot, a.State, joinOrDash(a.Vdevs), threads, file)
		}
		for _, f := range s.Apps {
			if seen[f.General.Appsym] {
				continue
			}
			var devs []string
			for _, d := range f.Devices {
				devs = append(devs, d.Devsym)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\n", f.General.Appsym, f.General.Pid, f.General.Slot,
				"not registered", joinOrDash(devs), f.General.NrThreads,
				"updated "+shortTime(f.General.UpdateTime)+", "+o.liveness(f.General.Pid, f.General.UpdateTime))
		}
		tw.Flush()
	}
	if len(s.Daemon.Reclaims) > 0 {
		b.WriteString("\n")
	}
	for _, rc := range s.Daemon.Reclaims {
		fmt.Fprintf(&b, "reclaimed from %s (pid %d) at %s: %d mbufs from rings, %d from caches, %d by owner tag\n",
			rc.Appsym, rc.Pid, shortTime(rc.Time), rc.FromRings, rc.FromCache, rc.FromTags)
	}
	// tabwriter pads empty last cells: drop trailing blanks.
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

func joinOrDash(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	return strings.Join(xs, ",")
}
