package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// fixture is a set of written versions by short name ("a1" is version 1 of
// Patient/a).
type fixture map[string]*karte.Resource

// historyFixture writes eight versions, one Write each, and returns them.
// Their lifetimes, in minutes after t0 ([written, next version written)):
//
//	Patient/a      a1 [0,3)  a2 [3,6)  a3 [6,∞)
//	Patient/b      b1 [1,4)  b2 [4,∞) deletion
//	Observation/o  o1 [2,5)  o2 [5,∞)
//	Patient/c      c1 [7,∞)
func historyFixture(t *testing.T, s karte.Store) fixture {
	t.Helper()
	fx := fixture{}
	for i, w := range []struct {
		key, typ, id string
		v            int64
		deleted      bool
	}{
		{"a1", "Patient", "a", 1, false},
		{"b1", "Patient", "b", 1, false},
		{"o1", "Observation", "o", 1, false},
		{"a2", "Patient", "a", 2, false},
		{"b2", "Patient", "b", 2, true},
		{"o2", "Observation", "o", 2, false},
		{"a3", "Patient", "a", 3, false},
		{"c1", "Patient", "c", 1, false},
	} {
		r := version(w.typ, w.id, w.v, at(i))
		if w.deleted {
			r = deletion(w.typ, w.id, w.v, at(i))
		}
		put(t, s, r)
		fx[w.key] = r
	}
	return fx
}

// checkPage fails unless page holds exactly the versions of fx named by
// want, in that order, with total as Total and no following page.
func checkPage(t *testing.T, what string, page *karte.HistoryPage, fx fixture, total int, want ...string) {
	t.Helper()
	var wantRs []*karte.Resource
	for _, k := range want {
		wantRs = append(wantRs, fx[k])
	}
	if !slices.Equal(names(page.Versions), names(wantRs)) {
		t.Fatalf("%s: got %v, want %v", what, names(page.Versions), names(wantRs))
	}
	for i, r := range page.Versions {
		checkResource(t, r, wantRs[i])
	}
	if page.Total != total || page.Next != 0 {
		t.Fatalf("%s: Total %d, Next %d; want Total %d, Next 0", what, page.Total, page.Next, total)
	}
}

// testHistoryLevels: instance, type and system history, newest first by
// Seq, deletions included (Deleted set, no body).
func testHistoryLevels(t *testing.T, open opener) {
	s := openStore(t, open)
	fx := historyFixture(t, s)
	for _, tc := range []struct {
		typ, id string
		want    []string
	}{
		{"", "", []string{"c1", "a3", "o2", "b2", "a2", "o1", "b1", "a1"}},
		{"Patient", "", []string{"c1", "a3", "b2", "a2", "b1", "a1"}},
		{"Observation", "", []string{"o2", "o1"}},
		{"Patient", "a", []string{"a3", "a2", "a1"}},
		{"Patient", "b", []string{"b2", "b1"}},
		{"Observation", "a", nil},
	} {
		page := history(t, s, karte.HistoryQuery{Type: tc.typ, ID: tc.id, Count: 100})
		checkPage(t, fmt.Sprintf("history %q %q", tc.typ, tc.id), page, fx, len(tc.want), tc.want...)
	}
}

// testHistoryEmpty states the suite's reading: History selects versions and
// reports no error when none match, even for an unknown instance.
func testHistoryEmpty(t *testing.T, open opener) {
	s := openStore(t, open)
	checkPage(t, "history of an empty store", history(t, s, karte.HistoryQuery{}), nil, 0)
	put(t, s, version("Patient", "p1", 1, at(0)))
	for _, q := range []karte.HistoryQuery{
		{Type: "Encounter"},
		{Type: "Patient", ID: "none"},
		{Since: at(1)},
	} {
		checkPage(t, fmt.Sprintf("history %+v", q), history(t, s, q), nil, 0)
	}
}

// testHistorySince: Since keeps versions written at or after it.
func testHistorySince(t *testing.T, open opener) {
	s := openStore(t, open)
	fx := historyFixture(t, s)
	for _, tc := range []struct {
		q    karte.HistoryQuery
		want []string
	}{
		{karte.HistoryQuery{Since: at(4)}, []string{"c1", "a3", "o2", "b2"}},
		{karte.HistoryQuery{Since: at(4).Add(time.Millisecond)}, []string{"c1", "a3", "o2"}},
		{karte.HistoryQuery{Since: at(4).Add(-time.Millisecond)}, []string{"c1", "a3", "o2", "b2"}},
		{karte.HistoryQuery{Since: at(0)}, []string{"c1", "a3", "o2", "b2", "a2", "o1", "b1", "a1"}},
		{karte.HistoryQuery{Type: "Patient", Since: at(3)}, []string{"c1", "a3", "b2", "a2"}},
		{karte.HistoryQuery{Type: "Patient", ID: "a", Since: at(3)}, []string{"a3", "a2"}},
		{karte.HistoryQuery{Type: "Patient", ID: "a", Since: at(100)}, nil},
	} {
		tc.q.Count = 100
		checkPage(t, fmt.Sprintf("history since %v", tc.q.Since), history(t, s, tc.q), fx, len(tc.want), tc.want...)
	}
}

