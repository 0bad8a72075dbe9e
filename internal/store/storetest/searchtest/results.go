package searchtest

import (
	"fmt"
	"slices"
	"strings"

	"kartehub/internal/karte"
)

// pages runs q page by page, count matches a page, calling between (if
// not nil) before each page after the first, and returns all matches in
// order.
func (d *db) pages(q *karte.Query, count int, between func(page int)) []string {
	d.t.Helper()
	q.Count, q.After = count, ""
	var all []string
	for page := 1; ; page++ {
		if page > 100 {
			d.t.Fatalf("more than 100 pages of %d: the cursor does not advance", count)
		}
		res := d.search(q)
		if len(res.Matches) > count || (res.Next != "" && len(res.Matches) != count) {
			d.t.Fatalf("page %d: %d matches with cursor %q, want a full page of %d before the last",
				page, len(res.Matches), res.Next, count)
		}
		all = append(all, refs(res.Matches)...)
		if res.Next == "" {
			return all
		}
		q.After = res.Next
		if between != nil {
			between(page)
		}
	}
}

// sorted is a query of typ ordered by keys.
func sorted(typ string, keys ...karte.SortKey) *karte.Query {
	return &karte.Query{Types: []string{typ}, Sort: keys}
}

// expectPaged checks that q gives want in order both on one page and page
// by page for every page size up to len(want).
func (d *db) expectPaged(what string, q *karte.Query, want ...string) {
	d.t.Helper()
	d.expectOrder(what, q, want...)
	for count := 1; count <= len(want); count++ {
		if got := d.pages(q, count, nil); !slices.Equal(got, want) {
			d.t.Errorf("%s, %d a page: %v, want %v", what, count, got, want)
		}
	}
}

// testSortDate: by the earliest value ascending and the latest descending,
// resources without a value last either way, ties by age of the resource.
func testSortDate(d *db) {
	d.put("Patient", "a", day("birthdate", "2000-05-01"))
	d.put("Patient", "b", day("birthdate", "1990-01-01"))
	d.put("Patient", "c", day("birthdate", "2010-01-01"))
	d.put("Patient", "d")
	d.put("Patient", "e", day("birthdate", "2000-05-01"))
	d.put("Patient", "f", day("birthdate", "1985-01-01"), day("birthdate", "2020-01-01"))
	d.put("Patient", "g")

	bd := karte.SortKey{Param: "birthdate", Kind: karte.KindDate}
	d.expectPaged("birthdate ascending", sorted("Patient", bd),
		"Patient/f", "Patient/b", "Patient/a", "Patient/e", "Patient/c", "Patient/d", "Patient/g")
	bd.Descending = true
	d.expectPaged("birthdate descending", sorted("Patient", bd),
		"Patient/f", "Patient/c", "Patient/a", "Patient/e", "Patient/b", "Patient/d", "Patient/g")

	q := sorted("Patient", bd)
	lo, hi := dayRange("2000-01-01")
	q.Where = []karte.Clause{one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Op: karte.Ge, Lo: lo, Hi: hi})}
	d.expectPaged("descending, filtered by the same parameter", q, "Patient/f", "Patient/c", "Patient/a", "Patient/e")
}

func mustDay(s string) int64 {
	lo, _ := dayRange(s)
	return lo
}

