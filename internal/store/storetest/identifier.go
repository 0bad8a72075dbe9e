package storetest

import (
	"slices"
	"testing"

	"kartehub/internal/karte"
)

// testFindByIdentifier: matching by system and value, an empty system
// matching any system, each id once, types kept apart.
func testFindByIdentifier(t *testing.T, open opener) {
	s := openStore(t, open)
	put(t, s, version("Patient", "p1", 1, at(0)), ident(sysA, "1"), ident(sysB, "2"), ident(sysC, "1"))
	put(t, s, version("Patient", "p2", 1, at(1)), ident(sysA, "1"))
	put(t, s, version("Patient", "p3", 1, at(2)), ident("", "9"))
	put(t, s, version("Patient", "p4", 1, at(3)), ident(sysA, "7"), ident(sysA, "7"))
	put(t, s, version("Observation", "o1", 1, at(4)), ident(sysA, "1"), ident(sysB, "2"))

	for _, tc := range []struct {
		typ  string
		id   karte.Identifier
		want []string
	}{
		{"Patient", ident(sysA, "1"), []string{"p1", "p2"}},
		{"Patient", ident("", "1"), []string{"p1", "p2"}}, // p1 carries "1" twice, under A and C
		{"Patient", ident(sysB, "1"), nil},
		{"Patient", ident(sysB, "2"), []string{"p1"}},
		{"Patient", ident("", "2"), []string{"p1"}},
		{"Patient", ident(sysA, "2"), nil},
		{"Patient", ident("", "9"), []string{"p3"}},
		{"Patient", ident(sysA, "9"), nil},
		{"Patient", ident(sysA, "7"), []string{"p4"}},
		{"Patient", ident(sysA, "3"), nil},
		{"Observation", ident(sysA, "1"), []string{"o1"}},
		{"Observation", ident("", "9"), nil},
		{"Encounter", ident(sysA, "1"), nil},
	} {
		if got := find(t, s, tc.typ, tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("find %s %q|%q: %v, want %v", tc.typ, tc.id.System, tc.id.Value, got, tc.want)
		}
	}
}

// testFindByIdentifierCurrentOnly: only current, not deleted versions are
// found. Identifiers dropped by a later version or by a deletion are not, a
// deletion's own index is ignored, and a resource put again after deletion
// is found by its new identifiers.
func testFindByIdentifierCurrentOnly(t *testing.T, open opener) {
	s := openStore(t, open)
	put(t, s, version("Patient", "p1", 1, at(0)), ident(sysA, "1"), ident(sysB, "2"))
	put(t, s, version("Patient", "p1", 2, at(1)), ident(sysA, "1"), ident(sysC, "3"))
	put(t, s, version("Patient", "p2", 1, at(2)), ident(sysA, "1"))
	put(t, s, deletion("Patient", "p2", 2, at(3)), ident(sysA, "1")) // a deletion's index is ignored

	check := func(id karte.Identifier, want ...string) {
		t.Helper()
		if got := find(t, s, "Patient", id); !slices.Equal(got, want) {
			t.Errorf("find %q|%q: %v, want %v", id.System, id.Value, got, want)
		}
	}
	check(ident(sysB, "2"))       // dropped by version 2
	check(ident("", "2"))         // dropped by version 2
	check(ident(sysC, "3"), "p1") // added by version 2
	check(ident(sysA, "1"), "p1") // kept by p1, gone with p2's deletion

	put(t, s, version("Patient", "p2", 3, at(4)), ident(sysD, "4"))
	check(ident(sysD, "4"), "p2")
	check(ident(sysA, "1"), "p1") // p2's version 3 does not carry it
}
