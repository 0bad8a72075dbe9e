package fhirapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
)

// ident is an identifier=system|value query, escaped for a URL.
func ident(system, value string) string {
	return "identifier=" + url.QueryEscape(system+"|"+value)
}

func TestConditionalCreate(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	r := s.post(t, "/fhir/Patient", patient(sys, "cc1", `"active":true`), "If-None-Exist", "identifier="+sys+"|cc1")
	r.wantStatus(t, http.StatusCreated)
	id := r.str(t, "id")

	t.Run("OneMatch", func(t *testing.T) {
		for _, crit := range []string{
			"identifier=" + sys + "|cc1",
			"Patient?identifier=" + sys + "|cc1", // the R4 examples include the type
			ident(sys, "cc1"),
			"identifier=cc1",                       // any system
			"_id=" + id,                            // by id
			"identifier=x|y,x|cc1," + sys + "|cc1", // any of several
		} {
			r := s.post(t, "/fhir/Patient", patient(sys, "cc1", `"active":false`), "If-None-Exist", crit)
			r.wantStatus(t, http.StatusOK)
			r.wantResource(t, "Patient")
			if r.str(t, "id") != id || r.get("active") != true {
				t.Errorf("If-None-Exist %s: got\n%s\nwant the existing %s", crit, r.body, id)
			}
			r.wantHeader(t, "ETag", `W/"1"`)
		}
		if n := s.total(t, "/fhir/Patient/_history"); n != 1 {
			t.Errorf("Patient history total %d, want 1", n)
		}
	})
	t.Run("NoMatch", func(t *testing.T) {
		r := s.post(t, "/fhir/Patient", patient(sys, "cc2"), "If-None-Exist", "identifier=other-system|cc1")
		r.wantStatus(t, http.StatusCreated)
		if r.str(t, "id") == id {
			t.Errorf("created over the existing resource")
		}
	})
	t.Run("TwoMatches", func(t *testing.T) {
		before := s.total(t, "/fhir/_history")
		r := s.post(t, "/fhir/Patient", patient(sys, "cc1"), "If-None-Exist", "identifier=cc1,cc2")
		r.wantOutcome(t, http.StatusPreconditionFailed, "multiple-matches", "")
		if n := s.total(t, "/fhir/_history"); n != before {
			t.Errorf("a failed conditional create wrote %d versions", n-before)
		}
	})
	t.Run("Unsupported", func(t *testing.T) {
		s.post(t, "/fhir/Patient", patient(sys, "cc3"), "If-None-Exist", "nonsense=x").wantOutcome(t, http.StatusBadRequest, "", "")
		s.post(t, "/fhir/Patient", patient(sys, "cc3"), "If-None-Exist", "identifier=").wantOutcome(t, http.StatusBadRequest, "", "")
	})
	t.Run("AnySearchParameter", func(t *testing.T) {
		// Criteria are searches: any parameter of the type works.
		body := `{"resourceType":"Patient","name":[{"family":"近藤","given":["勇"]}],"birthDate":"1934-11-05"}`
		s.post(t, "/fhir/Patient", body).wantStatus(t, http.StatusCreated)
		s.post(t, "/fhir/Patient", body, "If-None-Exist", "family=近藤&birthdate=1934-11-05").wantStatus(t, http.StatusOK)
		s.post(t, "/fhir/Patient", body, "If-None-Exist", "family=近藤&birthdate=1935").wantStatus(t, http.StatusCreated)
		s.post(t, "/fhir/Patient", body, "If-None-Exist", "family=近藤").wantOutcome(t, http.StatusPreconditionFailed, "multiple-matches", "")
	})
	t.Run("DeletedDoesNotMatch", func(t *testing.T) {
		s.del(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusNoContent)
		r := s.post(t, "/fhir/Patient", patient(sys, "cc1"), "If-None-Exist", "identifier="+sys+"|cc1")
		r.wantStatus(t, http.StatusCreated)
		if r.str(t, "id") == id {
			t.Errorf("conditional create matched a deleted resource")
		}
	})
}

// TestConditionalCreateConcurrent fires the same conditional create at once
// from many clients: exactly one resource may come of it.
func TestConditionalCreateConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const n = 20
	statuses := make([]int, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.post(t, "/fhir/Patient", patient(sys, "race"), "If-None-Exist", ident(sys, "race"))
			statuses[i] = r.status
			if r.json != nil {
				ids[i], _ = r.json["id"].(string)
			}
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("request %d: status %d", i, st)
		}
		if ids[i] != ids[0] {
			t.Errorf("request %d got id %q, request 0 got %q", i, ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Errorf("%d requests created, want 1", created)
	}
	if total := s.total(t, "/fhir/Patient/_history"); total != 1 {
		t.Errorf("Patient history total %d, want 1", total)
	}
	// A conditional update finds exactly one match, and updates it.
	r := s.put(t, "/fhir/Patient?"+ident(sys, "race"), patient(sys, "race", `"active":true`))
	r.wantStatus(t, http.StatusOK)
	if r.str(t, "id") != ids[0] || r.str(t, "meta.versionId") != "2" {
		t.Errorf("conditional update after the race:\n%s", r.body)
	}
}

