package sqlsearch_test

import (
	"hash/fnv"
	"testing"

	"kartehub/internal/store/sqlsearch"
)

// TestKeysAreFNV: the keys are FNV-1a of "type/id", "type.code" and
// "type|value", as stored by every database written so far.
func TestKeysAreFNV(t *testing.T) {
	fnv64 := func(s string) int64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return int64(h.Sum64())
	}
	for _, tc := range []struct{ typ, s string }{
		{"Patient", "pat-000123"}, {"", ""}, {"Observation", "code"}, {"Organization", "札幌-ハート"}, {"X", "\xff\x00"},
	} {
		if got, want := sqlsearch.ResourceKey(tc.typ, tc.s), fnv64(tc.typ+"/"+tc.s); got != want {
			t.Errorf("ResourceKey(%q, %q) = %d, want %d", tc.typ, tc.s, got, want)
		}
		if got, want := sqlsearch.ParamKey(tc.typ, tc.s), fnv64(tc.typ+"."+tc.s); got != want {
			t.Errorf("ParamKey(%q, %q) = %d, want %d", tc.typ, tc.s, got, want)
		}
		if got, want := sqlsearch.ValueKey(tc.typ, tc.s), fnv64(tc.typ+"|"+tc.s); got != want {
			t.Errorf("ValueKey(%q, %q) = %d, want %d", tc.typ, tc.s, got, want)
		}
	}
}
