package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// TestRedrawChart redraws a chart from a results file (as `mrbench chart
// -json FILE -png FILE` does):
//
//	MRBENCH_CHART_FROM=$PWD/bench/results.json MRBENCH_CHART_OUT=$PWD/bench/results.png go test -run TestRedrawChart ./tools/mrbench
func TestRedrawChart(t *testing.T) {
	from, out := os.Getenv("MRBENCH_CHART_FROM"), os.Getenv("MRBENCH_CHART_OUT")
	if from == "" || out == "" {
		t.Skip("set MRBENCH_CHART_FROM (results JSON) and MRBENCH_CHART_OUT (PNG) to redraw a chart")
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var res []Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if err := drawChart(out, res); err != nil {
		t.Fatal(err)
	}
}

func TestDrawChart(t *testing.T) {
	var res []Result
	for _, b := range e2eBursts {
		for i, impl := range []string{"go marsio", "cgo per burst", "cgo per packet"} {
			r := result("e2e", fmt.Sprintf("%s, burst %d (ns/packet)", impl, b), float64(20+i*30)/float64(b)+10, 60/float64(b)+9)
			r.LatP50, r.LatP99, r.LatP999, r.LatMax = 2e3*float64(b), 9e3*float64(b), 4e4, 3e6
			r.CLatP50, r.CLatP99, r.CLatP999, r.CLatMax = 1e3*float64(b), 5e3*float64(b), 2e4, 1e6
			res = append(res, r)
		}
	}
	res = append(res, result("ring", "sp/sc burst 32", 10, 12), result("hash", "crc 4-tuple", 3, 4))
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := drawChart(path, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() < 500 || r.Dy() < 500 {
		t.Fatalf("image %v", r)
	}
	if err := drawChart(path, nil); err == nil {
		t.Fatal("no results: want an error")
	}
}

// TestLatPlot: the latency part draws the Go app's and the C reference's
// p50/p99/p99.9/max by burst size (eight lines, one point per burst size
// with a figure), leaves out missing figures (log scale), and is left out
// when no row has latency.
func TestLatPlot(t *testing.T) {
	var res []Result
	for _, b := range e2eBursts {
		for _, impl := range []string{"go marsio", "cgo per burst"} {
			r := result("e2e", fmt.Sprintf("%s, burst %d (ns/packet)", impl, b), 30, 20)
			if b != e2eBursts[0] { // the first burst size has no Go figures
				r.LatP50, r.LatP99, r.LatP999, r.LatMax = 4e5, 3e7, 6e7, 7e7
			}
			r.CLatP50, r.CLatP99, r.CLatP999, r.CLatMax = 3e5, 6e5, 5e6, 5e6
			res = append(res, r)
		}
	}
	if latPlot(res[:0]) != nil || len(latLines(res[:0])) != 0 {
		t.Fatal("latency plot without figures")
	}
	lines := latLines(res)
	var names []string
	for _, l := range lines {
		names = append(names, l.name)
	}
	if len(lines) != 8 || names[0] != "go marsio p50" || names[1] != "c secondary p50" || names[7] != "c secondary max" {
		t.Fatalf("lines %q", names)
	}
	for _, l := range lines {
		want := len(e2eBursts) // the C reference has every burst size
		if !l.dashed {
			want-- // the Go app lacks the first
		}
		if len(l.xy) != want || l.xy[0].X >= l.xy[len(l.xy)-1].X {
			t.Errorf("%s: points %v, want %d in burst order", l.name, l.xy, want)
		}
		if l.name == "go marsio p99" && l.xy[0].Y != 3e4 {
			t.Errorf("%s: %v µs, want 3e4 (from ns)", l.name, l.xy[0].Y)
		}
	}
	p := latPlot(res)
	if p == nil {
		t.Fatal("no latency plot")
	}
	if _, ok := p.Y.Scale.(plot.LogScale); !ok {
		t.Fatal("latency axis not logarithmic")
	}
	if p.Y.Min <= 0 || p.Y.Min > 300 || p.Y.Max < 7e4 {
		t.Fatalf("y axis %v..%v µs, want 300 and 7e4 inside", p.Y.Min, p.Y.Max)
	}
	// Only "go marsio" rows feed the lines: a cgo row's figures change nothing.
	res[1].LatMax = 9e9
	if q := latLines(res); q[6].xy[len(q[6].xy)-1].Y != 7e4 {
		t.Fatalf("a cgo row's latency entered the Go app's max line: %v", q[6].xy)
	}
}

// TestChartCommand: `mrbench chart` redraws a PNG from a results file
// without measuring, and says what it needs when a flag is missing.
func TestChartCommand(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	r := result("e2e", "go marsio, burst 8 (ns/packet)", 30, 20)
	r.LatP50, r.LatMax, r.CLatP50, r.CLatMax = 4e5, 7e7, 3e5, 5e6
	b, err := json.Marshal([]Result{r, result("ring", "SP/SC burst 32", 10, 12)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run([]string{"chart", "-json", in, "-png", out}, &stdout, &stderr); err != nil {
		t.Fatalf("mrbench chart: %v\n%s", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"chart", "-png", out}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "-json") {
		t.Fatalf("chart without -json: %v", err)
	}
}