func TestConditionalUpdate(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	r := s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), patient(sys, "cu1"))
	r.wantStatus(t, http.StatusCreated)
	id := r.str(t, "id")
	r.wantHeader(t, "Location", s.url+"/fhir/Patient/"+id+"/_history/1")

	r = s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), patient(sys, "cu1", `"gender":"other"`))
	r.wantStatus(t, http.StatusOK)
	if r.str(t, "id") != id || r.str(t, "meta.versionId") != "2" || r.str(t, "gender") != "other" {
		t.Errorf("conditional update:\n%s", r.body)
	}
	r.wantHeader(t, "ETag", `W/"2"`)

	// The body may carry the id of the match, but no other.
	s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), patient(sys, "cu1", `"id":"`+id+`"`, `"gender":"male"`)).wantStatus(t, http.StatusOK)
	s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), patient(sys, "cu1", `"id":"someone-else"`)).wantOutcome(t, http.StatusBadRequest, "", "")
	// With no match, a client id in the body is used.
	r = s.put(t, "/fhir/Patient?"+ident(sys, "cu-new"), patient(sys, "cu-new", `"id":"chosen"`))
	r.wantStatus(t, http.StatusCreated)
	if r.str(t, "id") != "chosen" {
		t.Errorf("conditional create-on-update ignored the body id:\n%s", r.body)
	}

	s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), patient(sys, "cu1"), "If-Match", `W/"1"`).wantOutcome(t, http.StatusPreconditionFailed, "", "")

	s.mustCreate(t, "Patient", patient(sys, "cu1"))
	before := s.total(t, "/fhir/_history")
	s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), patient(sys, "cu1")).wantOutcome(t, http.StatusPreconditionFailed, "multiple-matches", "")
	s.put(t, "/fhir/Patient?nonsense=x", patient(sys, "cu1")).wantOutcome(t, http.StatusBadRequest, "", "")
	s.put(t, "/fhir/Patient?"+ident(sys, "cu9")+"&nonsense=x", patient(sys, "cu9")).wantOutcome(t, http.StatusBadRequest, "", "")
	s.put(t, "/fhir/Patient", patient(sys, "cu1")).wantOutcome(t, http.StatusBadRequest, "invalid", "")
	s.put(t, "/fhir/Patient?"+ident(sys, "cu1"), `{"resourceType":"Patient","foo":1}`).wantOutcome(t, http.StatusUnprocessableEntity, "structure", "Patient.foo")
	if n := s.total(t, "/fhir/_history"); n != before {
		t.Errorf("failed conditional updates wrote %d versions", n-before)
	}
	// _format and _pretty shape the answer; they are no criteria.
	r = s.put(t, "/fhir/Patient?"+ident(sys, "cu-new")+"&_format=json&_pretty=true", patient(sys, "cu-new", `"id":"chosen"`, `"active":true`))
	r.wantStatus(t, http.StatusOK)
	if r.str(t, "id") != "chosen" {
		t.Errorf("conditional update with _format:\n%s", r.body)
	}
}

func TestConditionalDelete(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "cd1"))
	keep := s.mustCreate(t, "Patient", patient(sys, "cd2"))

	r := s.del(t, "/fhir/Patient?"+ident(sys, "cd1"))
	r.wantStatus(t, http.StatusNoContent)
	s.get(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusGone)
	s.get(t, "/fhir/Patient/"+keep).wantStatus(t, http.StatusOK)

	before := s.total(t, "/fhir/_history")
	s.del(t, "/fhir/Patient?"+ident(sys, "cd1")).wantStatus(t, http.StatusNoContent) // now none matches
	s.del(t, "/fhir/Patient?"+ident(sys, "nobody")).wantStatus(t, http.StatusNoContent)
	if n := s.total(t, "/fhir/_history"); n != before {
		t.Errorf("deleting nothing wrote %d versions", n-before)
	}

	s.mustCreate(t, "Patient", patient(sys, "cd2"))
	s.del(t, "/fhir/Patient?"+ident(sys, "cd2")).wantOutcome(t, http.StatusPreconditionFailed, "multiple-matches", "")
	s.get(t, "/fhir/Patient/"+keep).wantStatus(t, http.StatusOK)
	s.del(t, "/fhir/Patient?nonsense=x").wantOutcome(t, http.StatusBadRequest, "", "")
	s.del(t, "/fhir/Patient").wantOutcome(t, http.StatusBadRequest, "invalid", "")
	s.del(t, "/fhir/Nonsense?"+ident(sys, "cd2")).wantOutcome(t, http.StatusNotFound, "not-found", "")
	s.del(t, "/fhir/Patient?_id="+keep).wantStatus(t, http.StatusNoContent)
	s.get(t, "/fhir/Patient/"+keep).wantStatus(t, http.StatusGone)
	if n := s.total(t, "/fhir/_history"); n != before+2 {
		t.Errorf("history grew by %d, want 2", n-before)
	}
}

// TestIfMatchConcurrent lets many clients update the same version at once:
// If-Match must let exactly one of them win (no lost update).
func TestIfMatchConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "lost"))
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := patient(sys, "lost", `"id":"`+id+`"`, `"birthDate":"19`+strconv.Itoa(10+i)+`"`)
			statuses[i] = s.put(t, "/fhir/Patient/"+id, body, "If-Match", `W/"1"`).status
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, st := range statuses {
		switch st {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("request %d: status %d", i, st)
		}
	}
	if won != 1 {
		t.Errorf("%d updates of version 1 succeeded, want 1", won)
	}
	if n := s.total(t, "/fhir/Patient/"+id+"/_history"); n != 2 {
		t.Errorf("history total %d, want 2", n)
	}
}
