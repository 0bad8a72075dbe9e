package fhirapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// bundle builds a batch or transaction Bundle from entry JSON texts.
func bundle(kind string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + kind + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// entry builds a Bundle entry; resource may be empty.
func entry(method, url, resource string, extra ...string) string {
	req := `"request":{"method":"` + method + `","url":"` + url + `"` + strings.Join(prefixed(extra), "") + `}`
	if resource == "" {
		return "{" + req + "}"
	}
	return `{"resource":` + resource + "," + req + "}"
}

func prefixed(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = "," + s
	}
	return out
}

// withFullURL adds a fullUrl to an entry built by entry.
func withFullURL(fullURL, e string) string {
	return `{"fullUrl":"` + fullURL + `",` + e[1:]
}

// wantEntryStatus checks response.status of entry i of a response Bundle.
func wantEntryStatus(tb testing.TB, r *response, i int, status string) map[string]any {
	tb.Helper()
	entries := r.entries(tb)
	if i >= len(entries) {
		tb.Fatalf("%s: no entry %d\n%s", r, i, r.body)
	}
	e := entries[i]
	if got := str(e, "response.status"); !strings.HasPrefix(got, status+" ") && got != status {
		tb.Errorf("%s: entry %d status %q, want %s\n%v", r, i, got, status, e)
	}
	return e
}

func observation(subject string) string {
	return `{"resourceType":"Observation","status":"final","code":{"text":"heart rate"},"subject":{"reference":"` + subject + `"},"valueQuantity":{"value":72,"unit":"/min"}}`
}

