package flowhash

import (
	"testing"

	"github.com/gomarsio/marsio/zz_generated/abi"
)

// TestABIValues: the mode numbers are the daemon↔app ABI's MR_DIST_* and
// MR_HASH_* (gen/abi), which the daemon stores in the root object.
func TestABIValues(t *testing.T) {
	for _, c := range []struct {
		got, want uint64
		name      string
	}{
		{uint64(DistOuterTuple2), uint64(abi.MR_DIST_OUTER_TUPLE2), "outer_tuple2"},
		{uint64(DistOuterTuple4), uint64(abi.MR_DIST_OUTER_TUPLE4), "outer_tuple4"},
		{uint64(DistInnerTuple2), uint64(abi.MR_DIST_INNER_TUPLE2), "inner_tuple2"},
		{uint64(DistInnerTuple4), uint64(abi.MR_DIST_INNER_TUPLE4), "inner_tuple4"},
		{uint64(HashSymCRC), uint64(abi.MR_HASH_SYM_CRC), "sym_crc"},
		{uint64(HashSymXXHash), uint64(abi.MR_HASH_SYM_XXHASH), "sym_xxhash"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, ABI says %d", c.name, c.got, c.want)
		}
	}
}
