package fhirapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.get(t, "/fhir/metadata")
	r.wantStatus(t, http.StatusOK)
	r.wantResource(t, "CapabilityStatement")
	if got := r.str(t, "fhirVersion"); got != "4.0.1" {
		t.Errorf("fhirVersion %q, want 4.0.1", got)
	}
	for _, key := range []string{"status", "date", "kind", "format"} {
		if r.get(key) == nil {
			t.Errorf("CapabilityStatement lacks %s (required in R4)", key)
		}
	}
	if got := r.str(t, "rest[0].mode"); got != "server" {
		t.Errorf("rest[0].mode %q, want server", got)
	}
	codes := func(v any) []string {
		var out []string
		list, _ := v.([]any)
		for _, it := range list {
			out = append(out, str(it, "code"))
		}
		return out
	}
	system := codes(r.get("rest[0].interaction"))
	for _, want := range []string{"transaction", "batch", "history-system"} {
		if !contains(system, want) {
			t.Errorf("system interactions %q lack %q", system, want)
		}
	}
	resources, _ := r.get("rest[0].resource").([]any)
	var pat any
	for _, res := range resources {
		if str(res, "type") == "Patient" {
			pat = res
		}
	}
	if pat == nil {
		t.Fatalf("rest[0].resource does not list Patient")
	}
	got := codes(lookup(pat, "interaction"))
	for _, want := range []string{"read", "vread", "update", "patch", "delete", "create", "history-instance", "history-type"} {
		if !contains(got, want) {
			t.Errorf("Patient interactions %q lack %q", got, want)
		}
	}
	if contains(got, "search-type") {
		t.Errorf("Patient interactions claim search-type, which the server does not do yet")
	}
	if v, _ := lookup(pat, "updateCreate").(bool); !v {
		t.Errorf("Patient.updateCreate is not true, but update creates")
	}
}