func TestBatch(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	existing := s.mustCreate(t, "Patient", patient(sys, "b0"))
	doomed := s.mustCreate(t, "Patient", patient(sys, "b1"))

	r := s.post(t, "/fhir/", bundle("batch",
		entry("POST", "Patient", patient(sys, "b2")),
		entry("POST", "Patient", `{"resourceType":"Patient","foo":1}`),
		entry("GET", "Patient/never-was", ""),
		entry("PUT", "Patient/fixed", patient(sys, "b3", `"id":"fixed"`)),
		entry("DELETE", "Patient/"+doomed, ""),
		entry("GET", "Patient/"+existing, ""),
		entry("GET", "Patient/fixed", ""),
		entry("PUT", "Patient/mismatch", patient(sys, "b4", `"id":"other"`)),
		entry("GET", "Patient/"+doomed, ""),
		entry("GET", "Patient/"+existing+"/_history/1", ""),
		entry("PATCH", "Patient/"+existing, `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"`+
			base64.StdEncoding.EncodeToString([]byte(`[{"op":"add","path":"/active","value":true}]`))+`"}`),
	))
	r.wantStatus(t, http.StatusOK)
	r.wantResource(t, "Bundle")
	if r.str(t, "type") != "batch-response" {
		t.Errorf("type %v, want batch-response", r.get("type"))
	}
	if n := len(r.entries(t)); n != 11 {
		t.Fatalf("%d entries, want 11 (one per request, in order)", n)
	}
	e := wantEntryStatus(t, r, 0, "201")
	if loc := str(e, "response.location"); !strings.HasPrefix(loc, "Patient/") || !strings.HasSuffix(loc, "/_history/1") {
		t.Errorf("entry 0: location %q", loc)
	}
	if str(e, "response.etag") != `W/"1"` {
		t.Errorf("entry 0: etag %q", str(e, "response.etag"))
	}
	e = wantEntryStatus(t, r, 1, "422")
	oo, _ := lookup(e, "response.outcome").(map[string]any)
	checkOutcome(t, "entry 1", oo, "structure", "Bundle.entry[1].resource.foo")
	e = wantEntryStatus(t, r, 2, "404")
	oo, _ = lookup(e, "response.outcome").(map[string]any)
	checkOutcome(t, "entry 2", oo, "not-found", "")
	wantEntryStatus(t, r, 3, "201")
	wantEntryStatus(t, r, 4, "204")
	e = wantEntryStatus(t, r, 5, "200")
	if str(e, "resource.id") != existing {
		t.Errorf("entry 5: GET gave %v", lookup(e, "resource"))
	}
	e = wantEntryStatus(t, r, 6, "200") // GETs run after PUTs
	if str(e, "resource.id") != "fixed" {
		t.Errorf("entry 6: GET gave %v", lookup(e, "resource"))
	}
	e = wantEntryStatus(t, r, 7, "400")
	oo, _ = lookup(e, "response.outcome").(map[string]any)
	checkOutcome(t, "entry 7", oo, "", "Bundle.entry[7]")
	wantEntryStatus(t, r, 8, "410") // GETs run after DELETEs
	wantEntryStatus(t, r, 9, "200")
	wantEntryStatus(t, r, 10, "200")

	// What succeeded is stored, what failed is not.
	s.get(t, "/fhir/Patient/fixed").wantStatus(t, http.StatusOK)
	s.get(t, "/fhir/Patient/"+doomed).wantStatus(t, http.StatusGone)
	s.get(t, "/fhir/Patient/mismatch").wantStatus(t, http.StatusNotFound)
	if s.get(t, "/fhir/Patient/"+existing).get("active") != true {
		t.Errorf("the PATCH entry was not applied")
	}
	if n := s.total(t, "/fhir/Patient/_history"); n != 2+1+1+1+1 {
		t.Errorf("Patient history total %d, want 6", n)
	}

	t.Run("Empty", func(t *testing.T) {
		r := s.post(t, "/fhir/", `{"resourceType":"Bundle","type":"batch"}`)
		r.wantStatus(t, http.StatusOK)
		if r.str(t, "type") != "batch-response" || len(r.entries(t)) != 0 {
			t.Errorf("empty batch:\n%s", r.body)
		}
	})
	t.Run("MinimalAndOutcome", func(t *testing.T) {
		r := s.post(t, "/fhir/", bundle("batch", entry("POST", "Patient", patient(sys, "b5"))), "Prefer", "return=minimal")
		r.wantStatus(t, http.StatusOK)
		e := wantEntryStatus(t, r, 0, "201")
		if lookup(e, "resource") != nil {
			t.Errorf("return=minimal: the entry has a resource")
		}
	})
	t.Run("BadBundles", func(t *testing.T) {
		before := s.total(t, "/fhir/_history")
		for _, tt := range []struct {
			name, body string
			status     int
			expr       string
		}{
			{"NotJSON", `{"resourceType":"Bundle",`, 400, ""},
			{"NotABundle", patient(sys, "x"), 400, ""},
			{"WrongType", `{"resourceType":"Bundle","type":"collection","entry":[]}`, 400, ""},
			{"NoType", `{"resourceType":"Bundle","entry":[]}`, 400, ""},
			{"NoRequest", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + patient(sys, "x") + `}]}`, 400, "Bundle.entry[0].request"},
			{"NoURL", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET"}}]}`, 400, "Bundle.entry[0].request"},
			{"BadIfMatch", bundle("batch", entry("PUT", "Patient/x", patient(sys, "x", `"id":"x"`), `"ifMatch":"yes"`)), 400, "Bundle.entry[0].request.ifMatch"},
			{"ResourceNotObject", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":[],"request":{"method":"POST","url":"Patient"}}]}`, 400, "Bundle.entry[0].resource"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s.post(t, "/fhir/", tt.body).wantOutcome(t, tt.status, "", tt.expr)
			})
		}
		if n := s.total(t, "/fhir/_history"); n != before {
			t.Errorf("bad bundles wrote %d versions", n-before)
		}
	})
}

