//go:build !debug

package fastpath

// debug enables the checks that cost more than a load and a compare (see the
// package doc); build with -tags debug to turn them on.
const debug = false