func TestMetadataPretty(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.get(t, "/fhir/metadata?_pretty=true")
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(string(r.body), "\n  \"") {
		t.Errorf("_pretty=true: body is not indented:\n%.200s", r.body)
	}
	r = s.get(t, "/fhir/metadata")
	if strings.Contains(string(r.body), "\n") {
		t.Errorf("without _pretty the body is indented:\n%.200s", r.body)
	}
	// Stored resources and errors are indented too.
	id := s.mustCreate(t, "Patient", patient(sys, "pretty"))
	for _, r := range []*response{
		s.get(t, "/fhir/Patient/"+id+"?_pretty=true"),
		s.get(t, "/fhir/Patient/"+id+"/_history/1?_pretty=true"),
		s.get(t, "/fhir/Patient/"+id+"/_history?_pretty=true"),
		s.get(t, "/fhir/Patient/never-was?_pretty=true"),
		s.post(t, "/fhir/Patient?_pretty=true", patient(sys, "pretty")),
	} {
		if r.json == nil || !strings.Contains(string(r.body), "\n  \"") {
			t.Errorf("%s: _pretty=true: body is not indented JSON:\n%.200s", r, r.body)
		}
	}
	if r := s.get(t, "/fhir/Patient/"+id+"?_pretty=false"); strings.Contains(string(r.body), "\n") {
		t.Errorf("_pretty=false: the body is indented")
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "1"))

	t.Run("UnknownPath", func(t *testing.T) {
		for _, path := range []string{
			"/fhir/Patient/" + id + "/_history/1/extra",
			"/fhir/Patient/" + id + "/nonsense",
			"/fhir/a/b/c/d/e",
		} {
			r := s.get(t, path)
			r.wantOutcome(t, http.StatusNotFound, "not-found", "")
		}
	})
	t.Run("UnknownType", func(t *testing.T) {
		s.get(t, "/fhir/Nonsense/1").wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.get(t, "/fhir/patient/"+id).wantOutcome(t, http.StatusNotFound, "not-found", "") // types are case-sensitive
		s.get(t, "/fhir/Nonsense/_history").wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.get(t, "/fhir/Nonsense/1/_history").wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.get(t, "/fhir/Nonsense/1/_history/1").wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.del(t, "/fhir/Nonsense/1").wantOutcome(t, http.StatusNotFound, "not-found", "")
	})
	t.Run("WrongMethod", func(t *testing.T) {
		for _, tt := range []struct {
			method, path, allow string
		}{
			{"DELETE", "/fhir/metadata", "GET"},
			{"POST", "/fhir/metadata", "GET"},
			{"POST", "/fhir/Patient/" + id, "DELETE, GET, PATCH, PUT"},
			{"PATCH", "/fhir/Patient", "DELETE, GET, POST, PUT"},
			{"DELETE", "/fhir/Patient/" + id + "/_history", "GET"},
			{"PUT", "/fhir/Patient/" + id + "/_history/1", "GET"},
			{"PUT", "/fhir/", "GET, POST"},
			{"OPTIONS", "/fhir/metadata", "GET"},
			{"OPTIONS", "/fhir/Patient/" + id, "DELETE, GET, PATCH, PUT"},
		} {
			r := s.do(t, tt.method, tt.path, "", nil)
			r.wantOutcome(t, http.StatusMethodNotAllowed, "not-supported", "")
			allow := strings.Split(r.header.Get("Allow"), ", ")
			for _, m := range strings.Split(tt.allow, ", ") {
				if !contains(allow, m) {
					t.Errorf("%s: Allow %q lacks %s", r, r.header.Get("Allow"), m)
				}
			}
			for _, m := range allow {
				if m != "HEAD" && !strings.Contains(tt.allow, m) {
					t.Errorf("%s: Allow %q has %s, want only %s", r, r.header.Get("Allow"), m, tt.allow)
				}
			}
		}
	})
	t.Run("Base", func(t *testing.T) {
		r := s.get(t, "/fhir")
		if r.status/100 != 3 || !strings.HasSuffix(r.header.Get("Location"), "/fhir/metadata") {
			t.Errorf("%s, Location %q: want a redirect to /fhir/metadata", r, r.header.Get("Location"))
		}
	})
	t.Run("BaseWithoutSlash", func(t *testing.T) {
		// Clients post batches and transactions to [base], which is
		// /fhir without a slash.
		before := s.total(t, "/fhir/_history")
		r := s.post(t, "/fhir", bundle("batch", entry("POST", "Patient", patient(sys, "base"))))
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Bundle")
		wantEntryStatus(t, r, 0, "201")
		if n := s.total(t, "/fhir/_history"); n != before+1 {
			t.Errorf("history grew by %d, want 1", n-before)
		}
	})
	t.Run("Head", func(t *testing.T) {
		r := s.do(t, "HEAD", "/fhir/Patient/"+id, "", nil)
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"1"`)
		if len(r.body) != 0 {
			t.Errorf("HEAD has a body: %q", r.body)
		}
	})
}

// TestFormats checks the content negotiation: the server speaks FHIR JSON
// only, and says so with an OperationOutcome when asked for anything else.
func TestFormats(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "1"))
	path := "/fhir/Patient/" + id

	for _, f := range []string{"json", "application/fhir+json", "application/json"} {
		r := s.get(t, path+"?_format="+url.QueryEscape(f))
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Patient")
	}
	for _, acc := range []string{
		"application/fhir+json", "application/json", "*/*",
		"application/fhir+json; fhirVersion=4.0", "text/html, application/xhtml+xml, */*;q=0.8",
	} {
		r := s.get(t, path, "Accept", acc)
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Patient")
	}
	for _, f := range []string{"xml", "application/fhir+xml", "text/turtle"} {
		r := s.get(t, path+"?_format="+url.QueryEscape(f))
		r.wantOutcome(t, http.StatusNotAcceptable, "not-supported", "")
	}
	for _, acc := range []string{"application/fhir+xml", "application/xml", "text/turtle"} {
		r := s.get(t, path, "Accept", acc)
		r.wantOutcome(t, http.StatusNotAcceptable, "not-supported", "")
	}

	t.Run("ContentType", func(t *testing.T) {
		for _, ct := range []string{"application/fhir+json", "application/json", "application/fhir+json; charset=utf-8", "application/fhir+json; fhirVersion=4.0"} {
			r := s.post(t, "/fhir/Patient", patient(sys, ""), "Content-Type", ct)
			r.wantStatus(t, http.StatusCreated)
		}
		before := s.total(t, "/fhir/_history")
		for _, ct := range []string{"application/fhir+xml", "text/plain", "application/x-www-form-urlencoded"} {
			r := s.post(t, "/fhir/Patient", patient(sys, ""), "Content-Type", ct)
			r.wantOutcome(t, http.StatusUnsupportedMediaType, "not-supported", "")
			r = s.put(t, path, `{"resourceType":"Patient","id":"`+id+`"}`, "Content-Type", ct)
			r.wantOutcome(t, http.StatusUnsupportedMediaType, "not-supported", "")
		}
		if after := s.total(t, "/fhir/_history"); after != before {
			t.Errorf("refused requests wrote %d versions", after-before)
		}
	})
}

// TestPrefer checks the Prefer: return= choices on every write.
func TestPrefer(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	t.Run("Minimal", func(t *testing.T) {
		r := s.post(t, "/fhir/Patient", patient(sys, "m"), "Prefer", "return=minimal")
		r.wantStatus(t, http.StatusCreated)
		if len(r.body) != 0 {
			t.Errorf("return=minimal: body %q, want none", r.body)
		}
		loc := r.header.Get("Location")
		if !strings.Contains(loc, "/fhir/Patient/") || !strings.HasSuffix(loc, "/_history/1") {
			t.Errorf("return=minimal: Location %q", loc)
		}
		r.wantHeader(t, "ETag", `W/"1"`)
		if r.header.Get("Last-Modified") == "" {
			t.Errorf("return=minimal: no Last-Modified")
		}
		id := strings.Split(strings.TrimPrefix(loc, s.url+"/fhir/Patient/"), "/")[0]
		r = s.put(t, "/fhir/Patient/"+id, patient(sys, "m", `"id":"`+id+`"`, `"active":true`), "Prefer", "return=minimal")
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"2"`)
		if len(r.body) != 0 {
			t.Errorf("return=minimal: body %q, want none", r.body)
		}
		r = s.patch(t, "/fhir/Patient/"+id, `[{"op":"replace","path":"/active","value":false}]`, "Prefer", "return=minimal")
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"3"`)
		if len(r.body) != 0 {
			t.Errorf("return=minimal: body %q, want none", r.body)
		}
	})
	t.Run("OperationOutcome", func(t *testing.T) {
		r := s.post(t, "/fhir/Patient", patient(sys, "o"), "Prefer", "return=OperationOutcome")
		r.wantStatus(t, http.StatusCreated)
		r.wantResource(t, "OperationOutcome")
		if sev := r.str(t, "issue[0].severity"); sev != "information" {
			t.Errorf("issue severity %q, want information", sev)
		}
		if !strings.HasSuffix(r.header.Get("Location"), "/_history/1") {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		id := strings.Split(strings.TrimPrefix(r.header.Get("Location"), s.url+"/fhir/Patient/"), "/")[0]
		r = s.del(t, "/fhir/Patient/"+id, "Prefer", "return=OperationOutcome")
		if r.status != http.StatusOK && r.status != http.StatusNoContent {
			t.Errorf("%s, want 200 with an OperationOutcome", r)
		}
		r.wantResource(t, "OperationOutcome")
	})
	t.Run("Representation", func(t *testing.T) {
		for _, prefer := range []string{"", "return=representation", `return="representation"`, "respond-async, return=representation"} {
			r := s.post(t, "/fhir/Patient", patient(sys, "r"), "Prefer", prefer)
			r.wantStatus(t, http.StatusCreated)
			r.wantResource(t, "Patient")
			if r.str(t, "meta.versionId") != "1" {
				t.Errorf("Prefer %q: meta.versionId %v", prefer, r.get("meta.versionId"))
			}
		}
	})
}