// testSortString: strings sort by their folded values, byte for byte.
func testSortString(d *db) {
	d.put("Patient", "zed", str("name", "Zed"), tok("gender", "", "male", ""))
	d.put("Patient", "adam", str("name", "adam"), str("name", "Young"), tok("gender", "", "male", ""))
	d.put("Patient", "emile", karte.StringEntry{Param: "name", Value: "émile", Exact: "Émile"}, tok("gender", "", "female", ""))
	d.put("Patient", "none", tok("gender", "", "female", ""))
	d.put("Patient", "bob", str("name", "bob"), tok("gender", "", "male", ""))
	d.put("Patient", "bob2", str("name", "Bob"))

	name := karte.SortKey{Param: "name", Kind: karte.KindString}
	d.expectPaged("name ascending", sorted("Patient", name),
		"Patient/adam", "Patient/bob", "Patient/bob2", "Patient/zed", "Patient/emile", "Patient/none")
	name.Descending = true
	d.expectPaged("name descending", sorted("Patient", name),
		"Patient/emile", "Patient/zed", "Patient/adam", "Patient/bob", "Patient/bob2", "Patient/none")

	gender := karte.SortKey{Param: "gender", Kind: karte.KindToken}
	d.expectPaged("gender, then name descending", sorted("Patient", gender, name),
		"Patient/emile", "Patient/none", "Patient/zed", "Patient/adam", "Patient/bob", "Patient/bob2")

	q := sorted("Patient", karte.SortKey{Param: "name", Kind: karte.KindString})
	q.Where = []karte.Clause{one(karte.Condition{Param: "gender", Kind: karte.KindToken, String: "male", AnySystem: true})}
	d.expectPaged("filtered", q, "Patient/adam", "Patient/bob", "Patient/zed")
}

// testSortOther: numbers (whose cursors carry floats), _id, _lastUpdated,
// references and uris.
func testSortOther(d *db) {
	d.put("RiskAssessment", "r1", num("probability", 1.5), ref("subject", "Patient", "b"), karte.URIEntry{Param: "url", URI: "urn:b"})
	d.put("RiskAssessment", "r2", num("probability", 2), ref("subject", "Patient", "a"))
	d.put("RiskAssessment", "r0", num("probability", -3.25), ref("subject", "Patient", "c"), karte.URIEntry{Param: "url", URI: "urn:a"})
	d.put("RiskAssessment", "r4")
	d.put("RiskAssessment", "r3", num("probability", 2), num("probability", 1e6))
	d.put("RiskAssessment", "r5", num("probability", 0.1))
	d.put("RiskAssessment", "r1", num("probability", 1.5), ref("subject", "Patient", "b")) // now the latest

	p := karte.SortKey{Param: "probability", Kind: karte.KindNumber}
	d.expectPaged("number ascending", sorted("RiskAssessment", p),
		"RiskAssessment/r0", "RiskAssessment/r5", "RiskAssessment/r1", "RiskAssessment/r2", "RiskAssessment/r3", "RiskAssessment/r4")
	p.Descending = true
	d.expectPaged("number descending", sorted("RiskAssessment", p),
		"RiskAssessment/r3", "RiskAssessment/r2", "RiskAssessment/r1", "RiskAssessment/r5", "RiskAssessment/r0", "RiskAssessment/r4")
	d.expectPaged("_id", sorted("RiskAssessment", karte.SortKey{Param: "_id", Kind: karte.KindID}),
		"RiskAssessment/r0", "RiskAssessment/r1", "RiskAssessment/r2", "RiskAssessment/r3", "RiskAssessment/r4", "RiskAssessment/r5")
	d.expectPaged("_lastUpdated descending", sorted("RiskAssessment",
		karte.SortKey{Param: "_lastUpdated", Kind: karte.KindLastUpdated, Descending: true}),
		"RiskAssessment/r1", "RiskAssessment/r5", "RiskAssessment/r3", "RiskAssessment/r4", "RiskAssessment/r0", "RiskAssessment/r2")
	d.expectPaged("reference", sorted("RiskAssessment", karte.SortKey{Param: "subject", Kind: karte.KindReference}),
		"RiskAssessment/r2", "RiskAssessment/r1", "RiskAssessment/r0", "RiskAssessment/r4", "RiskAssessment/r3", "RiskAssessment/r5")
	d.expectPaged("uri descending", sorted("RiskAssessment", karte.SortKey{Param: "url", Kind: karte.KindURI, Descending: true}),
		"RiskAssessment/r0", "RiskAssessment/r1", "RiskAssessment/r2", "RiskAssessment/r4", "RiskAssessment/r3", "RiskAssessment/r5")
}