// testHistoryAt: AtStart and AtEnd keep the versions current at some moment
// in [AtStart, AtEnd); a version is current from its LastUpdated until the
// next version's. Either bound may be left zero (open). A deletion version
// counts as current like any other (the suite's reading).
func testHistoryAt(t *testing.T, open opener) {
	s := openStore(t, open)
	fx := historyFixture(t, s)
	ms := time.Millisecond
	for _, tc := range []struct {
		q    karte.HistoryQuery
		want []string
	}{
		{karte.HistoryQuery{AtStart: at(3), AtEnd: at(3).Add(ms)}, []string{"a2", "o1", "b1"}},
		{karte.HistoryQuery{AtStart: at(0), AtEnd: at(1)}, []string{"a1"}},
		{karte.HistoryQuery{AtStart: at(6), AtEnd: at(7)}, []string{"a3", "o2", "b2"}},
		{karte.HistoryQuery{AtStart: at(6).Add(-ms), AtEnd: at(7).Add(ms)}, []string{"c1", "a3", "o2", "b2", "a2"}},
		{karte.HistoryQuery{AtStart: at(5), AtEnd: at(6)}, []string{"o2", "b2", "a2"}},
		{karte.HistoryQuery{AtStart: at(6)}, []string{"c1", "a3", "o2", "b2"}},
		{karte.HistoryQuery{AtEnd: at(1)}, []string{"a1"}},
		{karte.HistoryQuery{AtEnd: at(2)}, []string{"b1", "a1"}},
		{karte.HistoryQuery{Type: "Patient", AtStart: at(3), AtEnd: at(5)}, []string{"b2", "a2", "b1"}},
		{karte.HistoryQuery{Type: "Patient", ID: "a", AtStart: at(3), AtEnd: at(5)}, []string{"a2"}},
		{karte.HistoryQuery{Since: at(3), AtStart: at(3), AtEnd: at(4)}, []string{"a2"}},
	} {
		tc.q.Count = 100
		what := fmt.Sprintf("history %q %q at [%v, %v) since %v", tc.q.Type, tc.q.ID, tc.q.AtStart, tc.q.AtEnd, tc.q.Since)
		checkPage(t, what, history(t, s, tc.q), fx, len(tc.want), tc.want...)
	}
}

// allPages follows Next from the first page of q and returns every
// version, failing on a page that breaks the paging contract: more than
// Count versions, a Total that differs from the first page's, an empty page
// before the end.
func allPages(t *testing.T, s karte.Store, q karte.HistoryQuery) (all []*karte.Resource, pages, total int) {
	t.Helper()
	for {
		p := history(t, s, q)
		pages++
		if pages == 1 {
			total = p.Total
		}
		if p.Total != total {
			t.Fatalf("page %d of %+v: Total %d, first page said %d", pages, q, p.Total, total)
		}
		if q.Count > 0 && len(p.Versions) > q.Count {
			t.Fatalf("page %d of %+v: %d versions, more than Count", pages, q, len(p.Versions))
		}
		if len(p.Versions) == 0 && pages > 1 {
			t.Fatalf("page %d of %+v is empty: the page before must have had Next zero", pages, q)
		}
		all = append(all, p.Versions...)
		if p.Next == 0 {
			return all, pages, total
		}
		if pages > 1000 {
			t.Fatalf("history %+v: no end after 1000 pages", q)
		}
		q.Before = p.Next
	}
}

