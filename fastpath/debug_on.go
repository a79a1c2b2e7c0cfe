//go:build debug

package fastpath

const debug = true