// testPagingWhileWriting: pages cut by cursors neither skip nor repeat a
// resource when others are written between them; new resources that sort
// before the cursor do not appear.
func testPagingWhileWriting(d *db) {
	dates := []string{"2001-01-01", "1999-01-01", "2005-06-01", "2001-01-01", "", "1999-01-01", "2010-01-01", "2003-03-03", ""}
	for i, s := range dates {
		entries := []any{str("name", fmt.Sprintf("Smith %d", i))}
		if s != "" {
			entries = append(entries, day("birthdate", s))
		}
		d.put("Patient", fmt.Sprintf("p%d", i), entries...)
	}
	d.put("Patient", "jones", str("name", "Jones"), day("birthdate", "2002-01-01"))
	round := 0
	for _, tc := range []struct {
		what   string
		desc   bool
		filter bool
	}{{"ascending", false, false}, {"descending", true, false}, {"ascending, filtered", false, true}, {"descending, filtered", true, true}} {
		// Each round writes resources that sort before and after all
		// written so far, those of earlier rounds included.
		round++
		first, last := fmt.Sprintf("%d-01-01", 1500-10*round), fmt.Sprintf("%d-01-01", 2100+round)
		if tc.desc {
			first, last = fmt.Sprintf("%d-01-01", 2500+10*round), fmt.Sprintf("%d-01-01", 1900-round)
		}
		q := sorted("Patient", karte.SortKey{Param: "birthdate", Kind: karte.KindDate, Descending: tc.desc})
		if tc.filter {
			q.Where = []karte.Clause{one(karte.Condition{Param: "name", Kind: karte.KindString, String: "smith"})}
		}
		q.Count = 100
		before := refs(d.search(q).Matches)
		got := d.pages(q, 2, func(page int) {
			if page > 3 {
				return // let the paging end
			}
			// One resource that sorts first, one last, one without a date.
			d.put("Patient", fmt.Sprintf("first%d-%d", round, page), str("name", "Smith"), day("birthdate", first))
			d.put("Patient", fmt.Sprintf("last%d-%d", round, page), str("name", "Smith"), day("birthdate", last))
			d.put("Patient", fmt.Sprintf("undated%d-%d", round, page), str("name", "Smith"))
		})
		seen := map[string]bool{}
		var old []string
		for _, r := range got {
			if seen[r] {
				d.t.Errorf("%s: %s twice in %v", tc.what, r, got)
			}
			seen[r] = true
			if strings.HasPrefix(r, fmt.Sprintf("Patient/first%d-", round)) {
				d.t.Errorf("%s: %s, written after the first page and sorting before it, appears", tc.what, r)
			}
			if slices.Contains(before, r) {
				old = append(old, r)
			}
		}
		if !slices.Equal(old, before) {
			d.t.Errorf("%s: the resources there before paging came as %v, want %v", tc.what, old, before)
		}
		if l := fmt.Sprintf("Patient/last%d-1", round); !seen[l] {
			d.t.Errorf("%s: %s, which sorts after the cursor, is missing from %v", tc.what, l, got)
		}
	}
}

// testTotal: Total counts all matches whatever the page, only when asked.
func testTotal(d *db) {
	for i := range 5 {
		d.put("Patient", fmt.Sprintf("s%d", i), str("name", "Smith"))
	}
	d.put("Patient", "j", str("name", "Jones"))
	d.put("Patient", "gone", str("name", "Smith"))
	d.del("Patient", "gone")

	q := query("Patient", one(karte.Condition{Param: "name", Kind: karte.KindString, String: "smith"}))
	q.Total, q.Count = true, 2
	res := d.search(q)
	if res.Total != 5 || len(res.Matches) != 2 || res.Next == "" {
		d.t.Errorf("page 1: Total %d, %d matches, cursor %q; want 5, 2 and a cursor", res.Total, len(res.Matches), res.Next)
	}
	q.After = res.Next
	if res := d.search(q); res.Total != 5 || len(res.Matches) != 2 {
		d.t.Errorf("page 2: Total %d, %d matches; want 5 and 2", res.Total, len(res.Matches))
	}
	q.After, q.Count = "", 0
	if res := d.search(q); res.Total != 5 || len(res.Matches) != 0 || res.Next != "" {
		d.t.Errorf("Count 0: Total %d, %d matches, cursor %q; want 5 and nothing else", res.Total, len(res.Matches), res.Next)
	}
	q.Total, q.Count = false, 10
	if res := d.search(q); res.Total != -1 || len(res.Matches) != 5 || res.Next != "" {
		d.t.Errorf("no total asked: Total %d, %d matches; want -1 and 5", res.Total, len(res.Matches))
	}
	all := &karte.Query{Types: []string{"Patient"}, Total: true}
	if res := d.search(all); res.Total != 6 {
		d.t.Errorf("all patients: Total %d, want 6", res.Total)
	}
}