// testHistoryPaging: Count pages through Next cursors without duplicates or
// gaps; Total counts every selected version and is the same on each page;
// Next is zero on the last page, also when it is exactly full; a Before
// not taken from a page cuts by Seq.
func testHistoryPaging(t *testing.T, open opener) {
	s := openStore(t, open)
	for i := range 23 {
		if i%2 == 0 {
			put(t, s, version("Patient", "p", int64(i/2+1), at(i)))
		} else {
			put(t, s, version("Observation", "o", int64(i/2+1), at(i)))
		}
	}
	full := history(t, s, karte.HistoryQuery{Count: 100})
	if len(full.Versions) != 23 || full.Total != 23 || full.Next != 0 {
		t.Fatalf("history of 23 versions: %d versions, Total %d, Next %d", len(full.Versions), full.Total, full.Next)
	}
	for _, tc := range []struct {
		q            karte.HistoryQuery
		pages, total int
	}{
		{karte.HistoryQuery{Count: 5}, 5, 23},
		{karte.HistoryQuery{Count: 1}, 23, 23},
		{karte.HistoryQuery{Count: 23}, 1, 23},
		{karte.HistoryQuery{Type: "Patient", Count: 4}, 3, 12},
		{karte.HistoryQuery{Type: "Patient", ID: "p", Count: 6}, 2, 12}, // exactly full last page
		{karte.HistoryQuery{Type: "Observation", ID: "o", Count: 5}, 3, 11},
		{karte.HistoryQuery{Since: at(10), Count: 5}, 3, 13},
	} {
		all, pages, total := allPages(t, s, tc.q)
		want := slices.DeleteFunc(slices.Clone(full.Versions), func(r *karte.Resource) bool {
			return (tc.q.Type != "" && r.Type != tc.q.Type) || r.LastUpdated.Before(tc.q.Since)
		})
		if !slices.Equal(names(all), names(want)) || pages != tc.pages || total != tc.total {
			t.Fatalf("paging %+v: %d pages, Total %d, versions %v; want %d pages, Total %d, versions %v",
				tc.q, pages, total, names(all), tc.pages, tc.total, names(want))
		}
	}

	cut := full.Versions[5]
	p := history(t, s, karte.HistoryQuery{Before: cut.Seq, Count: 100})
	if !slices.Equal(names(p.Versions), names(full.Versions[6:])) || p.Total != 23 {
		t.Fatalf("history before Seq %d: %v, Total %d; want %v, Total 23 (Total counts all pages)",
			cut.Seq, names(p.Versions), p.Total, names(full.Versions[6:]))
	}
	oldest := full.Versions[len(full.Versions)-1]
	p = history(t, s, karte.HistoryQuery{Before: oldest.Seq, Count: 100})
	if len(p.Versions) != 0 || p.Total != 23 || p.Next != 0 {
		t.Fatalf("history before the oldest Seq: %v, Total %d, Next %d; want none, Total 23, Next 0",
			names(p.Versions), p.Total, p.Next)
	}
}

// testHistoryPagingStable: versions written between two pages do not shift
// the following pages: they hold exactly the versions that came after the
// earlier page, and a first page asked for again shows the new ones.
func testHistoryPagingStable(t *testing.T, open opener) {
	s := openStore(t, open)
	for v := int64(1); v <= 7; v++ {
		put(t, s, version("Patient", "p", v, at(int(v))))
	}
	first := history(t, s, karte.HistoryQuery{Count: 3})
	want := []string{"Patient/p/_history/7", "Patient/p/_history/6", "Patient/p/_history/5"}
	if !slices.Equal(names(first.Versions), want) || first.Next == 0 {
		t.Fatalf("first page: %v, Next %d; want %v and a cursor", names(first.Versions), first.Next, want)
	}

	put(t, s, version("Patient", "p", 8, at(8)))
	put(t, s, version("Patient", "q", 1, at(9)))

	rest, _, _ := allPages(t, s, karte.HistoryQuery{Count: 3, Before: first.Next})
	want = []string{"Patient/p/_history/4", "Patient/p/_history/3", "Patient/p/_history/2", "Patient/p/_history/1"}
	if !slices.Equal(names(rest), want) {
		t.Fatalf("pages after the first, with writes in between: %v, want %v", names(rest), want)
	}
	again := history(t, s, karte.HistoryQuery{Count: 3})
	want = []string{"Patient/q/_history/1", "Patient/p/_history/8", "Patient/p/_history/7"}
	if !slices.Equal(names(again.Versions), want) || again.Total != 9 {
		t.Fatalf("first page again: %v, Total %d; want %v, Total 9", names(again.Versions), again.Total, want)
	}
}

// testHistoryDefaultCount: Count zero uses the engine's default page size,
// whatever it is, and paging with it still covers everything.
func testHistoryDefaultCount(t *testing.T, open opener) {
	s := openStore(t, open)
	const n = 60
	err := s.Write(t.Context(), func(tx karte.Tx) error {
		for v := int64(1); v <= n; v++ {
			if err := tx.Put(t.Context(), version("Patient", "p", v, at(int(v))), &karte.Index{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write of %d versions: %v", n, err)
	}
	if first := history(t, s, karte.HistoryQuery{}); len(first.Versions) == 0 || first.Total != n {
		t.Fatalf("first page with the default Count: %d versions, Total %d; want some, Total %d",
			len(first.Versions), first.Total, n)
	}
	all, _, _ := allPages(t, s, karte.HistoryQuery{})
	for i, r := range all {
		if r.VersionID != int64(n-i) {
			t.Fatalf("paging with the default Count: position %d holds %s, want version %d", i, name(r), n-i)
		}
	}
	if len(all) != n {
		t.Fatalf("paging with the default Count gave %d versions, want %d", len(all), n)
	}
}
