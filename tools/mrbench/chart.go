package main

import (
	"fmt"
	"image/color"
	"os"
	"regexp"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// e2eCase parses the e2e suite's case names: "<implementation>, burst <n> (ns/packet)".
var e2eCase = regexp.MustCompile(`^(.+), burst (\d+) `)

// drawChart writes a PNG: on top, the e2e suite's app CPU ns/packet by
// burst size, one line per implementation (the C reference from the c_ns
// column); then the e2e latency tails (daemon port rx → port tx, p50, p99,
// p99.9 and max by burst size, the Go app against the C reference, log
// scale); below, go/c of every other case as bars (1 = as fast as DPDK's
// C; left of 1 is faster). Parts without data are left out.
func drawChart(path string, res []Result) error {
	var rows [][]*plot.Plot
	if p := e2ePlot(res); p != nil {
		rows = append(rows, []*plot.Plot{p})
	}
	if p := latPlot(res); p != nil {
		rows = append(rows, []*plot.Plot{p})
	}
	if p, err := ratioPlot(res); err != nil {
		return err
	} else if p != nil {
		rows = append(rows, []*plot.Plot{p})
	}
	if len(rows) == 0 {
		return fmt.Errorf("no results to draw")
	}
	w, h := 22*vg.Centimeter, 14*vg.Centimeter*vg.Length(len(rows))
	if len(rows) == 1 {
		h = 12 * vg.Centimeter
	}
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 5, PadY: vg.Centimeter}
	cs := plot.Align(rows, tiles, dc)
	for i := range rows {
		rows[i][0].Draw(cs[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func e2ePlot(res []Result) *plot.Plot {
	lines := map[string]plotter.XYs{}
	var order []string
	cRef := map[int]float64{}
	for _, r := range res {
		if r.Suite != "e2e" {
			continue
		}
		m := e2eCase.FindStringSubmatch(r.Case)
		if m == nil {
			continue
		}
		b, _ := strconv.Atoi(m[2])
		if _, ok := lines[m[1]]; !ok {
			order = append(order, m[1])
		}
		lines[m[1]] = append(lines[m[1]], plotter.XY{X: float64(b), Y: r.GoNs})
		cRef[b] = r.CNs
	}
	if len(order) == 0 {
		return nil
	}
	var c plotter.XYs
	for b, ns := range cRef {
		c = append(c, plotter.XY{X: float64(b), Y: ns})
	}
	sort.Slice(c, func(i, j int) bool { return c[i].X < c[j].X })
	order = append(order[:1], append([]string{"c secondary (reference)"}, order[1:]...)...)
	lines["c secondary (reference)"] = c

	p := plot.New()
	p.Title.Text = "e2e: mrzcpd → app → mrzcpd, app CPU ns per packet (lower is better)"
	p.X.Label.Text = "burst size"
	p.Y.Label.Text = "ns/packet"
	p.X.Scale = plot.LogScale{}
	var ticks []plot.Tick
	for _, b := range []int{1, 2, 4, 8, 16, 32, 64} {
		ticks = append(ticks, plot.Tick{Value: float64(b), Label: strconv.Itoa(b)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0.8, 80
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	colors := []color.Color{
		color.RGBA{0x00, 0x7d, 0x9c, 0xff}, // Go blue
		color.RGBA{0x33, 0x33, 0x33, 0xff},
		color.RGBA{0xd9, 0x5f, 0x02, 0xff},
		color.RGBA{0x75, 0x70, 0xb3, 0xff},
		color.RGBA{0x1b, 0x9e, 0x77, 0xff},
	}
	for i, name := range order {
		xy := lines[name]
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			continue
		}
		col := colors[i%len(colors)]
		l.Color, pts.Color = col, col
		l.Width = vg.Points(2)
		if name == "c secondary (reference)" {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(name, l, pts)
		if y := maxY(xy); y*1.4 > p.Y.Max {
			p.Y.Max = y * 1.4 // head room for the legend
		}
	}
	return p
}

func maxY(xy plotter.XYs) float64 {
	m := 0.0
	for _, v := range xy {
		m = max(m, v.Y)
	}
	return m
}

func ratioPlot(res []Result) (*plot.Plot, error) {
	var vals plotter.Values
	var names []string
	top := 1.2
	for i := len(res) - 1; i >= 0; i-- { // bars are drawn bottom-up
		r := res[i]
		if r.Suite == "e2e" || r.Ratio <= 0 {
			continue
		}
		vals = append(vals, r.Ratio)
		top = max(top, r.Ratio*1.05)
		names = append(names, r.Suite+": "+r.Case)
	}
	if len(vals) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "go / c per case (1 = DPDK's C; below 1 = Go faster)"
	p.X.Label.Text = "ratio go/c"
	p.X.Min, p.X.Max = 0, top
	bars, err := plotter.NewBarChart(vals, vg.Points(7))
	if err != nil {
		return nil, err
	}
	bars.Horizontal = true
	bars.Color = color.RGBA{0x00, 0x7d, 0x9c, 0xff}
	bars.LineStyle.Width = 0
	p.Add(plotter.NewGrid(), bars)
	ref, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(vals)) - 0.5}})
	if err != nil {
		return nil, err
	}
	ref.Color = color.RGBA{0xd9, 0x5f, 0x02, 0xff}
	ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(ref)
	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = vg.Points(7)
	return p, nil
}

// latGoImpl is the e2e implementation whose latency the chart draws against
// the C reference (the rows of the other Go variants carry their own).
const latGoImpl = "go marsio"

// latLine is one line of the latency plot: µs by burst size.
type latLine struct {
	name   string // "<implementation> <percentile>"
	xy     plotter.XYs
	color  color.Color
	dashed bool // the C reference
}

// latLines extracts the latency lines from the e2e rows of latGoImpl:
// p50, p99, p99.9 and max of the Go app and of the C reference, in µs, one
// colour per percentile, in legend order; figures of 0 (none) are left
// out, and so are lines without any point.
func latLines(res []Result) []latLine {
	type pct struct {
		name  string
		goNs  func(*Result) float64
		cNs   func(*Result) float64
		color color.Color
	}
	pcts := []pct{
		{"p50", func(r *Result) float64 { return r.LatP50 }, func(r *Result) float64 { return r.CLatP50 }, color.RGBA{0x1b, 0x9e, 0x77, 0xff}},
		{"p99", func(r *Result) float64 { return r.LatP99 }, func(r *Result) float64 { return r.CLatP99 }, color.RGBA{0xd9, 0x5f, 0x02, 0xff}},
		{"p99.9", func(r *Result) float64 { return r.LatP999 }, func(r *Result) float64 { return r.CLatP999 }, color.RGBA{0x75, 0x70, 0xb3, 0xff}},
		{"max", func(r *Result) float64 { return r.LatMax }, func(r *Result) float64 { return r.CLatMax }, color.RGBA{0x55, 0x55, 0x55, 0xff}},
	}
	var lines []latLine
	for _, pc := range pcts {
		for _, side := range []struct {
			who    string
			ns     func(*Result) float64
			dashed bool
		}{{latGoImpl, pc.goNs, false}, {"c secondary", pc.cNs, true}} {
			l := latLine{name: side.who + " " + pc.name, color: pc.color, dashed: side.dashed}
			for i := range res {
				r := &res[i]
				m := e2eCase.FindStringSubmatch(r.Case)
				if r.Suite != "e2e" || m == nil || m[1] != latGoImpl {
					continue
				}
				b, _ := strconv.Atoi(m[2])
				if ns := side.ns(r); ns > 0 {
					l.xy = append(l.xy, plotter.XY{X: float64(b), Y: ns / 1e3})
				}
			}
			if len(l.xy) > 0 {
				sort.Slice(l.xy, func(a, b int) bool { return l.xy[a].X < l.xy[b].X })
				lines = append(lines, l)
			}
		}
	}
	return lines
}

// latPlot draws latLines by burst size on a log µs scale (Go app solid,
// C reference dashed). Nil without latency figures.
func latPlot(res []Result) *plot.Plot {
	lines := latLines(res)
	if len(lines) == 0 {
		return nil
	}
	lo, hi := lines[0].xy[0].Y, 0.0
	for _, l := range lines {
		for _, v := range l.xy {
			lo, hi = min(lo, v.Y), max(hi, v.Y)
		}
	}
	p := plot.New()
	p.Title.Text = "e2e latency: mrzcpd port rx → port tx, µs (lower is better; solid go marsio, dashed c secondary)"
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "burst size"
	p.Y.Label.Text = "µs (log scale)"
	p.X.Scale = plot.LogScale{}
	var ticks []plot.Tick
	for _, b := range []int{1, 2, 4, 8, 16, 32, 64} {
		ticks = append(ticks, plot.Tick{Value: float64(b), Label: strconv.Itoa(b)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0.8, 80
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = lo/2, hi*20 // head room for the legend
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	for _, l := range lines {
		ln, pts, err := plotter.NewLinePoints(l.xy)
		if err != nil {
			continue
		}
		ln.Color, pts.Color = l.color, l.color
		ln.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		if l.dashed {
			ln.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			pts.Shape = draw.SquareGlyph{}
		}
		p.Add(ln, pts)
		p.Legend.Add(l.name, ln, pts)
	}
	return p
}