// testBadCursor: a cursor that is not one, or is of another search, is
// Invalid.
func testBadCursor(d *db) {
	d.put("Patient", "a", str("name", "A"))
	d.put("Patient", "b", str("name", "B"))
	q := sorted("Patient", karte.SortKey{Param: "name", Kind: karte.KindString})
	q.Count = 1
	next := d.search(q).Next
	if next == "" {
		d.t.Fatal("no cursor after a page of 1 of 2")
	}
	for _, tc := range []struct {
		what string
		q    *karte.Query
	}{
		{"garbage", &karte.Query{Types: []string{"Patient"}, Count: 1, After: "!!not a cursor"}},
		{"another sort", &karte.Query{Types: []string{"Patient"}, Count: 1, After: next}},
	} {
		if _, err := d.s.Search(d.t.Context(), tc.q); !karte.IsKind(err, karte.Invalid) {
			d.t.Errorf("%s: error %v, want kind Invalid", tc.what, err)
		}
	}
}

// testExplain: Explain describes the plan and still answers.
func testExplain(d *db) {
	d.put("Patient", "a", str("name", "Ann"))
	q := query("Patient", one(karte.Condition{Param: "name", Kind: karte.KindString, String: "ann"}))
	q.Explain, q.Count = true, 10
	res := d.search(q)
	if !strings.Contains(res.Plan, "drive from clause 0") || strings.Count(res.Plan, "\n") < 3 {
		d.t.Errorf("plan %q: want the planner's notes and the engine's plan", res.Plan)
	}
	if len(res.Matches) != 1 {
		d.t.Errorf("explained search: %d matches, want 1", len(res.Matches))
	}
}

// expectIncluded checks the matches and the included resources of q, each
// in any order.
func (d *db) expectIncluded(what string, q *karte.Query, matches, included []string) {
	d.t.Helper()
	if q.Count == 0 {
		q.Count = 100
	}
	res := d.search(q)
	got, inc := refs(res.Matches), refs(res.Included)
	slices.Sort(got)
	slices.Sort(inc)
	slices.Sort(matches)
	slices.Sort(included)
	if !slices.Equal(got, matches) {
		d.t.Errorf("%s: matches %v, want %v", what, got, matches)
	}
	if !slices.Equal(inc, included) {
		d.t.Errorf("%s: included %v, want %v", what, inc, included)
	}
}

