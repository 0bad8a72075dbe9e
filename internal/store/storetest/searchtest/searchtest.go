package searchtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"kartehub/internal/karte"
)

// Store is what the suite searches: a karte.Store that is also a
// karte.Searcher.
type Store interface {
	karte.Store
	karte.Searcher
}

// Run runs the suite, each subtest on a fresh, empty database: open creates
// one (registering its removal with t.Cleanup) and opens a Store on it,
// which the suite closes.
func Run(t *testing.T, open func(t *testing.T) (Store, error)) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			s, err := open(t)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.run(&db{t: t, s: s, versions: map[string]int64{}})
		})
	}
}

var suite = []struct {
	name string
	run  func(d *db)
}{
	// One kind of parameter each.
	{"String", testString},
	{"Token", testToken},
	{"Reference", testReference},
	{"Chain", testChain},
	{"Has", testHas},
	{"Date", testDate},
	{"Number", testNumber},
	{"Quantity", testQuantity},
	{"URI", testURI},
	{"URICase", testURICase},
	{"Composite", testComposite},
	{"Missing", testMissing},
	{"ID", testID},
	{"LastUpdated", testLastUpdated},
	{"SeveralTypes", testSeveralTypes},

	// The shape of the answer.
	{"SortDate", testSortDate},
	{"SortString", testSortString},
	{"SortOther", testSortOther},
	{"PagingWhileWriting", testPagingWhileWriting},
	{"Total", testTotal},
	{"BadCursor", testBadCursor},
	{"Explain", testExplain},
	{"Include", testInclude},
	{"RevInclude", testRevInclude},

	// Keeping the index up to date.
	{"UpdateReplacesIndex", testUpdateReplacesIndex},
	{"DeleteRemoves", testDeleteRemoves},

	// Authorisation's restriction (karte.Restriction).
	{"Restrict", testRestrict},
	{"RestrictNested", testRestrictNested},
	{"RestrictIncludes", testRestrictIncludes},
	{"RestrictPaging", testRestrictPaging},
	{"RestrictChanges", testRestrictChanges},
	{"RestrictExplain", testRestrictExplain},
}

// t0 is the suite's clock: writes are one minute apart from it.
var t0 = time.Date(2024, time.March, 1, 9, 30, 0, 123_000_000, time.UTC)

// db is one subtest's database, with the versions written so far.
type db struct {
	t        *testing.T
	s        Store
	versions map[string]int64 // "Type/id" → current version
	writes   int
}

// put writes the next version of typ/id, one minute after the previous
// write, with the index made of entries (see index).
func (d *db) put(typ, id string, entries ...any) *karte.Resource {
	d.t.Helper()
	return d.putAt(t0.Add(time.Duration(d.writes)*time.Minute), typ, id, entries...)
}

// putAt writes the next version of typ/id at when.
func (d *db) putAt(when time.Time, typ, id string, entries ...any) *karte.Resource {
	d.t.Helper()
	return d.putIndex(when, typ, id, index(entries...))
}

// putIndex writes the next version of typ/id at when with index ix.
func (d *db) putIndex(when time.Time, typ, id string, ix *karte.Index) *karte.Resource {
	d.t.Helper()
	d.writes++
	key := typ + "/" + id
	v := d.versions[key] + 1
	r := &karte.Resource{
		Type: typ, ID: id, VersionID: v, LastUpdated: when, Method: "PUT",
		Body: fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d"}}`, typ, id, v),
	}
	if err := d.s.Write(d.t.Context(), func(tx karte.Tx) error { return tx.Put(d.t.Context(), r, ix) }); err != nil {
		d.t.Fatalf("put %s/_history/%d: %v", key, v, err)
	}
	d.versions[key] = v
	return r
}

// del deletes typ/id.
func (d *db) del(typ, id string) {
	d.t.Helper()
	d.writes++
	key := typ + "/" + id
	v := d.versions[key] + 1
	r := &karte.Resource{Type: typ, ID: id, VersionID: v, Method: "DELETE", Deleted: true,
		LastUpdated: t0.Add(time.Duration(d.writes) * time.Minute)}
	if err := d.s.Write(d.t.Context(), func(tx karte.Tx) error { return tx.Put(d.t.Context(), r, nil) }); err != nil {
		d.t.Fatalf("delete %s: %v", key, err)
	}
	d.versions[key] = v
}

// search runs q and fails the test on error.
func (d *db) search(q *karte.Query) *karte.SearchResult {
	d.t.Helper()
	res, err := d.s.Search(d.t.Context(), q)
	if err != nil {
		d.t.Fatalf("search %s: %v", show(q), err)
	}
	return res
}

