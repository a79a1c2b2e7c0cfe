package main

// writePNG draws the results (chart.go: e2e ns/packet by burst size, one
// line per implementation; go/c of every other case) with gonum.org/v1/plot.
func writePNG(path string, res []Result) error {
	return drawChart(path, res)
}
