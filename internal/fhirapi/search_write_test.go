package fhirapi_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestSearchAfterWrites covers the index as resources change: an update
// replaces the old values, a deletion removes the resource from matches,
// includes and _has, and the references to it still match.
func TestSearchAfterWrites(t *testing.T) {
	s := newSearchServer(t)

	body := maps.Clone(s.d.byKey["Patient/pat-nakayama"].json)
	body["name"] = []any{map[string]any{"family": "中川", "given": []any{"美咲"}}}
	s.mustPut(t, "Patient", "pat-nakayama", mustJSON(t, body))
	s.wantMatches(t, "Patient?family=中山", nil)
	s.wantMatches(t, "Patient?family=中川", []string{"Patient/pat-nakayama"})
	s.wantMatches(t, "Patient?family:contains=山", []string{"Patient/pat-kanji", "Patient/pat-yamamoto"})

	s.del(t, "/fhir/Organization/org-sakura").wantStatus(t, http.StatusNoContent)
	s.del(t, "/fhir/Provenance/prov-2").wantStatus(t, http.StatusNoContent)
	s.wantMatches(t, "Organization?name=さくら", nil)
	s.wantMatches(t, "Patient?_has:Provenance:target:agent=Organization/org-sakura", nil)
	// References to a deleted resource are still references.
	s.wantMatches(t, "Patient?organization=Organization/org-sakura", s.d.where("Patient", func(r *res) bool {
		return r.refersTo("managingOrganization", "Organization/org-sakura")
	}))
	r := s.search(t, "Patient?_include=Patient:organization")
	if inc := r.modeKeys(t, "include"); slices.Contains(inc, "Organization/org-sakura") || !slices.Contains(inc, "Organization/org-tokyo") {
		t.Errorf("includes after deleting org-sakura: %v", inc)
	}
	// A chain through a deleted resource finds nothing.
	s.wantMatches(t, "Patient?organization.name=さくら", nil)

	// Deleted and recreated: found again, with the new values.
	s.mustPut(t, "Organization", "org-sakura", `{"resourceType":"Organization","id":"org-sakura","name":"さくら医院"}`)
	s.wantMatches(t, "Organization?name=さくら医院", []string{"Organization/org-sakura"})
	s.wantMatches(t, "Patient?organization.name=さくら医院", s.d.where("Patient", func(r *res) bool {
		return r.refersTo("managingOrganization", "Organization/org-sakura")
	}))
}

// TestSearchTransactionReferences covers resources written by a
// transaction with urn:uuid references: the index holds the references as
// the server resolved them.
func TestSearchTransactionReferences(t *testing.T) {
	s := newServer(t)
	r := s.post(t, "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"fullUrl":"urn:uuid:2b0a5e8c-1f4d-4c3a-9e2b-7d6c5b4a3f21",
		 "resource":{"resourceType":"Patient","name":[{"family":"ﾀﾅｶ"}]},
		 "request":{"method":"POST","url":"Patient"}},
		{"fullUrl":"urn:uuid:8e7d6c5b-4a3f-4e2d-9c1b-0a9f8e7d6c5b",
		 "resource":{"resourceType":"Encounter","status":"finished",
		   "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		   "subject":{"reference":"urn:uuid:2b0a5e8c-1f4d-4c3a-9e2b-7d6c5b4a3f21"}},
		 "request":{"method":"POST","url":"Encounter"}},
		{"resource":{"resourceType":"Observation","status":"final",
		   "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
		   "subject":{"reference":"urn:uuid:2b0a5e8c-1f4d-4c3a-9e2b-7d6c5b4a3f21"},
		   "encounter":{"reference":"urn:uuid:8e7d6c5b-4a3f-4e2d-9c1b-0a9f8e7d6c5b"}},
		 "request":{"method":"POST","url":"Observation"}}]}`)
	r.wantStatus(t, http.StatusOK)
	var keys []string
	for _, e := range r.entries(t) {
		loc, _, _ := strings.Cut(str(e, "response.location"), "/_history")
		segs := strings.Split(loc, "/")
		if len(segs) < 2 {
			t.Fatalf("location %q", loc)
		}
		keys = append(keys, strings.Join(segs[len(segs)-2:], "/"))
	}
	if len(keys) != 3 {
		t.Fatalf("locations %v", keys)
	}
	pat, enc, obs := keys[0], keys[1], keys[2]
	ss := &searchServer{server: s}
	ss.wantMatches(t, "Observation?subject="+pat, []string{obs})
	ss.wantMatches(t, "Observation?encounter="+enc, []string{obs})
	ss.wantMatches(t, "Observation?subject:Patient.name=たなか", []string{obs})
	ss.wantMatches(t, "Patient?_has:Encounter:subject:_has:Observation:encounter:code=2345-7", []string{pat})
	ss.wantMatches(t, pat+"/Observation", []string{obs})
}

// TestSearchForeignReference covers references to another server's
// resources: an Observation whose subject is
// https://other-hospital.example/fhir/Patient/pat-kanji is about another
// hospital's patient, who only shares an id with ours. It must not turn up
// in our pat-kanji's searches, compartment or $everything; a search for
// the absolute URL finds it.
func TestSearchForeignReference(t *testing.T) {
	s := newSearchServer(t)
	const foreign = "https://other-hospital.example/fhir/Patient/pat-kanji"
	id := s.mustCreate(t, "Observation", `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
		"subject":{"reference":"`+foreign+`"}}`)
	ours := s.d.where("Observation", func(r *res) bool { return r.refersTo("subject", "Patient/pat-kanji") })
	s.wantMatches(t, "Observation?subject="+foreign, []string{"Observation/" + id})
	s.wantMatches(t, "Observation?subject=Patient/pat-kanji", ours)
	s.wantMatches(t, "Patient/pat-kanji/Observation", ours)
	r := s.get(t, "/fhir/Patient/pat-kanji/$everything")
	r.wantStatus(t, http.StatusOK)
	if slices.Contains(r.matchKeys(t), "Observation/"+id) {
		t.Errorf("$everything of our pat-kanji holds the other hospital's Observation/%s", id)
	}
}