// expect checks that q (with a page of 100 unless it sets Count) matches
// the resources want ("Type/id"), in any order.
func (d *db) expect(what string, q *karte.Query, want ...string) {
	d.t.Helper()
	if q.Count == 0 {
		q.Count = 100
	}
	got := refs(d.search(q).Matches)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		d.t.Errorf("%s: matches %v, want %v\n\tquery %s", what, got, want, show(q))
	}
}

// known is expect for a case where the engines are known to disagree: it
// logs the difference instead of failing.
func (d *db) known(what string, q *karte.Query, want ...string) {
	d.t.Helper()
	q.Count = 100
	got := refs(d.search(q).Matches)
	slices.Sort(got)
	if want = slices.Sorted(slices.Values(want)); !slices.Equal(got, want) {
		d.t.Logf("known disagreement, %s: matches %v, want %v\n\tquery %s", what, got, want, show(q))
	}
}

// expectOrder checks that q matches want in that order, on one page.
func (d *db) expectOrder(what string, q *karte.Query, want ...string) {
	d.t.Helper()
	if q.Count == 0 {
		q.Count = 100
	}
	if got := refs(d.search(q).Matches); !slices.Equal(got, want) {
		d.t.Errorf("%s: matches %v, want %v in that order\n\tquery %s", what, got, want, show(q))
	}
}

// refs names resources "Type/id".
func refs(rs []*karte.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Type + "/" + r.ID
	}
	return out
}

// show renders a query for messages.
func show(q *karte.Query) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", q.Types)
	for _, cl := range q.Where {
		b.WriteString(" AND (")
		for i, c := range cl {
			if i > 0 {
				b.WriteString(" OR ")
			}
			fmt.Fprintf(&b, "%+v", c)
		}
		b.WriteString(")")
	}
	if len(q.Sort) > 0 {
		fmt.Fprintf(&b, " sort %+v", q.Sort)
	}
	return b.String()
}

// query is a search of one type that all clauses must match.
func query(typ string, clauses ...karte.Clause) *karte.Query {
	return &karte.Query{Types: []string{typ}, Where: clauses}
}

// anyOf is a clause that holds if any of its conditions does.
func anyOf(cs ...karte.Condition) karte.Clause { return cs }

// one is a clause of one condition.
func one(c karte.Condition) karte.Clause { return karte.Clause{c} }

// index makes a karte.Index of entries of its entry types.
func index(entries ...any) *karte.Index {
	ix := &karte.Index{}
	for _, e := range entries {
		switch e := e.(type) {
		case karte.StringEntry:
			ix.Strings = append(ix.Strings, e)
		case karte.TokenEntry:
			ix.Tokens = append(ix.Tokens, e)
		case karte.ReferenceEntry:
			ix.References = append(ix.References, e)
		case karte.DateEntry:
			ix.Dates = append(ix.Dates, e)
		case karte.NumberEntry:
			ix.Numbers = append(ix.Numbers, e)
		case karte.URIEntry:
			ix.URIs = append(ix.URIs, e)
		case karte.CompositeEntry:
			ix.Composites = append(ix.Composites, e)
		case karte.Identifier:
			ix.Identifiers = append(ix.Identifiers, e)
		default:
			panic(fmt.Sprintf("searchtest: %T is no index entry", e))
		}
	}
	return ix
}

// str is a string entry: value folded as package search folds (here:
// lower case), exact as written.
func str(param, exact string) karte.StringEntry {
	return karte.StringEntry{Param: param, Value: strings.ToLower(exact), Exact: exact}
}

// tok is a token entry.
func tok(param, system, code, text string) karte.TokenEntry {
	return karte.TokenEntry{Param: param, System: system, Code: code, Text: text}
}

// ref is a reference entry to a local resource.
func ref(param, typ, id string) karte.ReferenceEntry {
	return karte.ReferenceEntry{Param: param, Type: typ, ID: id}
}

// period is a date entry covering [lo, hi).
func period(param string, lo, hi time.Time) karte.DateEntry {
	return karte.DateEntry{Param: param, Lo: lo.UnixMilli(), Hi: hi.UnixMilli()}
}

// day is the period of one calendar day, "2006-01-02".
func day(param, s string) karte.DateEntry {
	lo, hi := dayRange(s)
	return karte.DateEntry{Param: param, Lo: lo, Hi: hi}
}

// dayRange is the period of day s in unix milliseconds.
func dayRange(s string) (lo, hi int64) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli(), t.AddDate(0, 0, 1).UnixMilli()
}

// num is a number entry.
func num(param string, v float64) karte.NumberEntry {
	return karte.NumberEntry{Param: param, Value: v}
}