// testInclude: _include adds the live targets of the matches' references,
// once each, not the matches themselves; :iterate follows them on.
func testInclude(d *db) {
	d.put("Organization", "acme")
	d.put("Patient", "p1", ref("organization", "Organization", "acme"))
	d.put("Patient", "p2")
	d.put("Group", "g1")
	d.put("Practitioner", "dr")
	d.put("Observation", "o1", ref("subject", "Patient", "p1"), ref("performer", "Practitioner", "dr"))
	d.put("Observation", "o2", ref("subject", "Patient", "p2"))
	d.put("Observation", "o3", ref("subject", "Patient", "p1"))
	d.put("Observation", "o4", ref("subject", "Group", "g1"))
	d.put("Observation", "o5", ref("subject", "Patient", "missing"))
	d.put("Observation", "o6", ref("has-member", "Observation", "o1"), ref("subject", "Patient", "p2"))
	d.put("Patient", "gone")
	d.put("Observation", "o7", ref("subject", "Patient", "gone"))
	d.del("Patient", "gone")

	obs := []string{"Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4", "Observation/o5",
		"Observation/o6", "Observation/o7"}
	subject := karte.Include{Type: "Observation", Param: "subject"}
	q := &karte.Query{Types: []string{"Observation"}, Include: []karte.Include{subject}}
	d.expectIncluded("subject", q, obs, []string{"Patient/p1", "Patient/p2", "Group/g1"})

	patients := subject
	patients.TargetType = "Patient"
	q = &karte.Query{Types: []string{"Observation"}, Include: []karte.Include{patients}}
	d.expectIncluded("subject:Patient", q, obs, []string{"Patient/p1", "Patient/p2"})

	q = &karte.Query{Types: []string{"Observation"}, Include: []karte.Include{{Type: "Observation", Param: "has-member"}}}
	d.expectIncluded("a target that is a match", q, obs, nil)

	id := func(s string) []karte.Clause {
		return []karte.Clause{one(karte.Condition{Param: "_id", Kind: karte.KindID, String: s})}
	}
	org := karte.Include{Type: "Patient", Param: "organization"}
	q = &karte.Query{Types: []string{"Observation"}, Where: id("o1"), Include: []karte.Include{subject, org}}
	d.expectIncluded("organization without :iterate", q, []string{"Observation/o1"}, []string{"Patient/p1"})
	org.Iterate = true
	q = &karte.Query{Types: []string{"Observation"}, Where: id("o1"), Include: []karte.Include{subject, org}}
	d.expectIncluded("organization:iterate", q, []string{"Observation/o1"}, []string{"Patient/p1", "Organization/acme"})

	q = &karte.Query{Types: []string{"Observation"}, Where: id("o1"),
		Include: []karte.Include{subject, {Type: "Observation", Param: "performer"}}}
	d.expectIncluded("two includes", q, []string{"Observation/o1"}, []string{"Patient/p1", "Practitioner/dr"})

	q = &karte.Query{Types: []string{"Observation"}, Where: id("o6"),
		Include: []karte.Include{{Type: "Observation", Param: "has-member", Iterate: true}, subject}}
	d.expectIncluded("iterate over the same type", q, []string{"Observation/o6"},
		[]string{"Observation/o1", "Patient/p2"})
	subject.Iterate = true
	q = &karte.Query{Types: []string{"Observation"}, Where: id("o6"),
		Include: []karte.Include{{Type: "Observation", Param: "has-member", Iterate: true}, subject}}
	d.expectIncluded("iterate over the same type, both", q, []string{"Observation/o6"},
		[]string{"Observation/o1", "Patient/p1", "Patient/p2"})
	subject.Iterate = false

	// Includes are of the page's matches only.
	q = sorted("Observation", karte.SortKey{Param: "_id", Kind: karte.KindID})
	q.Include, q.Count = []karte.Include{subject}, 2
	res := d.search(q)
	if got := slices.Sorted(slices.Values(refs(res.Included))); !slices.Equal(got, []string{"Patient/p1", "Patient/p2"}) {
		d.t.Errorf("first page of o1, o2: included %v, want [Patient/p1 Patient/p2]", got)
	}
	q.After = res.Next
	if got := slices.Sorted(slices.Values(refs(d.search(q).Included))); !slices.Equal(got, []string{"Group/g1", "Patient/p1"}) {
		d.t.Errorf("second page of o3, o4: included %v, want [Group/g1 Patient/p1]", got)
	}
}

