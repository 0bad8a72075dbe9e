package fhirapi_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// compartments are the links of the R4 CompartmentDefinitions for the
// types of the dataset, as JSON paths: compartment type → resource type →
// paths of the references that put a resource in it. "" is the
// compartment's own resource ({def}).
var compartments = map[string]map[string][]string{
	"Patient": {
		"Patient":           {"", "link.other"},
		"Observation":       {"subject", "performer"},
		"Encounter":         {"subject"},
		"MedicationRequest": {"subject"},
		"Condition":         {"subject", "asserter"},
		"Provenance":        {"target"}, // patient: target.where(resolve() is Patient)
		"RiskAssessment":    {"subject"},
		"List":              {"subject", "source"},
	},
	"Encounter": {
		"Encounter":         {""},
		"Observation":       {"encounter"},
		"Condition":         {"encounter"},
		"MedicationRequest": {"encounter"},
	},
	"Practitioner": {
		"Practitioner":      {""},
		"Observation":       {"performer"},
		"MedicationRequest": {"requester"},
		"Encounter":         {"participant.individual"},
		"Condition":         {"asserter"},
		"Provenance":        {"agent.who"},
		"Patient":           {"generalPractitioner"},
		"List":              {"source"},
		"RiskAssessment":    {"performer"},
	},
}

// inCompartment returns the resources of typ in the compartment of key
// ("Patient/pat-kanji"), by the model's links.
func (d *dataset) inCompartment(key, typ string) []string {
	ctype, _, _ := strings.Cut(key, "/")
	paths := compartments[ctype][typ]
	return d.where(typ, func(r *res) bool {
		for _, p := range paths {
			if p == "" && r.key() == key || p != "" && r.refersTo(p, key) {
				return true
			}
		}
		return false
	})
}

