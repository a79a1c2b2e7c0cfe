package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestRedrawChart redraws a chart from a results file:
//
//	MRBENCH_CHART_FROM=bench/results.json MRBENCH_CHART_OUT=bench/results.png go test -run TestRedrawChart ./tools/mrbench
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
