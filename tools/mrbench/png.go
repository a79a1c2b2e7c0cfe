package main

import "errors"

// writePNG will draw the ratios once gonum.org/v1/plot is a dependency of
// the module; until then -png is accepted and reports that it is not built.
func writePNG(path string, res []Result) error {
	_ = path
	_ = res
	return errors.New("PNG chart not implemented yet (needs gonum.org/v1/plot in go.mod); use -json")
}