// TestSearchCompartment covers GET [base]/{compartment}/{id}/{type}, with
// and without parameters, and paging inside a compartment.
func TestSearchCompartment(t *testing.T) {
	s := newSearchServer(t)
	for _, c := range []struct {
		key, typ, params string
		match            func(r *res) bool
	}{
		{"Patient/pat-kanji", "Observation", "", nil},
		{"Patient/pat-kana", "Observation", "", nil},
		{"Patient/pat-kanji", "Observation", "code=85354-9", func(r *res) bool { return tokenMatch(r.codings("code"), "85354-9") }},
		{"Patient/pat-kanji", "Observation", "date=2024-04", func(r *res) bool { return r.anyDate(t, "2024-04", "effectiveDateTime", "effectivePeriod") }},
		{"Patient/pat-kana", "Encounter", "", nil},
		{"Patient/pat-kanji", "MedicationRequest", "", nil},
		{"Patient/pat-kanji", "MedicationRequest", "medication.code=2171022F1093", func(r *res) bool {
			return slices.ContainsFunc(s.d.targets(r, "medicationReference"), func(m *res) bool { return tokenMatch(m.codings("code"), "2171022F1093") })
		}},
		{"Patient/pat-kana", "Provenance", "", nil},
		{"Patient/pat-kanji", "Patient", "", nil},
		{"Patient/pat-yamamoto", "Condition", "", nil},
		{"Patient/nobody", "Observation", "", nil},
		{"Encounter/enc-1", "Observation", "", nil},
		{"Encounter/enc-2", "MedicationRequest", "", nil},
		{"Practitioner/prac-sato", "Observation", "", nil},
		{"Practitioner/prac-sato", "MedicationRequest", "", nil},
		{"Practitioner/prac-sato", "Patient", "", nil},
	} {
		q := c.key + "/" + c.typ
		if c.params != "" {
			q += "?" + c.params
		}
		t.Run(q, func(t *testing.T) {
			want := s.d.inCompartment(c.key, c.typ)
			if c.match != nil {
				want = slices.DeleteFunc(want, func(k string) bool { return !c.match(s.d.byKey[k]) })
			}
			s.wantMatches(t, q, want)
		})
	}
	t.Run("paged", func(t *testing.T) {
		want := s.d.sorted(t, s.d.inCompartment("Patient/pat-kanji", "Observation"), byID())
		got, _ := s.allPages(t, "Patient/pat-kanji/Observation?_sort=_id&_count=2", nil)
		if !slices.Equal(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
	t.Run("not in the compartment", func(t *testing.T) {
		s.get(t, "/fhir/Patient/pat-kanji/Medication").wantOutcome(t, http.StatusBadRequest, "", "")
	})
	t.Run("not a compartment", func(t *testing.T) {
		s.get(t, "/fhir/Medication/med-metformin/Observation").wantOutcome(t, http.StatusNotFound, "", "")
	})
}

// everything returns the model of Patient/id/$everything: the Patient and
// every resource of its compartment.
func (d *dataset) everything(key string, types ...string) []string {
	var out []string
	for _, typ := range slices.Sorted(maps.Keys(compartments["Patient"])) {
		if len(types) == 0 || slices.Contains(types, typ) {
			out = append(out, d.inCompartment(key, typ)...)
		}
	}
	return out
}

// TestSearchEverything covers Patient/$everything: all of the patient's
// compartment, paged with _count and the next links, narrowed by _type and
// _since. Resources beyond the compartment may come too, as FHIR allows,
// but only those that the compartment's resources refer to.
func TestSearchEverything(t *testing.T) {
	s := newSearchServer(t)
	check := func(t *testing.T, got, want []string) {
		t.Helper()
		seen := map[string]bool{}
		for _, k := range got {
			if seen[k] {
				t.Errorf("%s twice", k)
			}
			seen[k] = true
		}
		for _, k := range want {
			if !seen[k] {
				t.Errorf("%s missing", k)
			}
		}
		for _, k := range got {
			if slices.Contains(want, k) {
				continue
			}
			referenced := false
			for _, w := range want {
				if r := s.d.byKey[w]; r != nil && slices.Contains(allRefs(r), k) {
					referenced = true
				}
			}
			if !referenced {
				t.Errorf("%s is neither in the compartment nor referenced from it", k)
			}
		}
	}
	for _, id := range []string{"pat-kanji", "pat-kana", "pat-noname"} {
		key := "Patient/" + id
		t.Run(id, func(t *testing.T) {
			r := s.get(t, "/fhir/"+key+"/$everything")
			r.wantStatus(t, http.StatusOK)
			check(t, r.matchKeys(t), s.d.everything(key))
		})
		t.Run(id+" _count=2", func(t *testing.T) {
			got, _ := s.allPages(t, key+"/$everything?_count=2", nil)
			check(t, got, s.d.everything(key))
		})
	}
	t.Run("_count=1 _type", func(t *testing.T) {
		got, _ := s.allPages(t, "Patient/pat-kanji/$everything?_count=1&_type=Observation,Condition", nil)
		want := s.d.everything("Patient/pat-kanji", "Observation", "Condition")
		if diff := sameSet(got, want); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("_since", func(t *testing.T) {
		time.Sleep(5 * time.Millisecond)
		body := maps.Clone(s.d.byKey["Observation/obs-bp1"].json)
		body["status"] = "amended"
		upd := s.mustPut(t, "Observation", "obs-bp1", mustJSON(t, body))
		since := formatInstant(instant(t, upd.str(t, "meta.lastUpdated")))
		r := s.get(t, query("Patient/pat-kanji/$everything?_since="+since))
		r.wantStatus(t, http.StatusOK)
		if got := r.matchKeys(t); !slices.Equal(got, []string{"Observation/obs-bp1"}) {
			t.Errorf("got %v, want [Observation/obs-bp1]", got)
		}
	})
	t.Run("unknown patient", func(t *testing.T) {
		s.get(t, "/fhir/Patient/nobody/$everything").wantOutcome(t, http.StatusNotFound, "", "")
	})
}

// allRefs returns every literal reference in a resource.
func allRefs(r *res) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "reference" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(r.json)
	return out
}

// TestSearchSystem covers the search of several types at once: _type with
// common and shared parameters, and no _type at all.
func TestSearchSystem(t *testing.T) {
	s := newSearchServer(t)
	either := func(types []string, match func(r *res) bool) []string {
		var out []string
		for _, typ := range types {
			out = append(out, s.d.where(typ, match)...)
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"?_type=Patient,Observation&_tag=" + tagSystem + "|study-a", either([]string{"Patient", "Observation"}, func(r *res) bool {
			return tokenMatch(metaCodings("meta.tag")(r), tagSystem+"|study-a")
		})},
		{"?_id=pat-kanji,obs-glu1,nothing", []string{"Patient/pat-kanji", "Observation/obs-glu1"}},
		{"?_type=Patient,Practitioner&name=一郎", either([]string{"Patient", "Practitioner"}, func(r *res) bool {
			return startsWith(r.nameParts("name"), "一郎")
		})},
		{"?_type=Encounter,Condition&subject=Patient/pat-kanji", either([]string{"Encounter", "Condition"}, func(r *res) bool {
			return r.refersTo("subject", "Patient/pat-kanji")
		})},
		{"?_type=Observation,Condition&_profile=http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_LabResult", []string{"Observation/obs-glu1"}},
		{"?_type=ValueSet&url:below=http://kartehub.example", either([]string{"ValueSet"}, func(r *res) bool {
			return strings.HasPrefix(strings.Join(r.strs("url"), ""), "http://kartehub.example/")
		})},
	} {
		t.Run(c.query, func(t *testing.T) {
			r := s.get(t, query(c.query))
			r.wantStatus(t, http.StatusOK)
			if diff := sameSet(r.matchKeys(t), c.want); diff != "" {
				t.Errorf("%s\ngot  %v\nwant %v", diff, r.matchKeys(t), c.want)
			}
		})
	}
	t.Run("_type=Patient,Nothing", func(t *testing.T) {
		r := s.get(t, "/fhir?_type=Patient,Nothing")
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s, want a client error\n%s", r, r.body)
		}
	})
}

// TestSearchPost covers POST [type]/_search with a form body, alone and
// with URL parameters, and the media types it refuses.
func TestSearchPost(t *testing.T) {
	s := newSearchServer(t)
	form := h{"Content-Type", "application/x-www-form-urlencoded"}
	t.Run("form", func(t *testing.T) {
		r := s.do(t, "POST", "/fhir/Patient/_search", "family=%E5%B1%B1&_sort=birthdate", form)
		r.wantStatus(t, http.StatusOK)
		want := s.d.sorted(t, names("family", startsWith, "山")(t, s.d), byDate(false, "birthDate"))
		if got := r.matchKeys(t); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("form and query", func(t *testing.T) {
		r := s.do(t, "POST", "/fhir/Observation/_search?code=2345-7", "subject=Patient%2Fpat-kanji", form)
		r.wantStatus(t, http.StatusOK)
		want := s.d.where("Observation", func(r *res) bool {
			return tokenMatch(r.codings("code"), "2345-7") && r.refersTo("subject", "Patient/pat-kanji")
		})
		if diff := sameSet(r.matchKeys(t), want); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("same as GET, paged", func(t *testing.T) {
		r := s.do(t, "POST", "/fhir/Observation/_search", "_sort=_id&_count=2", form)
		r.wantStatus(t, http.StatusOK)
		got := r.matchKeys(t)
		for next := r.nextLink(); next != ""; {
			p := s.get(t, next)
			p.wantStatus(t, http.StatusOK)
			got = append(got, p.matchKeys(t)...)
			next = p.nextLink()
		}
		if want := s.d.sorted(t, s.d.all("Observation"), byID()); !slices.Equal(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
		// The self link is the same search as a GET.
		self := ""
		for _, l := range r.get("link").([]any) {
			if str(l, "relation") == "self" {
				self = str(l, "url")
			}
		}
		again := s.get(t, self)
		again.wantStatus(t, http.StatusOK)
		if got, want := again.matchKeys(t), r.matchKeys(t); !slices.Equal(got, want) {
			t.Errorf("self link %s: got %v, want %v", self, got, want)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		s.do(t, "POST", "/fhir/Patient/_search", `{"family":"山"}`, h{"Content-Type", "application/json"}).
			wantOutcome(t, http.StatusUnsupportedMediaType, "", "")
	})
}

// outcomeEntries returns the OperationOutcomes of entries with search.mode
// outcome.
func (r *response) outcomeEntries(tb testing.TB) []map[string]any {
	var out []map[string]any
	for _, e := range r.entries(tb) {
		if str(e, "search.mode") == "outcome" {
			oo, _ := e["resource"].(map[string]any)
			out = append(out, oo)
		}
	}
	return out
}

// TestSearchHandling covers unknown parameters: ignored with a warning in
// the searchset by default (lenient), refused with 400 under Prefer:
// handling=strict. Known parameters used wrongly are errors either way.
func TestSearchHandling(t *testing.T) {
	s := newSearchServer(t)
	strictly := []string{"Prefer", "handling=strict"}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"Patient?family=山&nonsense=1", names("family", startsWith, "山")(t, s.d)},
		{"Patient?family=山&_sort=nonsense", names("family", startsWith, "山")(t, s.d)},
		{"Observation?subject:Patient.nonsense=1&code=85354-9", nil}, // checked apart below
	} {
		t.Run(c.query, func(t *testing.T) {
			lenient := s.get(t, query(c.query))
			strict := s.get(t, query(c.query), strictly...)
			if strings.Contains(c.query, ".nonsense") {
				// An unknown parameter in a chain is not one the client
				// can leave out: either refusal is right, or a warning.
				if lenient.status != http.StatusOK {
					lenient.wantOutcome(t, http.StatusBadRequest, "", "")
				} else if len(lenient.outcomeEntries(t)) == 0 {
					t.Errorf("lenient: the chain was ignored without a warning\n%s", lenient.body)
				}
				strict.wantOutcome(t, http.StatusBadRequest, "", "")
				return
			}
			lenient.wantStatus(t, http.StatusOK)
			if diff := sameSet(lenient.matchKeys(t), c.want); diff != "" {
				t.Errorf("lenient: %s", diff)
			}
			oos := lenient.outcomeEntries(t)
			if len(oos) != 1 {
				t.Fatalf("lenient: %d outcome entries, want 1\n%s", len(oos), lenient.body)
			}
			checkOutcome(t, lenient.String(), oos[0], "", "")
			if sev := str(oos[0], "issue[0].severity"); sev != "warning" {
				t.Errorf("lenient: severity %q, want warning", sev)
			}
			lenient.wantValid(t)
			strict.wantOutcome(t, http.StatusBadRequest, "", "")
		})
	}
	t.Run("no warning without unknown parameters", func(t *testing.T) {
		r := s.search(t, "Patient?family=山", strictly...)
		if oos := r.outcomeEntries(t); len(oos) != 0 {
			t.Errorf("outcome entries %v", oos)
		}
	})
}

// TestSearchErrors covers searches that are wrong, in lenient handling as
// well: each is a 400 with an OperationOutcome.
func TestSearchErrors(t *testing.T) {
	s := newSearchServer(t)
	for _, q := range []string{
		"Patient?birthdate=not-a-date",
		"Patient?birthdate=xx1970",
		"Patient?birthdate=1970-13",
		"Patient?birthdate=1970-05-03T25:00:00Z",
		"Patient?birthdate=",
		"Patient?birthdate:exact=1970",
		"RiskAssessment?probability=zz0.5",
		"RiskAssessment?probability=gtabc",
		"RiskAssessment?probability:missing=maybe",
		"Observation?value-quantity=abc|http://unitsofmeasure.org|mg/dL",
		"Observation?value-quantity:contains=5",
		"Patient?family:nonsense=山",
		"Patient?gender:contains=male",
		"Patient?gender:exact=male",
		"Patient?_id:exact=pat-kanji",
		"ValueSet?url:contains=kartehub",
		"Observation?subject:nonsense=pat-kanji",
		"Observation?subject:Patient=Group/g1",
		"Observation?subject=Nonsense/x",
		"Patient?identifier:of-type=MR",
		"Observation?component-code-value-quantity=8480-6",
		"Observation?component-code-value-quantity:exact=8480-6$140",
		"Observation?code:in=http://kartehub.example/fhir/ValueSet/none",
		"Patient?family.name=x",
		"Observation?subject:Nonsense.name=x",
		"Patient?_has:Observation:code=x",
		"Patient?_has:Observation:code:status=final",
		"Patient?_has:Nonsense:subject:code=x",
		"Patient?_include=Patient:name",
		"Patient?_include=Nonsense:subject",
		"Patient?_include=Patient",
		"Observation?_sort=component-code-value-quantity",
		"Patient?_count=abc",
		"Patient?_count=-1",
		"Patient?_total=maybe",
		"Patient?_summary=everything",
		"Patient?_cursor=garbage",
		"Patient?_sort=birthdate&_cursor=eyJrIjpbXSwiciI6MX0",
	} {
		t.Run(q, func(t *testing.T) {
			s.get(t, query(q)).wantOutcome(t, http.StatusBadRequest, "", "")
		})
	}
}

// TestSearchSystemIncludeSort covers _include, _revinclude and _sort in a
// search of several types: each applies to the matches of every type, not
// only of the first type named in _type.
func TestSearchSystemIncludeSort(t *testing.T) {
	s := newSearchServer(t)
	matches := []string{"Patient/pat-kana", "Observation/obs-glu1"}
	for _, c := range []struct {
		query string
		incs  []include
	}{
		{"?_type=Patient,Observation&_id=pat-kana,obs-glu1&_include=Observation:subject",
			[]include{{from: "Observation", path: "subject"}}},
		{"?_type=Observation,Patient&_id=pat-kana,obs-glu1&_include=Observation:subject",
			[]include{{from: "Observation", path: "subject"}}},
		{"?_type=Patient,Observation&_id=pat-kana,obs-glu1&_revinclude=Provenance:target",
			[]include{{from: "Provenance", path: "target", reverse: true}}},
		{"?_id=pat-kana,obs-glu1&_include=Observation:subject&_include=Patient:organization",
			[]include{{from: "Observation", path: "subject"}, {from: "Patient", path: "managingOrganization"}}},
	} {
		t.Run(c.query, func(t *testing.T) {
			r := s.get(t, query(c.query))
			r.wantStatus(t, http.StatusOK)
			if diff := sameSet(r.matchKeys(t), matches); diff != "" {
				t.Errorf("matches: %s", diff)
			}
			if diff := sameSet(r.modeKeys(t, "include"), s.d.included(matches, c.incs)); diff != "" {
				t.Errorf("includes: %s\ngot  %v", diff, r.modeKeys(t, "include"))
			}
		})
	}
	t.Run("_sort=date,_id", func(t *testing.T) {
		var keys []string
		for _, typ := range []string{"Encounter", "Observation"} {
			keys = append(keys, s.d.where(typ, func(r *res) bool { return r.refersTo("subject", "Patient/pat-kanji") })...)
		}
		want := s.d.sorted(t, keys, byDate(false, "period", "effectiveDateTime", "effectivePeriod"), byID())
		r := s.get(t, query("?_type=Encounter,Observation&subject=Patient/pat-kanji&_sort=date,_id"))
		r.wantStatus(t, http.StatusOK)
		if got := r.matchKeys(t); !slices.Equal(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
}