func TestTransaction(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	t.Run("Atomic", func(t *testing.T) {
		before := s.total(t, "/fhir/_history")
		for _, tt := range []struct {
			name   string
			body   string
			status int
			expr   string
		}{
			{"InvalidResource", bundle("transaction",
				entry("POST", "Patient", patient(sys, "t1")),
				entry("PUT", "Patient/t2", patient(sys, "t2", `"id":"t2"`)),
				entry("POST", "Observation", `{"resourceType":"Observation","code":{"text":"x"}}`),
			), 422, "Bundle.entry[2].resource.status"},
			{"UnknownElement", bundle("transaction",
				entry("POST", "Patient", patient(sys, "t1")),
				entry("POST", "Patient", `{"resourceType":"Patient","name":[{"famly":"x"}]}`),
			), 422, "Bundle.entry[1].resource.name[0].famly"},
			{"IdMismatch", bundle("transaction",
				entry("POST", "Patient", patient(sys, "t1")),
				entry("PUT", "Patient/t3", patient(sys, "t3", `"id":"t4"`)),
			), 400, "Bundle.entry[1]"},
			{"FailsWhileRunning", bundle("transaction",
				entry("POST", "Patient", patient(sys, "t1")),
				entry("PUT", "Patient/t5", patient(sys, "t5", `"id":"t5"`), `"ifMatch":"W/\"3\""`),
			), 412, "Bundle.entry[1]"},
			{"UnknownType", bundle("transaction",
				entry("POST", "Patient", patient(sys, "t1")),
				entry("GET", "Nonsense/1", ""),
			), 400, "Bundle.entry[1]"},
			{"SameResourceTwice", bundle("transaction",
				entry("PUT", "Patient/t6", patient(sys, "t6", `"id":"t6"`)),
				entry("DELETE", "Patient/t6", ""),
			), 400, "Bundle.entry[1]"},
			{"UnresolvedReference", bundle("transaction",
				entry("POST", "Patient", patient(sys, "t1")),
				entry("POST", "Observation", observation("urn:uuid:0f6a0f6a-0000-4000-8000-000000000000")),
			), 0, "Bundle.entry[1]"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := s.post(t, "/fhir/", tt.body)
				if tt.status == 0 {
					r.wantStatus4xx(t)
					checkOutcome(t, r.String(), r.json, "", tt.expr)
				} else {
					r.wantOutcome(t, tt.status, "", tt.expr)
				}
				if n := s.total(t, "/fhir/_history"); n != before {
					t.Errorf("a failed transaction wrote %d versions", n-before)
				}
			})
		}
	})

	t.Run("References", func(t *testing.T) {
		pat := "urn:uuid:8d3e2f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
		obs := "urn:uuid:0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
		r := s.post(t, "/fhir/", bundle("transaction",
			withFullURL(obs, entry("POST", "Observation", observation(pat))),
			withFullURL(pat, entry("POST", "Patient", patient(sys, "ref1"))),
			withFullURL("urn:uuid:5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", entry("PUT", "Encounter/enc-1",
				`{"resourceType":"Encounter","id":"enc-1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"`+pat+`"}}`)),
			entry("PUT", "Condition/cond-1", `{"resourceType":"Condition","id":"cond-1","subject":{"reference":"`+pat+`"},"encounter":{"reference":"urn:uuid:5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"},"evidence":[{"detail":[{"reference":"`+obs+`"}]}]}`),
		))
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Bundle")
		if r.str(t, "type") != "transaction-response" {
			t.Errorf("type %v, want transaction-response", r.get("type"))
		}
		obsEntry := wantEntryStatus(t, r, 0, "201")
		patEntry := wantEntryStatus(t, r, 1, "201")
		wantEntryStatus(t, r, 2, "201")
		wantEntryStatus(t, r, 3, "201")
		patLoc := str(patEntry, "response.location")
		obsLoc := str(obsEntry, "response.location")
		patID := strings.TrimSuffix(strings.TrimPrefix(patLoc, "Patient/"), "/_history/1")
		obsID := strings.TrimSuffix(strings.TrimPrefix(obsLoc, "Observation/"), "/_history/1")
		if !idPattern.MatchString(patID) || !idPattern.MatchString(obsID) {
			t.Fatalf("locations %q and %q", patLoc, obsLoc)
		}
		for i, e := range r.entries(t) {
			if str(e, "response.etag") != `W/"1"` || str(e, "response.lastModified") == "" {
				t.Errorf("entry %d: response %v", i, lookup(e, "response"))
			}
			if !strings.HasPrefix(str(e, "fullUrl"), s.url+"/fhir/") {
				t.Errorf("entry %d: fullUrl %q", i, str(e, "fullUrl"))
			}
		}
		if got := str(obsEntry, "resource.subject.reference"); got != "Patient/"+patID {
			t.Errorf("the response has subject %q, want Patient/%s", got, patID)
		}
		// Read back what was stored.
		o := s.get(t, "/fhir/Observation/"+obsID)
		o.wantStatus(t, http.StatusOK)
		if got := o.str(t, "subject.reference"); got != "Patient/"+patID {
			t.Errorf("stored Observation.subject %q, want Patient/%s", got, patID)
		}
		e := s.get(t, "/fhir/Encounter/enc-1")
		e.wantStatus(t, http.StatusOK)
		if got := e.str(t, "subject.reference"); got != "Patient/"+patID {
			t.Errorf("stored Encounter.subject %q, want Patient/%s", got, patID)
		}
		c := s.get(t, "/fhir/Condition/cond-1")
		c.wantStatus(t, http.StatusOK)
		if got := c.str(t, "encounter.reference"); got != "Encounter/enc-1" {
			t.Errorf("stored Condition.encounter %q, want Encounter/enc-1", got)
		}
		if got := c.str(t, "evidence[0].detail[0].reference"); got != "Observation/"+obsID {
			t.Errorf("stored Condition.evidence.detail %q, want Observation/%s", got, obsID)
		}
		if got := c.str(t, "subject.reference"); got != "Patient/"+patID {
			t.Errorf("stored Condition.subject %q, want Patient/%s", got, patID)
		}
	})

	t.Run("ConditionalReferences", func(t *testing.T) {
		one := s.mustCreate(t, "Patient", patient(sys, "cr1"))
		s.mustCreate(t, "Patient", patient(sys, "cr2"))
		s.mustCreate(t, "Patient", patient(sys, "cr2"))
		r := s.post(t, "/fhir/", bundle("transaction",
			entry("POST", "Observation", observation("Patient?identifier="+sys+"|cr1")),
		))
		r.wantStatus(t, http.StatusOK)
		loc := str(wantEntryStatus(t, r, 0, "201"), "response.location")
		o := s.get(t, "/fhir/"+strings.TrimSuffix(loc, "/_history/1"))
		o.wantStatus(t, http.StatusOK)
		if got := o.str(t, "subject.reference"); got != "Patient/"+one {
			t.Errorf("stored subject %q, want Patient/%s", got, one)
		}

		before := s.total(t, "/fhir/_history")
		for crit, code := range map[string]string{"identifier=" + sys + "|cr2": "multiple-matches", "identifier=" + sys + "|nobody": "not-found"} {
			r := s.post(t, "/fhir/", bundle("transaction",
				entry("POST", "Patient", patient(sys, "cr3")),
				entry("POST", "Observation", observation("Patient?"+crit)),
			))
			r.wantOutcome(t, http.StatusPreconditionFailed, code, "Bundle.entry[1]")
		}
		r = s.post(t, "/fhir/", bundle("transaction",
			entry("POST", "Observation", observation("Patient?name=x")),
		))
		r.wantStatus4xx(t)
		if n := s.total(t, "/fhir/_history"); n != before {
			t.Errorf("failed transactions wrote %d versions", n-before)
		}
	})

	t.Run("IfNoneExist", func(t *testing.T) {
		existing := s.mustCreate(t, "Patient", patient(sys, "ine1"))
		pat := "urn:uuid:11111111-2222-4333-8444-555555555555"
		fresh := "urn:uuid:66666666-7777-4888-8999-000000000000"
		r := s.post(t, "/fhir/", bundle("transaction",
			withFullURL(pat, entry("POST", "Patient", patient(sys, "ine1"), `"ifNoneExist":"identifier=`+sys+`|ine1"`)),
			withFullURL(fresh, entry("POST", "Patient", patient(sys, "ine2"), `"ifNoneExist":"identifier=`+sys+`|ine2"`)),
			entry("POST", "Observation", observation(pat)),
			entry("POST", "Observation", observation(fresh)),
		))
		r.wantStatus(t, http.StatusOK)
		e := wantEntryStatus(t, r, 0, "200")
		if str(e, "response.location") != "Patient/"+existing+"/_history/1" {
			t.Errorf("matched entry: location %q, want the existing Patient/%s", str(e, "response.location"), existing)
		}
		freshLoc := str(wantEntryStatus(t, r, 1, "201"), "response.location")
		for i, want := range []string{"Patient/" + existing, strings.TrimSuffix(freshLoc, "/_history/1")} {
			loc := str(wantEntryStatus(t, r, 2+i, "201"), "response.location")
			o := s.get(t, "/fhir/"+strings.TrimSuffix(loc, "/_history/1"))
			if got := o.str(t, "subject.reference"); got != want {
				t.Errorf("Observation %d: subject %q, want %q", i, got, want)
			}
		}
		if n := s.total(t, "/fhir/Patient/"+existing+"/_history"); n != 1 {
			t.Errorf("the matched Patient has %d versions, want 1", n)
		}
	})

	t.Run("Order", func(t *testing.T) {
		gone := s.mustCreate(t, "Patient", patient(sys, "o1"))
		r := s.post(t, "/fhir/", bundle("transaction",
			entry("GET", "Patient/"+gone, ""),
			entry("GET", "Patient/o-fixed", ""),
			entry("PUT", "Patient/o-fixed", patient(sys, "o2", `"id":"o-fixed"`)),
			entry("DELETE", "Patient/"+gone, ""),
			entry("GET", "Patient/"+gone+"/_history/1", ""),
		))
		r.wantStatus(t, http.StatusOK)
		wantEntryStatus(t, r, 0, "410") // the GET saw the DELETE listed after it
		e := wantEntryStatus(t, r, 1, "200")
		if str(e, "resource.meta.versionId") != "1" || str(e, "resource.id") != "o-fixed" {
			t.Errorf("the GET did not see the PUT listed after it: %v", e)
		}
		wantEntryStatus(t, r, 2, "201")
		e = wantEntryStatus(t, r, 3, "204")
		if str(e, "response.etag") != `W/"2"` {
			t.Errorf("delete entry: etag %q, want W/\"2\"", str(e, "response.etag"))
		}
		wantEntryStatus(t, r, 4, "200")
	})

	t.Run("PutFixedID", func(t *testing.T) {
		body := bundle("transaction", entry("PUT", "Patient/fx-1", patient(sys, "fx", `"id":"fx-1"`)))
		r := s.post(t, "/fhir/", body)
		r.wantStatus(t, http.StatusOK)
		e := wantEntryStatus(t, r, 0, "201")
		if str(e, "response.location") != "Patient/fx-1/_history/1" {
			t.Errorf("location %q", str(e, "response.location"))
		}
		r = s.post(t, "/fhir/", body) // the same content again: no new version
		r.wantStatus(t, http.StatusOK)
		e = wantEntryStatus(t, r, 0, "200")
		if str(e, "response.etag") != `W/"1"` {
			t.Errorf("etag %q, want W/\"1\"", str(e, "response.etag"))
		}
		r = s.post(t, "/fhir/", bundle("transaction", entry("PUT", "Patient/fx-1", patient(sys, "fx", `"id":"fx-1"`, `"active":true`), `"ifMatch":"W/\"1\""`)))
		r.wantStatus(t, http.StatusOK)
		e = wantEntryStatus(t, r, 0, "200")
		if str(e, "response.location") != "Patient/fx-1/_history/2" {
			t.Errorf("location %q", str(e, "response.location"))
		}
		// A PATCH carried in a Binary.
		r = s.post(t, "/fhir/", bundle("transaction", entry("PATCH", "Patient/fx-1", `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"`+
			base64.StdEncoding.EncodeToString([]byte(`[{"op":"replace","path":"/active","value":false}]`))+`"}`)))
		r.wantStatus(t, http.StatusOK)
		if str(wantEntryStatus(t, r, 0, "200"), "response.location") != "Patient/fx-1/_history/3" {
			t.Errorf("PATCH:\n%s", r.body)
		}
		r = s.post(t, "/fhir/", bundle("transaction", entry("PATCH", "Patient/fx-1", `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"`+
			base64.StdEncoding.EncodeToString([]byte(`[{"op":"test","path":"/active","value":true}]`))+`"}`)))
		r.wantOutcome(t, http.StatusUnprocessableEntity, "", "Bundle.entry[0]")
		// A conditional PUT and a conditional DELETE inside a transaction.
		r = s.post(t, "/fhir/", bundle("transaction",
			entry("PUT", "Patient?identifier="+sys+"|fx", patient(sys, "fx", `"gender":"female"`)),
		))
		r.wantStatus(t, http.StatusOK)
		if str(wantEntryStatus(t, r, 0, "200"), "response.location") != "Patient/fx-1/_history/4" {
			t.Errorf("conditional PUT:\n%s", r.body)
		}
		r = s.post(t, "/fhir/", bundle("transaction", entry("DELETE", "Patient?identifier="+sys+"|fx", "")))
		r.wantStatus(t, http.StatusOK)
		wantEntryStatus(t, r, 0, "204")
		s.get(t, "/fhir/Patient/fx-1").wantStatus(t, http.StatusGone)
	})

	t.Run("FromFile", func(t *testing.T) {
		r := s.post(t, "/fhir/", testdata(t, "transaction.json"))
		r.wantStatus(t, http.StatusOK)
		entries := r.entries(t)
		if len(entries) != 4 {
			t.Fatalf("%d entries, want 4\n%s", len(entries), r.body)
		}
		var patID string
		for i, e := range entries {
			loc := str(e, "response.location")
			if !strings.HasPrefix(str(e, "response.status"), "201") || loc == "" {
				t.Fatalf("entry %d: %v", i, lookup(e, "response"))
			}
			if strings.HasPrefix(loc, "Patient/") {
				patID = strings.Split(loc, "/")[1]
			}
		}
		for _, e := range entries[1:] {
			loc := strings.TrimSuffix(str(e, "response.location"), "/_history/1")
			g := s.get(t, "/fhir/"+loc)
			g.wantStatus(t, http.StatusOK)
			if strings.Contains(string(g.body), "urn:uuid:") {
				t.Errorf("%s still holds a urn:uuid reference:\n%s", loc, g.body)
			}
			if !strings.Contains(string(g.body), `"Patient/`+patID+`"`) {
				t.Errorf("%s does not reference Patient/%s:\n%s", loc, patID, g.body)
			}
		}
	})
}