// testRevInclude: _revinclude adds the live resources that refer to the
// matches; :iterate ones also those that refer to what was added.
func testRevInclude(d *db) {
	d.put("Patient", "p1")
	d.put("Patient", "p2")
	d.put("Patient", "p3")
	d.put("Group", "p1")
	d.put("Observation", "o1", ref("subject", "Patient", "p1"))
	d.put("Observation", "o2", ref("subject", "Patient", "p1"))
	d.put("Observation", "o3", ref("subject", "Patient", "p2"))
	d.put("Observation", "o4", ref("subject", "Group", "p1"))
	d.put("Observation", "o5", ref("subject", "Patient", "p1"))
	d.del("Observation", "o5")
	d.put("Provenance", "v1", ref("target", "Observation", "o1"))
	d.put("Provenance", "v2", ref("target", "Patient", "p3"))
	d.put("Provenance", "v3", ref("target", "Provenance", "v1"))

	id := func(s string) []karte.Clause {
		return []karte.Clause{one(karte.Condition{Param: "_id", Kind: karte.KindID, String: s})}
	}
	subject := karte.Include{Type: "Observation", Param: "subject", Reverse: true}
	target := karte.Include{Type: "Provenance", Param: "target", Reverse: true}
	patients := []string{"Patient/p1", "Patient/p2", "Patient/p3"}

	q := &karte.Query{Types: []string{"Patient"}, Where: id("p1"), Include: []karte.Include{subject}}
	d.expectIncluded("Observation:subject of p1", q, []string{"Patient/p1"}, []string{"Observation/o1", "Observation/o2"})
	q = &karte.Query{Types: []string{"Patient"}, Include: []karte.Include{subject}}
	d.expectIncluded("Observation:subject", q, patients, []string{"Observation/o1", "Observation/o2", "Observation/o3"})
	q = &karte.Query{Types: []string{"Patient"}, Include: []karte.Include{subject, target}}
	d.expectIncluded("two revincludes", q, patients,
		[]string{"Observation/o1", "Observation/o2", "Observation/o3", "Provenance/v2"})
	target.Iterate = true
	q = &karte.Query{Types: []string{"Patient"}, Include: []karte.Include{subject, target}}
	d.expectIncluded("Provenance:target:iterate", q, patients,
		[]string{"Observation/o1", "Observation/o2", "Observation/o3", "Provenance/v2", "Provenance/v1", "Provenance/v3"})
	q = &karte.Query{Types: []string{"Group"}, Include: []karte.Include{subject}}
	d.expectIncluded("Observation:subject of a Group", q, []string{"Group/p1"}, []string{"Observation/o4"})
}

