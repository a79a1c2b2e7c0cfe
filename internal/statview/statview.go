// Package statview turns mrzcpd's status files into the tables tools/mrstat
// shows: per-port, per-vdev and per-stream counters with the rates between
// two reads (packets, bytes and drops per second).
//
// Load reads one snapshot of a run dir: mrmonit.daemon and every
// mrmonit.app.<appsym> (strictly, through ctrlproto/monit: a corrupt file is
// an error naming it). A View keeps the previous snapshot and computes the
// rates of the next one. Rates use the writers' own timestamps
// (general.update_ns), so reading faster than the files are rewritten does
// not show bursts and zeros: a source whose file did not change keeps its
// last rates.
package statview

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
)

// ErrNoRunDir: the run dir does not exist (mrzcpd is not running, or uses
// another run dir).
var ErrNoRunDir = errors.New("no mrzcpd run dir")

// Snapshot is one read of a run dir.
type Snapshot struct {
	RunDir string        `json:"run_dir"`
	Time   time.Time     `json:"time"` // when it was read
	Daemon *monit.Daemon `json:"daemon"`
	Apps   []*monit.App  `json:"apps"` // sorted by appsym
}

// Load reads the daemon status file and every application status file of
// runDir.
func Load(runDir string) (*Snapshot, error) {
	if _, err := os.Stat(runDir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("run dir %s does not exist: is mrzcpd running? (pass -run-dir or set %s if it writes its status files elsewhere): %w",
			runDir, monit.EnvRunDir, ErrNoRunDir)
	}
	s := &Snapshot{RunDir: runDir, Time: time.Now(), Apps: []*monit.App{}}
	d, err := monit.ReadDaemon(monit.DaemonPath(runDir))
	if err != nil {
		return nil, fmt.Errorf("read daemon status: %w", err)
	}
	s.Daemon = d
	files, err := filepath.Glob(filepath.Join(runDir, monit.AppFilePrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("list app status files: %w", err)
	}
	for _, f := range files {
		a, err := monit.ReadApp(f)
		if errors.Is(err, monit.ErrNotExist) {
			continue // the app exited between the listing and the read
		}
		if err != nil {
			return nil, fmt.Errorf("read app status: %w", err)
		}
		s.Apps = append(s.Apps, a)
	}
	sort.Slice(s.Apps, func(i, j int) bool { return s.Apps[i].General.Appsym < s.Apps[j].General.Appsym })
	return s, nil
}

// Rate is per-second rates of a counter block.
type Rate struct {
	Pkts  float64 `json:"pkts"`
	Bytes float64 `json:"bytes"`
	Drops float64 `json:"drops"`
}

// Row is one line of the counters table.
type Row struct {
	Key    string         // unique: source and name
	Source string         // "mrzcpd" or the appsym
	Name   string         // "port p0", "vdev vxe0", "vxe0 rx[0]"
	Dir    string         // "rx", "tx", "no-app"; for streams "rx/daemon", …
	Note   string         // link state, ring fill
	C      monit.Counters // totals
	Rate   *Rate          // nil until two reads of the source are known
}

// source time: the writer's timestamp, or the read time when it has none.
func srcTime(ns int64, read time.Time) int64 {
	if ns > 0 {
		return ns
	}
	return read.UnixNano()
}

// Rows lists the counters of a snapshot in display order, without rates.
func Rows(s *Snapshot) []Row {
	var out []Row
	d := s.Daemon
	add := func(src, name, dir, note string, c monit.Counters) {
		out = append(out, Row{Key: src + "|" + name + "|" + dir, Source: src, Name: name, Dir: dir, Note: note, C: c})
	}
	for _, p := range d.Ports {
		link := "link down"
		if p.LinkUp {
			link = "link up"
		}
		add("mrzcpd", "port "+p.Name, "rx", fmt.Sprintf("%s, %s, imissed %d, ierrors %d, rx_nombuf %d", link, driver(p.Device), p.Missed, p.Errors, p.RxNoMbuf), p.Rx)
		add("mrzcpd", "port "+p.Name, "tx", fmt.Sprintf("oerrors %d", p.OErrors), p.Tx)
	}
	for _, v := range d.Vdevs {
		who := v.State
		if v.App != "" {
			who += " by " + v.App
		}
		add("mrzcpd", "vdev "+v.Devsym, "rx", fmt.Sprintf("port %s, %s", v.Port, who), v.PortRx)
		add("mrzcpd", "vdev "+v.Devsym, "tx", "", v.PortTx)
		if v.NoApp != (monit.Counters{}) || v.State != "open" {
			add("mrzcpd", "vdev "+v.Devsym, "no-app", "dropped: no app had it open", v.NoApp)
		}
		if dr := v.Drops; dr != (monit.Drops{}) {
			add("mrzcpd", "vdev "+v.Devsym, "drops", fmt.Sprintf("ring-full %d, no-mbuf %d, no-app %d, filtered %d, port-tx %d, app-tx %d, malformed %d",
				dr.RxRingFull, dr.NoMbuf, dr.NoApp, dr.Filtered, dr.PortTxRefused, dr.AppTxRingFull, dr.Malformed), monit.Counters{Drops: dr.Total()})
		}
		for i, st := range v.Rx {
			name := fmt.Sprintf("%s rx[%d]", v.Devsym, i)
			add("mrzcpd", name, "daemon", fmt.Sprintf("ring %d", st.Count), st.Daemon)
			add("mrzcpd", name, "app", "", st.App)
		}
		for i, st := range v.Tx {
			name := fmt.Sprintf("%s tx[%d]", v.Devsym, i)
			add("mrzcpd", name, "app", fmt.Sprintf("ring %d", st.Count), st.App)
			add("mrzcpd", name, "daemon", "", st.Daemon)
		}
	}
	for _, a := range s.Apps {
		sym := a.General.Appsym
		for _, dev := range a.Devices {
			for _, st := range dev.Rx {
				add(sym, fmt.Sprintf("%s rx[%d]", dev.Devsym, st.Index), "rx", "", monit.Counters{Pkts: st.Pkts, Bytes: st.Bytes, Drops: st.Drops, Events: st.Events})
			}
			for _, st := range dev.Tx {
				add(sym, fmt.Sprintf("%s tx[%d]", dev.Devsym, st.Index), "tx", "", monit.Counters{Pkts: st.Pkts, Bytes: st.Bytes, Drops: st.Drops, Events: st.Events})
			}
		}
	}
	return out
}

// View computes rates between successive snapshots.
type View struct {
	prevRows map[string]Row
	prevTime map[string]int64 // source → its writer's timestamp
	rates    map[string]*Rate
}

// NewView returns a View with no history.
func NewView() *View {
	return &View{prevRows: map[string]Row{}, prevTime: map[string]int64{}, rates: map[string]*Rate{}}
}

func sourceTimes(s *Snapshot) map[string]int64 {
	t := map[string]int64{"mrzcpd": srcTime(s.Daemon.General.UpdateTime, s.Time)}
	for _, a := range s.Apps {
		t[a.General.Appsym] = srcTime(a.General.UpdateTime, s.Time)
	}
	return t
}

// Update takes the next snapshot and returns its rows with rates: nil for
// a row seen for the first time, the last rates when its source's file was
// not rewritten since the previous read, nil again when a counter went
// backwards (the writer restarted).
func (v *View) Update(s *Snapshot) []Row {
	rows := Rows(s)
	times := sourceTimes(s)
	rates := map[string]*Rate{}
	for i := range rows {
		r := &rows[i]
		prev, ok := v.prevRows[r.Key]
		if !ok {
			continue
		}
		dt := float64(times[r.Source]-v.prevTime[r.Source]) / 1e9
		switch {
		case dt == 0:
			r.Rate = v.rates[r.Key]
		case dt < 0 || r.C.Pkts < prev.C.Pkts || r.C.Bytes < prev.C.Bytes || r.C.Drops < prev.C.Drops:
			r.Rate = nil
		default:
			r.Rate = &Rate{
				Pkts:  float64(r.C.Pkts-prev.C.Pkts) / dt,
				Bytes: float64(r.C.Bytes-prev.C.Bytes) / dt,
				Drops: float64(r.C.Drops-prev.C.Drops) / dt,
			}
		}
		rates[r.Key] = r.Rate
	}
	v.prevRows = map[string]Row{}
	for _, r := range rows {
		v.prevRows[r.Key] = r
	}
	v.prevTime, v.rates = times, rates
	return rows
}

// si formats x with a k/M/G/T suffix.
func si(x float64) string {
	switch {
	case x >= 1e12:
		return fmt.Sprintf("%.2fT", x/1e12)
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.2fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// siInt formats a counter: exact below a million, with a suffix above.
func siInt(n uint64) string {
	if n < 1e6 {
		return fmt.Sprint(n)
	}
	return si(float64(n))
}

func shortTime(ns int64) string {
	if ns <= 0 {
		return "-"
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05Z")
}

func trimJoin(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "  ")
}

// driver shortens a device's devargs to its name ("net_pcap0,rx_pcap=…"
// → "net_pcap0").
func driver(devargs string) string {
	name, _, _ := strings.Cut(devargs, ",")
	return name
}
