package fhirapi_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// include is an _include or _revinclude as the model applies it: for
// _include, the resources that resources of from refer to at path (of
// type target, if given); for _revinclude, the resources of from that
// refer at path to a resource already found.
type include struct {
	from, path, target string
	reverse, iterate   bool
}

// included returns the Type/id of the resources that incs add to matches:
// each include applies to the matches, and :iterate ones also to what
// includes found, until nothing new turns up. Matches are not repeated.
func (d *dataset) included(matches []string, incs []include) []string {
	seen := map[string]bool{}
	for _, m := range matches {
		seen[m] = true
	}
	var out []string
	frontier := matches
	for round := 0; len(frontier) > 0; round++ {
		var next []string
		add := func(k string) {
			if !seen[k] && d.byKey[k] != nil {
				seen[k] = true
				next = append(next, k)
			}
		}
		for _, inc := range incs {
			if round > 0 && !inc.iterate {
				continue
			}
			for _, k := range frontier {
				r := d.byKey[k]
				if !inc.reverse {
					if r.typ != inc.from {
						continue
					}
					for _, ref := range r.refs(inc.path) {
						if inc.target == "" || strings.HasPrefix(ref, inc.target+"/") {
							add(ref)
						}
					}
					continue
				}
				for _, x := range d.list {
					if x.typ == inc.from && x.refersTo(inc.path, k) {
						add(x.key())
					}
				}
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}

// TestSearchInclude covers _include and _revinclude, with target types and
// :iterate: matches come with search.mode match, the resources they bring
// with search.mode include, each once.
func TestSearchInclude(t *testing.T) {
	s := newSearchServer(t)
	obsOf := func(patient string) []string {
		return s.d.where("Observation", func(r *res) bool { return r.refersTo("subject", patient) })
	}
	for _, c := range []struct {
		query   string
		matches []string
		incs    []include
	}{
		{"Observation?code=85354-9&_include=Observation:subject",
			s.d.where("Observation", func(r *res) bool { return tokenMatch(r.codings("code"), "85354-9") }),
			[]include{{from: "Observation", path: "subject"}}},
		{"Observation?subject=Patient/pat-kanji&_include=Observation:subject:Patient",
			obsOf("Patient/pat-kanji"),
			[]include{{from: "Observation", path: "subject", target: "Patient"}}},
		{"Observation?_id=obs-glu1&_include=Observation:performer&_include=Observation:encounter",
			[]string{"Observation/obs-glu1"},
			[]include{{from: "Observation", path: "performer"}, {from: "Observation", path: "encounter"}}},
		{"Observation?_id=obs-glu1&_include=Observation:subject:Group", []string{"Observation/obs-glu1"}, nil},
		{"MedicationRequest?_include=MedicationRequest:medication",
			s.d.all("MedicationRequest"),
			[]include{{from: "MedicationRequest", path: "medicationReference"}}},
		{"MedicationRequest?_include=MedicationRequest:subject&_include:iterate=Patient:organization",
			s.d.all("MedicationRequest"),
			[]include{{from: "MedicationRequest", path: "subject"}, {from: "Patient", path: "managingOrganization", iterate: true}}},
		{"Encounter?_include=Encounter:location&_include:iterate=Location:organization",
			s.d.all("Encounter"),
			[]include{{from: "Encounter", path: "location.location"}, {from: "Location", path: "managingOrganization", iterate: true}}},
		// Without :iterate, Location:organization applies to the matches
		// only, and they are Encounters.
		{"Encounter?_include=Encounter:location&_include=Location:organization",
			s.d.all("Encounter"),
			[]include{{from: "Encounter", path: "location.location"}, {from: "Location", path: "managingOrganization"}}},
		{"Patient?_id=pat-kana&_revinclude=Provenance:target",
			[]string{"Patient/pat-kana"},
			[]include{{from: "Provenance", path: "target", reverse: true}}},
		{"Patient?_id=pat-kanji&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target",
			[]string{"Patient/pat-kanji"},
			[]include{{from: "Observation", path: "subject", reverse: true}, {from: "Provenance", path: "target", reverse: true, iterate: true}}},
		{"Patient?_id=pat-kanji,pat-kana&_revinclude=Condition:subject&_revinclude=MedicationRequest:subject",
			[]string{"Patient/pat-kanji", "Patient/pat-kana"},
			[]include{{from: "Condition", path: "subject", reverse: true}, {from: "MedicationRequest", path: "subject", reverse: true}}},
		{"Medication?_revinclude=MedicationRequest:medication&_include:iterate=MedicationRequest:subject",
			s.d.all("Medication"),
			[]include{{from: "MedicationRequest", path: "medicationReference", reverse: true}, {from: "MedicationRequest", path: "subject", iterate: true}}},
		{"Patient?name=やまだ&_revinclude=Observation:patient&_include=Patient:organization",
			[]string{"Patient/pat-kana"},
			[]include{{from: "Observation", path: "subject", reverse: true}, {from: "Patient", path: "managingOrganization"}}},
	} {
		t.Run(c.query, func(t *testing.T) {
			r := s.search(t, c.query)
			if diff := sameSet(r.matchKeys(t), c.matches); diff != "" {
				t.Errorf("matches: %s\ngot  %v\nwant %v", diff, r.matchKeys(t), c.matches)
			}
			want := s.d.included(c.matches, c.incs)
			if diff := sameSet(r.modeKeys(t, "include"), want); diff != "" {
				t.Errorf("includes: %s\ngot  %v\nwant %v", diff, r.modeKeys(t, "include"), want)
			}
			// Matches come first, then what they include.
			modes := []string{}
			for _, e := range r.entries(t) {
				modes = append(modes, str(e, "search.mode"))
			}
			if i := slices.Index(modes, "include"); i >= 0 && slices.Contains(modes[i:], "match") {
				t.Errorf("a match after an include: %v", modes)
			}
		})
	}
	// Includes come with each page, for that page's matches, and do not
	// count towards _count.
	t.Run("paged", func(t *testing.T) {
		var all []string
		r := s.search(t, "Observation?code=85354-9&_include=Observation:subject&_count=1")
		for {
			m := r.matchKeys(t)
			if len(m) != 1 {
				t.Fatalf("%s: %d matches, want 1", r, len(m))
			}
			all = append(all, m...)
			if diff := sameSet(r.modeKeys(t, "include"), s.d.included(m, []include{{from: "Observation", path: "subject"}})); diff != "" {
				t.Errorf("%s: includes: %s", r, diff)
			}
			next := r.nextLink()
			if next == "" {
				break
			}
			r = s.get(t, next)
			r.wantStatus(t, http.StatusOK)
		}
		want := s.d.where("Observation", func(r *res) bool { return tokenMatch(r.codings("code"), "85354-9") })
		if diff := sameSet(all, want); diff != "" {
			t.Errorf("pages: %s", diff)
		}
	})
}

// sortKey gives the value that a resource sorts by in one direction: the
// lowest of its values ascending, the highest descending (ok false: none).
type sortKey struct {
	desc bool
	key  func(t testing.TB, r *res, desc bool) (any, bool)
}

// sorted orders keys by the sort keys; resources without a value sort last
// whichever the direction.
func (d *dataset) sorted(t testing.TB, keys []string, by ...sortKey) []string {
	out := slices.Clone(keys)
	slices.SortStableFunc(out, func(a, b string) int {
		for _, k := range by {
			va, oka := k.key(t, d.byKey[a], k.desc)
			vb, okb := k.key(t, d.byKey[b], k.desc)
			switch {
			case !oka && !okb:
				continue
			case !oka:
				return 1
			case !okb:
				return -1
			}
			c := compareAny(va, vb)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

func compareAny(a, b any) int {
	switch a := a.(type) {
	case string:
		return cmp.Compare(a, b.(string))
	case int64:
		return cmp.Compare(a, b.(int64))
	case float64:
		return cmp.Compare(a, b.(float64))
	}
	panic(fmt.Sprintf("cannot compare %T", a))
}

// pick returns the lowest value ascending, the highest descending.
func pick[T cmp.Ordered](values []T, desc bool) (any, bool) {
	if len(values) == 0 {
		return nil, false
	}
	if desc {
		return slices.Max(values), true
	}
	return slices.Min(values), true
}

func byID() sortKey { return byIDDir(false) }

func byIDDir(desc bool) sortKey {
	return sortKey{desc, func(_ testing.TB, r *res, _ bool) (any, bool) { return r.id, true }}
}

// byDate sorts by the start of the periods ascending, their end descending.
func byDate(desc bool, paths ...string) sortKey {
	return sortKey{desc, func(t testing.TB, r *res, desc bool) (any, bool) {
		var ends []int64
		for _, p := range r.periods(t, paths...) {
			if desc {
				ends = append(ends, p.hi)
			} else {
				ends = append(ends, p.lo)
			}
		}
		return pick(ends, desc)
	}}
}

func byString(desc bool, paths ...string) sortKey {
	return sortKey{desc, func(_ testing.TB, r *res, desc bool) (any, bool) {
		var folded []string
		for _, s := range r.strs(paths...) {
			folded = append(folded, foldText(s))
		}
		return pick(folded, desc)
	}}
}

func byCode(desc bool, path string) sortKey {
	return sortKey{desc, func(_ testing.TB, r *res, desc bool) (any, bool) { return pick(r.strs(path), desc) }}
}

func byNumber(desc bool, paths ...string) sortKey {
	return sortKey{desc, func(t testing.TB, r *res, desc bool) (any, bool) { return pick(r.numbers(t, paths...), desc) }}
}

// byQuantity sorts by values in their base unit, where the model knows it.
func byQuantity(desc bool, path string) sortKey {
	return sortKey{desc, func(t testing.TB, r *res, desc bool) (any, bool) {
		var vs []float64
		for _, q := range r.quantities(t, path) {
			if u, ok := ucumBase[q.code]; ok {
				vs = append(vs, q.value*u.factor)
			} else {
				vs = append(vs, q.value)
			}
		}
		return pick(vs, desc)
	}}
}

func byRefID(desc bool, path string) sortKey {
	return sortKey{desc, func(_ testing.TB, r *res, desc bool) (any, bool) {
		var ids []string
		for _, ref := range r.refs(path) {
			_, id, _ := strings.Cut(ref, "/")
			ids = append(ids, id)
		}
		return pick(ids, desc)
	}}
}

// TestSearchSort covers _sort on one and several keys of each kind, in
// both directions, with ties broken by a later key, and the same order
// kept across pages.
func TestSearchSort(t *testing.T) {
	s := newSearchServer(t)
	obs := []string{"effectiveDateTime", "effectivePeriod"}
	for _, c := range []struct {
		query string
		from  []string
		by    []sortKey
	}{
		{"Patient?_sort=birthdate", s.d.all("Patient"), []sortKey{byDate(false, "birthDate")}},
		{"Patient?_sort=-birthdate", s.d.all("Patient"), []sortKey{byDate(true, "birthDate")}},
		{"Patient?_sort=gender,-birthdate", s.d.all("Patient"), []sortKey{byCode(false, "gender"), byDate(true, "birthDate")}},
		{"Patient?_sort=-gender,birthdate", s.d.all("Patient"), []sortKey{byCode(true, "gender"), byDate(false, "birthDate")}},
		{"Patient?_sort=family,_id", s.d.all("Patient"), []sortKey{byString(false, "name.family"), byID()}},
		{"Patient?_sort=-family,_id", s.d.all("Patient"), []sortKey{byString(true, "name.family"), byID()}},
		{"Patient?_sort=-_id", s.d.all("Patient"), []sortKey{byIDDir(true)}},
		{"Patient?name=山&_sort=-birthdate", s.d.where("Patient", func(r *res) bool { return startsWith(r.nameParts("name"), "山") }),
			[]sortKey{byDate(true, "birthDate")}},
		{"Observation?_sort=-date,_id", s.d.all("Observation"), []sortKey{byDate(true, obs...), byID()}},
		{"Observation?_sort=date,-_id", s.d.all("Observation"), []sortKey{byDate(false, obs...), byIDDir(true)}},
		{"Observation?_sort=status,-date,_id", s.d.all("Observation"), []sortKey{byCode(false, "status"), byDate(true, obs...), byID()}},
		{"Observation?_sort=subject,_id", s.d.all("Observation"), []sortKey{byRefID(false, "subject"), byID()}},
		{"Observation?category=vital-signs&_sort=-code,_id", s.d.where("Observation", func(r *res) bool { return tokenMatch(r.codings("category"), "vital-signs") }),
			[]sortKey{{true, func(_ testing.TB, r *res, desc bool) (any, bool) { return pick(r.strs("code.coding.code"), desc) }}, byID()}},
		{"RiskAssessment?_sort=probability", s.d.all("RiskAssessment"), []sortKey{byNumber(false, "prediction.probabilityDecimal")}},
		{"RiskAssessment?_sort=-probability", s.d.all("RiskAssessment"), []sortKey{byNumber(true, "prediction.probabilityDecimal")}},
		{"Encounter?_sort=-date", s.d.all("Encounter"), []sortKey{byDate(true, "period")}},
		{"Encounter?_sort=date", s.d.all("Encounter"), []sortKey{byDate(false, "period")}},
		{"ValueSet?_sort=url", s.d.all("ValueSet"), []sortKey{byCode(false, "url")}},
	} {
		want := s.d.sorted(t, c.from, c.by...)
		t.Run(c.query, func(t *testing.T) { s.wantOrder(t, c.query, want) })
		// The same order, two at a time.
		t.Run(c.query+"&_count=2", func(t *testing.T) {
			got, _ := s.allPages(t, c.query+"&_count=2", nil)
			if !slices.Equal(got, want) {
				t.Errorf("wrong order across pages\ngot  %v\nwant %v", got, want)
			}
		})
	}
}

// TestSearchSortQuantityUnits covers _sort on a quantity given in several
// units: the glucose of 1.1 g/L (110 mg/dL) sorts after the one of 98
// mg/dL, as value-quantity=gt100|…|mg/dL also says it is larger.
func TestSearchSortQuantityUnits(t *testing.T) {
	s := newSearchServer(t)
	glucose := s.d.where("Observation", func(r *res) bool { return inValueSet(s.d, vsGlucose, r.codings("code")) })
	s.wantOrder(t, "Observation?code:in="+vsGlucose+"&_sort=value-quantity", s.d.sorted(t, glucose, byQuantity(false, "valueQuantity")))
}

// allPages follows the next links of a search from its first page and
// returns the matches of all pages in order. Before fetching page n (from
// 1), between(n) runs, if given. Every page but the last must be full.
func (s *searchServer) allPages(t testing.TB, readable string, between func(page int)) ([]string, []*response) {
	t.Helper()
	count := 0
	if _, v, ok := strings.Cut(readable, "_count="); ok {
		n, _, _ := strings.Cut(v, "&")
		count, _ = strconv.Atoi(n)
	}
	var got []string
	var pages []*response
	r := s.search(t, readable)
	for page := 1; ; page++ {
		pages = append(pages, r)
		m := r.matchKeys(t)
		got = append(got, m...)
		next := r.nextLink()
		if count > 0 && len(m) > count {
			t.Fatalf("%s: %d matches on a page of %d", r, len(m), count)
		}
		if next == "" {
			return got, pages
		}
		if count > 0 && len(m) != count {
			t.Errorf("%s: page %d has %d matches and a next link", r, page, len(m))
		}
		if page > 100 {
			t.Fatalf("%s: more than 100 pages", readable)
		}
		if between != nil {
			between(page)
		}
		r = s.get(t, next)
		r.wantStatus(t, http.StatusOK)
	}
}

// newObservation returns the body of a glucose Observation of pat-suzuki
// at the given time.
func newObservation(effective string) string {
	return `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
		"subject":{"reference":"Patient/pat-suzuki"},
		"effectiveDateTime":"` + effective + `",
		"valueQuantity":{"value":101,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}`
}

// TestSearchPagingWhileWriting follows next links with _count=2 to the
// end while resources are created between the pages: no page repeats or
// skips a match of the first page's search, the pages already served do
// not shift, and new resources that sort before the current position do
// not show up.
func TestSearchPagingWhileWriting(t *testing.T) {
	t.Run("default order", func(t *testing.T) {
		s := newSearchServer(t)
		want := s.d.all("Observation")
		var created []string
		got, pages := s.allPages(t, "Observation?_count=2&_total=accurate", func(page int) {
			created = append(created, "Observation/"+s.mustCreate(t, "Observation", newObservation("2024-01-0"+strconv.Itoa(1+page%9))))
		})
		if n := pages[0].num(t, "total"); n != len(want) {
			t.Errorf("total %d, want %d", n, len(want))
		}
		old := slices.DeleteFunc(slices.Clone(got), func(k string) bool { return slices.Contains(created, k) })
		if diff := sameSet(old, want); diff != "" {
			t.Errorf("the dataset's Observations across pages: %s\ngot %v", diff, got)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
			t.Errorf("a match on two pages: %v", got)
		}
	})
	t.Run("sorted", func(t *testing.T) {
		s := newSearchServer(t)
		obs := []string{"effectiveDateTime", "effectivePeriod"}
		want := s.d.sorted(t, s.d.all("Observation"), byDate(false, obs...), byID())
		var early, late []string
		got, _ := s.allPages(t, "Observation?_sort=date,_id&_count=2", func(page int) {
			// One before everything served, one after everything.
			early = append(early, "Observation/"+s.mustCreate(t, "Observation", newObservation(fmt.Sprintf("2001-01-%02dT00:00:00Z", page))))
			late = append(late, "Observation/"+s.mustCreate(t, "Observation", newObservation(fmt.Sprintf("2030-01-%02dT00:00:00Z", page))))
		})
		// The late ones come after the dataset's, in their own order
		// (their dates rise with the page).
		if !slices.Equal(got, append(want, late...)) {
			t.Errorf("pages while writing\ngot  %v\nwant %v (no early %v)", got, append(want, late...), early)
		}
	})
	t.Run("filtered, Japanese", func(t *testing.T) {
		s := newSearchServer(t)
		want := s.d.sorted(t, s.d.where("Patient", func(r *res) bool {
			return startsWith(r.nameParts("name"), "やま") || startsWith(r.nameParts("name"), "山")
		}),
			byDate(false, "birthDate"))
		got, _ := s.allPages(t, "Patient?name=やま,山&_sort=birthdate&_count=1", func(page int) {
			// A new Patient who matches, born before anyone served.
			s.mustCreate(t, "Patient", `{"resourceType":"Patient","name":[{"family":"やまね"}],"birthDate":"1900-01-0`+strconv.Itoa(page)+`"}`)
		})
		if !slices.Equal(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
	t.Run("deleted between pages", func(t *testing.T) {
		s := newSearchServer(t)
		all := s.d.sorted(t, s.d.all("Observation"), byID())
		gone := all[len(all)-1]
		got, _ := s.allPages(t, "Observation?_sort=_id&_count=2", func(page int) {
			if page == 1 {
				s.del(t, "/fhir/"+gone).wantStatus(t, http.StatusNoContent)
			}
		})
		if want := all[:len(all)-1]; !slices.Equal(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
}

// TestSearchTotal covers _total and _summary=count.
func TestSearchTotal(t *testing.T) {
	s := newSearchServer(t)
	glucose := s.d.where("Observation", func(r *res) bool { return tokenMatch(r.codings("code"), "2345-7") })
	for _, c := range []struct {
		query string
		total int // -1: none
	}{
		{"Observation?code=2345-7&_total=accurate", len(glucose)},
		{"Observation?code=2345-7&_total=accurate&_count=1", len(glucose)},
		{"Observation?code=2345-7&_total=estimate&_count=1", len(glucose)},
		{"Observation?code=2345-7&_total=none", -1},
		{"Observation?code=nothing&_total=accurate", 0},
		{"Patient?_total=accurate&_count=0", len(s.d.all("Patient"))},
	} {
		t.Run(c.query, func(t *testing.T) {
			r := s.search(t, c.query)
			if c.total < 0 {
				if r.get("total") != nil {
					t.Errorf("total %v, want none", r.get("total"))
				}
				return
			}
			if n := r.num(t, "total"); n != c.total {
				t.Errorf("total %d, want %d", n, c.total)
			}
		})
	}
	t.Run("_summary=count", func(t *testing.T) {
		r := s.search(t, "Observation?code=2345-7&_summary=count")
		if n := r.num(t, "total"); n != len(glucose) {
			t.Errorf("total %d, want %d", n, len(glucose))
		}
		if m := r.matchKeys(t); len(m) != 0 {
			t.Errorf("_summary=count returned matches %v", m)
		}
	})
	t.Run("_summary=count with _has", func(t *testing.T) {
		r := s.search(t, "Patient?_has:Observation:subject:code=85354-9&_summary=count")
		set := s.d.hasRef("Observation", "subject", func(o *res) bool { return tokenMatch(o.codings("code"), "85354-9") })
		if n := r.num(t, "total"); n != len(set) {
			t.Errorf("total %d, want %d", n, len(set))
		}
	})
}

const subsetted = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue|SUBSETTED"

// hasSubsetted reports whether a resource carries the SUBSETTED tag.
func hasSubsetted(resource any) bool {
	for _, tag := range vals(resource, "meta.tag") {
		m := tag.(map[string]any)
		if m["system"].(string)+"|"+m["code"].(string) == subsetted {
			return true
		}
	}
	return false
}

// TestSearchShape covers _elements and _summary=text|data: the members
// kept, and the SUBSETTED tag on what was cut.
func TestSearchShape(t *testing.T) {
	s := newSearchServer(t)
	members := func(resource any) []string {
		m, _ := resource.(map[string]any)
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	t.Run("_elements", func(t *testing.T) {
		r := s.search(t, "Patient?name=山&_elements=name,birthDate")
		for _, e := range r.entries(t) {
			res := e["resource"]
			key := str(res, "resourceType") + "/" + str(res, "id")
			orig := s.d.byKey[key]
			var want []string
			for _, k := range []string{"resourceType", "id", "meta", "name", "birthDate"} {
				if _, ok := orig.json[k]; ok || k == "meta" {
					want = append(want, k)
				}
			}
			slices.Sort(want)
			if got := members(res); !slices.Equal(got, want) {
				t.Errorf("%s: members %v, want %v", key, got, want)
			}
			if !hasSubsetted(res) {
				t.Errorf("%s: no SUBSETTED tag: %v", key, res)
			}
			if str(res, "name[0].family") != str(orig.json, "name[0].family") {
				t.Errorf("%s: name changed: %v", key, res)
			}
		}
		if diff := sameSet(r.matchKeys(t), names("name", startsWith, "山")(t, s.d)); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("_elements keeps tags", func(t *testing.T) {
		r := s.search(t, "Patient?_id=pat-kanji&_elements=gender")
		res := r.entries(t)[0]["resource"]
		if !hasSubsetted(res) || !slices.ContainsFunc(vals(res, "meta.tag"), func(v any) bool { return v.(map[string]any)["code"] == "study-a" }) {
			t.Errorf("tags: %v", vals(res, "meta.tag"))
		}
		if str(res, "gender") != "female" || lookup(res, "name") != nil {
			t.Errorf("members: %v", res)
		}
	})
	t.Run("_summary=data", func(t *testing.T) {
		r := s.search(t, "Patient?_id=pat-kanji,pat-kana&_summary=data")
		for _, e := range r.entries(t) {
			res := e["resource"]
			key := str(res, "resourceType") + "/" + str(res, "id")
			if lookup(res, "text") != nil {
				t.Errorf("%s: text kept", key)
			}
			if cut := s.d.byKey[key].has("text"); hasSubsetted(res) != cut {
				t.Errorf("%s: SUBSETTED %v, want %v", key, hasSubsetted(res), cut)
			}
			if str(res, "name[0].family") == "" {
				t.Errorf("%s: name lost", key)
			}
		}
	})
	t.Run("_summary=text", func(t *testing.T) {
		r := s.search(t, "Patient?_id=pat-kanji&_summary=text")
		res := r.entries(t)[0]["resource"]
		if str(res, "text.status") != "generated" || lookup(res, "name") != nil || !hasSubsetted(res) {
			t.Errorf("_summary=text: %v", res)
		}
	})
	t.Run("no shaping", func(t *testing.T) {
		r := s.search(t, "Patient?_id=pat-kanji")
		if hasSubsetted(r.entries(t)[0]["resource"]) {
			t.Error("SUBSETTED without _elements or _summary")
		}
	})
}

// TestSearchExplain covers _explain=true: the plan comes as an
// informational outcome entry, and the matches are the same.
func TestSearchExplain(t *testing.T) {
	s := newSearchServer(t)
	q := "Observation?code=2345-7&subject:Patient.name=やまだ&_explain=true"
	r := s.wantMatches(t, q, s.d.where("Observation", func(r *res) bool {
		return tokenMatch(r.codings("code"), "2345-7") && slices.ContainsFunc(s.d.targets(r, "subject"), func(p *res) bool {
			return startsWith(p.nameParts("name"), "やまだ")
		})
	}))
	var plan string
	for _, e := range r.entries(t) {
		if str(e, "search.mode") == "outcome" {
			plan = str(e, "resource.issue[0].diagnostics")
		}
	}
	if plan == "" {
		t.Errorf("no plan in %s", compact(r.body))
	}
}

// TestSearchLastUpdated covers _lastUpdated around the time the dataset was
// written, and after an update.
func TestSearchLastUpdated(t *testing.T) {
	s := newSearchServer(t)
	loaded := instant(t, s.search(t, "Patient?_id=pat-kanji").str(t, "entry[0].resource.meta.lastUpdated"))
	time.Sleep(5 * time.Millisecond)
	body := maps.Clone(s.d.byKey["Patient/pat-kana"].json)
	body["multipleBirthBoolean"] = false
	upd := s.mustPut(t, "Patient", "pat-kana", mustJSON(t, body))
	changed := instant(t, upd.str(t, "meta.lastUpdated"))
	if !changed.After(loaded) {
		t.Fatalf("update at %v, not after the load at %v", changed, loaded)
	}
	all := s.d.all("Patient")
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"Patient?_lastUpdated=ge" + formatInstant(changed), []string{"Patient/pat-kana"}},
		{"Patient?_lastUpdated=gt" + formatInstant(loaded), []string{"Patient/pat-kana"}},
		{"Patient?_lastUpdated=lt" + formatInstant(changed), slices.DeleteFunc(slices.Clone(all), func(k string) bool { return k == "Patient/pat-kana" })},
		{"Patient?_lastUpdated=le" + formatInstant(changed), all},
		{"Patient?_lastUpdated=" + formatInstant(loaded), slices.DeleteFunc(slices.Clone(all), func(k string) bool { return k == "Patient/pat-kana" })},
		{"Patient?_lastUpdated=gt" + formatInstant(changed.Add(time.Hour)), nil},
		{"Patient?_lastUpdated=ge" + loaded.Format("2006-01-02"), all},
	} {
		t.Run(c.query, func(t *testing.T) { s.wantMatches(t, c.query, c.want) })
	}
	t.Run("_sort=-_lastUpdated,_id", func(t *testing.T) {
		rest := s.d.sorted(t, slices.DeleteFunc(slices.Clone(all), func(k string) bool { return k == "Patient/pat-kana" }), byID())
		s.wantOrder(t, "Patient?_sort=-_lastUpdated,_id", append([]string{"Patient/pat-kana"}, rest...))
	})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