// testUpdateReplacesIndex: a new version's index replaces the previous
// one's, whole.
func testUpdateReplacesIndex(d *db) {
	d.put("Organization", "acme")
	d.put("Patient", "p", str("name", "Smith"), day("birthdate", "2000-01-01"), ref("organization", "Organization", "acme"))
	d.put("Patient", "q", str("name", "Smith"))
	name := func(s string) *karte.Query {
		return query("Patient", one(karte.Condition{Param: "name", Kind: karte.KindString, String: s}))
	}
	d.expect("before the update", name("smith"), "Patient/p", "Patient/q")

	d.put("Patient", "p", str("name", "Jones"))
	d.expect("old value", name("smith"), "Patient/q")
	d.expect("new value", name("jones"), "Patient/p")
	d.expect("a parameter the new version lacks", query("Patient",
		one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Op: karte.Exists, Missing: true})), "Patient/p", "Patient/q")
	q := &karte.Query{Types: []string{"Organization"}, Include: []karte.Include{{Type: "Patient", Param: "organization", Reverse: true}}}
	d.expectIncluded("a reference the new version lacks", q, []string{"Organization/acme"}, nil)
	res := d.search(&karte.Query{Types: []string{"Patient"}, Where: name("jones").Where, Count: 10})
	if len(res.Matches) != 1 || res.Matches[0].VersionID != 2 || !strings.Contains(string(res.Matches[0].Body), `"versionId":"2"`) {
		d.t.Errorf("match after the update: %v, want version 2 with its body", res.Matches)
	}

	// A nil index, and several versions in one Write.
	err := d.s.Write(d.t.Context(), func(tx karte.Tx) error {
		for v, ix := range []*karte.Index{nil, index(str("name", "Brown")), index(str("name", "Black"))} {
			r := &karte.Resource{Type: "Patient", ID: "p", VersionID: int64(3 + v), LastUpdated: t0, Method: "PUT", Body: []byte("{}")}
			if err := tx.Put(d.t.Context(), r, ix); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	d.versions["Patient/p"] = 5
	d.expect("after three versions in one Write", name("b"), "Patient/p")
	d.expect("the last of them", name("black"), "Patient/p")
	d.expect("not the one before", name("brown"))
	named := &karte.Query{Types: []string{"Patient"},
		Where: []karte.Clause{one(karte.Condition{Param: "name", Kind: karte.KindString, Op: karte.Exists})}}
	d.put("Patient", "p")
	d.expect("after an empty index", named, "Patient/q")
	d.put("Patient", "p", str("name", "White"))
	d.putIndex(t0, "Patient", "p", nil)
	d.expect("after a nil index", named, "Patient/q")
}

// testDeleteRemoves: a deleted resource matches nothing, is included by
// nothing, and comes back when written again.
func testDeleteRemoves(d *db) {
	d.put("Patient", "p", str("name", "Smith"))
	d.put("Patient", "q", str("name", "Smith"))
	d.put("Observation", "o", ref("subject", "Patient", "p"))
	smith := func() *karte.Query {
		return query("Patient", one(karte.Condition{Param: "name", Kind: karte.KindString, String: "smith"}))
	}
	d.del("Patient", "p")
	d.expect("by name", smith(), "Patient/q")
	d.expect("by _id", query("Patient", one(karte.Condition{Param: "_id", Kind: karte.KindID, String: "p"})))
	d.expect("all", &karte.Query{Types: []string{"Patient"}}, "Patient/q")
	d.expect("by chain", query("Observation", one(karte.Condition{Param: "subject", Kind: karte.KindReference,
		Chain: smith()})))
	d.expect("by reference, which still refers", query("Observation",
		one(karte.Condition{Param: "subject", Kind: karte.KindReference, RefType: "Patient", RefID: "p"})), "Observation/o")
	d.expectIncluded("by _include", &karte.Query{Types: []string{"Observation"},
		Include: []karte.Include{{Type: "Observation", Param: "subject"}}}, []string{"Observation/o"}, nil)
	q := smith()
	q.Total = true
	if res := d.search(q); res.Total != 1 {
		d.t.Errorf("Total after the deletion: %d, want 1", res.Total)
	}

	d.put("Patient", "p", str("name", "Smithers"))
	d.expect("written again", smith(), "Patient/p", "Patient/q")
	d.expectIncluded("included again", &karte.Query{Types: []string{"Observation"},
		Include: []karte.Include{{Type: "Observation", Param: "subject"}}}, []string{"Observation/o"}, []string{"Patient/p"})
	res := d.search(&karte.Query{Types: []string{"Patient"}, Where: []karte.Clause{one(karte.Condition{Param: "_id",
		Kind: karte.KindID, String: "p"})}, Count: 1})
	if len(res.Matches) != 1 || res.Matches[0].VersionID != 3 {
		d.t.Errorf("written again: %v, want version 3", res.Matches)
	}

	// The deletion of a resource with no index rows, and of one never
	// searched for.
	d.put("Patient", "bare")
	d.del("Patient", "bare")
	d.expect("all at the end", &karte.Query{Types: []string{"Patient"}}, "Patient/p", "Patient/q")
	// Unsorted matches come in the order the resources were created; one
	// written again after its deletion counts as new.
	d.expectOrder("order of creation", &karte.Query{Types: []string{"Patient"}}, "Patient/q", "Patient/p")
	d.put("Patient", "q", str("name", "Smith"))
	d.expectOrder("an update keeps the place", &karte.Query{Types: []string{"Patient"}}, "Patient/q", "Patient/p")
}
