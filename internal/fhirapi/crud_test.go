package fhirapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func TestCreate(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	t.Run("OK", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		r := s.post(t, "/fhir/Patient", patient(sys, "c1", `"id":"client-chosen"`, `"name":[{"family":"山田","given":["太郎"]}]`))
		r.wantStatus(t, http.StatusCreated)
		r.wantResource(t, "Patient")
		id := r.str(t, "id")
		if id == "client-chosen" || !idPattern.MatchString(id) {
			t.Errorf("id %q: want a server-assigned FHIR id", id)
		}
		if loc := r.header.Get("Location"); loc != s.url+"/fhir/Patient/"+id+"/_history/1" {
			t.Errorf("Location %q, want %s/fhir/Patient/%s/_history/1", loc, s.url, id)
		}
		r.wantHeader(t, "ETag", `W/"1"`)
		lm, err := http.ParseTime(r.header.Get("Last-Modified"))
		if err != nil {
			t.Errorf("Last-Modified %q: %v", r.header.Get("Last-Modified"), err)
		}
		if r.str(t, "meta.versionId") != "1" {
			t.Errorf("meta.versionId %v, want 1", r.get("meta.versionId"))
		}
		lu := instant(t, r.str(t, "meta.lastUpdated"))
		if lu.Before(before) || lu.After(time.Now().Add(time.Second)) {
			t.Errorf("meta.lastUpdated %v is not now", lu)
		}
		if !lm.Equal(lu.Truncate(time.Second)) {
			t.Errorf("Last-Modified %v differs from meta.lastUpdated %v", lm, lu)
		}
		if got := r.str(t, "name[0].family"); got != "山田" {
			t.Errorf("name[0].family %q: the content was not kept", got)
		}
		// The stored resource is what the create returned.
		g := s.get(t, "/fhir/Patient/"+id)
		g.wantStatus(t, http.StatusOK)
		if string(g.body) != string(r.body) {
			t.Errorf("read gives\n%s\ncreate gave\n%s", g.body, r.body)
		}
		if s.get(t, "/fhir/Patient/client-chosen").status != http.StatusNotFound {
			t.Errorf("the client's id was used")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		before := s.total(t, "/fhir/_history")
		for _, tt := range []struct {
			name, path, body string
			status           int
			code, expr       string
		}{
			{"MalformedJSON", "/fhir/Patient", `{"resourceType":"Patient",`, 400, "structure", ""},
			{"NotAnObject", "/fhir/Patient", `["Patient"]`, 400, "", ""},
			{"UnknownType", "/fhir/Nonsense", `{"resourceType":"Nonsense"}`, 404, "not-found", ""},
			{"TypeMismatch", "/fhir/Patient", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, 400, "invalid", ""},
			{"NoResourceType", "/fhir/Patient", `{"active":true}`, 400, "", ""},
			{"UnknownElement", "/fhir/Patient", `{"resourceType":"Patient","foo":1}`, 422, "structure", "Patient.foo"},
			{"WrongJSONType", "/fhir/Patient", `{"resourceType":"Patient","active":"yes"}`, 422, "structure", "Patient.active"},
			{"NotAnArray", "/fhir/Patient", `{"resourceType":"Patient","name":{"family":"x"}}`, 422, "structure", "Patient.name"},
			{"BadDate", "/fhir/Patient", `{"resourceType":"Patient","birthDate":"1970-13-45"}`, 422, "value", "Patient.birthDate"},
			{"BadDateFormat", "/fhir/Patient", `{"resourceType":"Patient","birthDate":"01/02/1970"}`, 422, "value", "Patient.birthDate"},
			{"NestedError", "/fhir/Patient", `{"resourceType":"Patient","name":[{"given":["a", 1]}]}`, 422, "structure", "Patient.name[0].given[1]"},
			{"MissingRequired", "/fhir/Observation", `{"resourceType":"Observation","code":{"text":"BP"}}`, 422, "required", "Observation.status"},
			{"MissingRequired2", "/fhir/Observation", `{"resourceType":"Observation","status":"final"}`, 422, "required", "Observation.code"},
			{"EmptyBody", "/fhir/Patient", "", 400, "", ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := s.post(t, tt.path, tt.body)
				r.wantOutcome(t, tt.status, tt.code, tt.expr)
				if r.header.Get("Location") != "" || r.header.Get("ETag") != "" {
					t.Errorf("a failed create has Location %q, ETag %q", r.header.Get("Location"), r.header.Get("ETag"))
				}
			})
		}
		t.Run("AllIssues", func(t *testing.T) {
			r := s.post(t, "/fhir/Observation", `{"resourceType":"Observation","foo":1,"valueQuantity":{"value":"1"}}`)
			r.wantOutcome(t, http.StatusUnprocessableEntity, "", "Observation.foo")
			for _, expr := range []string{"Observation.status", "Observation.code", "Observation.valueQuantity.value"} {
				checkOutcome(t, r.String(), r.json, "", expr)
			}
		})
		if after := s.total(t, "/fhir/_history"); after != before {
			t.Errorf("failed creates stored %d versions", after-before)
		}
		if n := s.total(t, "/fhir/Observation/_history"); n != 0 {
			t.Errorf("failed creates stored %d Observations", n)
		}
	})
}

func TestRead(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "r1"))
	path := "/fhir/Patient/" + id

	r := s.get(t, path)
	r.wantStatus(t, http.StatusOK)
	r.wantResource(t, "Patient")
	r.wantHeader(t, "ETag", `W/"1"`)
	if r.header.Get("Last-Modified") == "" {
		t.Errorf("read: no Last-Modified")
	}
	if r.str(t, "id") != id {
		t.Errorf("read: id %v", r.get("id"))
	}

	t.Run("NotModified", func(t *testing.T) {
		for _, inm := range []string{`W/"1"`, `"1"`} {
			r := s.get(t, path, "If-None-Match", inm)
			r.wantStatus(t, http.StatusNotModified)
			r.wantHeader(t, "ETag", `W/"1"`)
			if len(r.body) != 0 {
				t.Errorf("304 with a body: %q", r.body)
			}
		}
		s.get(t, path, "If-None-Match", `W/"7"`).wantStatus(t, http.StatusOK)
		lm := r.header.Get("Last-Modified")
		s.get(t, path, "If-Modified-Since", lm).wantStatus(t, http.StatusNotModified)
		s.get(t, path, "If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT").wantStatus(t, http.StatusOK)
	})
	t.Run("Missing", func(t *testing.T) {
		s.get(t, "/fhir/Patient/never-was").wantOutcome(t, http.StatusNotFound, "not-found", "")
		// A resource of another type with the same id is not found either.
		s.get(t, "/fhir/Observation/"+id).wantOutcome(t, http.StatusNotFound, "not-found", "")
	})
	t.Run("Deleted", func(t *testing.T) {
		id := s.mustCreate(t, "Patient", patient(sys, "r2"))
		s.del(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusNoContent)
		r := s.get(t, "/fhir/Patient/"+id)
		r.wantOutcome(t, http.StatusGone, "deleted", "")
		r.wantHeader(t, "ETag", `W/"2"`)
	})
}

func TestVRead(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "v", `"active":true`))
	s.mustPut(t, "Patient", id, patient(sys, "v", `"id":"`+id+`"`, `"active":false`)).wantStatus(t, http.StatusOK)
	path := "/fhir/Patient/" + id + "/_history/"

	for v, active := range map[string]bool{"1": true, "2": false} {
		r := s.get(t, path+v)
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Patient")
		r.wantHeader(t, "ETag", `W/"`+v+`"`)
		if r.header.Get("Last-Modified") == "" {
			t.Errorf("vread %s: no Last-Modified", v)
		}
		if r.str(t, "meta.versionId") != v {
			t.Errorf("vread %s: meta.versionId %v", v, r.get("meta.versionId"))
		}
		if got, _ := r.get("active").(bool); got != active {
			t.Errorf("vread %s: active %v, want %v", v, got, active)
		}
	}
	for _, bad := range []string{"3", "0", "-1", "x", "99999999999999999999"} {
		s.get(t, path+bad).wantOutcome(t, http.StatusNotFound, "not-found", "")
	}
	s.get(t, "/fhir/Patient/never-was/_history/1").wantOutcome(t, http.StatusNotFound, "not-found", "")

	s.del(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusNoContent)
	r := s.get(t, path+"3")
	r.wantOutcome(t, http.StatusGone, "deleted", "")
	r.wantHeader(t, "ETag", `W/"3"`)
	s.get(t, path+"2").wantStatus(t, http.StatusOK) // earlier versions stay readable
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	t.Run("CreateOnUpdate", func(t *testing.T) {
		r := s.put(t, "/fhir/Patient/pat-1", patient(sys, "u1", `"id":"pat-1"`))
		r.wantStatus(t, http.StatusCreated)
		r.wantResource(t, "Patient")
		r.wantHeader(t, "ETag", `W/"1"`)
		r.wantHeader(t, "Location", s.url+"/fhir/Patient/pat-1/_history/1")
		if r.str(t, "id") != "pat-1" || r.str(t, "meta.versionId") != "1" {
			t.Errorf("id %v versionId %v", r.get("id"), r.get("meta.versionId"))
		}
	})
	t.Run("Update", func(t *testing.T) {
		r := s.put(t, "/fhir/Patient/pat-1", patient(sys, "u1", `"id":"pat-1"`, `"gender":"female"`))
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"2"`)
		r.wantHeader(t, "Location", s.url+"/fhir/Patient/pat-1/_history/2")
		if r.str(t, "meta.versionId") != "2" || r.str(t, "gender") != "female" {
			t.Errorf("versionId %v gender %v", r.get("meta.versionId"), r.get("gender"))
		}
		g := s.get(t, "/fhir/Patient/pat-1")
		g.wantHeader(t, "ETag", `W/"2"`)
		if g.str(t, "gender") != "female" {
			t.Errorf("read after update: gender %v", g.get("gender"))
		}
	})
	t.Run("SameContent", func(t *testing.T) {
		// By design an update that changes nothing writes no version.
		r := s.put(t, "/fhir/Patient/pat-1", patient(sys, "u1", `"id":"pat-1"`, `"gender":"female"`))
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"2"`)
		if r.str(t, "meta.versionId") != "2" {
			t.Errorf("meta.versionId %v, want 2", r.get("meta.versionId"))
		}
		// Also when the client sends the meta it read back.
		g := s.get(t, "/fhir/Patient/pat-1")
		r = s.put(t, "/fhir/Patient/pat-1", string(g.body))
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"2"`)
		if n := s.total(t, "/fhir/Patient/pat-1/_history"); n != 2 {
			t.Errorf("history has %d versions, want 2", n)
		}
	})
	t.Run("FreshContent", func(t *testing.T) {
		id := s.mustCreate(t, "Patient", patient(sys, "u2"))
		r := s.put(t, "/fhir/Patient/"+id, patient(sys, "u2", `"id":"`+id+`"`))
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"1"`)
	})
	t.Run("Errors", func(t *testing.T) {
		before := s.total(t, "/fhir/_history")
		s.put(t, "/fhir/Patient/pat-1", patient(sys, "u1", `"id":"pat-2"`)).wantOutcome(t, http.StatusBadRequest, "", "")
		s.put(t, "/fhir/Patient/pat-1", patient(sys, "u1")).wantOutcome(t, http.StatusBadRequest, "", "")
		s.put(t, "/fhir/Patient/pat-9", patient(sys, "u9")).wantOutcome(t, http.StatusBadRequest, "", "")
		s.put(t, "/fhir/Patient/pat-1", `{"resourceType":"Patient","id":"pat-1","foo":true}`).
			wantOutcome(t, http.StatusUnprocessableEntity, "structure", "Patient.foo")
		s.put(t, "/fhir/Patient/pat-1", `{"resourceType":"Observation","id":"pat-1"}`).wantOutcome(t, http.StatusBadRequest, "", "")
		s.put(t, "/fhir/Patient/pat-1", `{"resourceType":"Patient"`).wantOutcome(t, http.StatusBadRequest, "", "")
		s.put(t, "/fhir/Patient/pat-1", "").wantOutcome(t, http.StatusBadRequest, "", "")
		s.put(t, "/fhir/Nonsense/pat-1", `{"resourceType":"Nonsense","id":"pat-1"}`).wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.put(t, "/fhir/Patient/bad$id", `{"resourceType":"Patient","id":"bad$id"}`).wantOutcome(t, http.StatusUnprocessableEntity, "value", "Patient.id")
		long := strings.Repeat("a", 65)
		s.put(t, "/fhir/Patient/"+long, `{"resourceType":"Patient","id":"`+long+`"}`).wantOutcome(t, http.StatusUnprocessableEntity, "value", "Patient.id")
		if after := s.total(t, "/fhir/_history"); after != before {
			t.Errorf("failed updates stored %d versions", after-before)
		}
	})
	t.Run("IfMatch", func(t *testing.T) {
		body := patient(sys, "u1", `"id":"pat-1"`, `"gender":"male"`)
		s.put(t, "/fhir/Patient/pat-1", body, "If-Match", `W/"1"`).wantOutcome(t, http.StatusPreconditionFailed, "conflict", "")
		s.put(t, "/fhir/Patient/pat-1", body, "If-Match", `W/"3"`).wantOutcome(t, http.StatusPreconditionFailed, "conflict", "")
		s.put(t, "/fhir/Patient/pat-1", body, "If-Match", `nonsense`).wantOutcome(t, http.StatusBadRequest, "", "")
		r := s.put(t, "/fhir/Patient/pat-1", body, "If-Match", `W/"2"`)
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"3"`)
		s.put(t, "/fhir/Patient/pat-1", patient(sys, "u1", `"id":"pat-1"`), "If-Match", `"3"`).wantStatus(t, http.StatusOK)
		// If-Match on a resource that does not exist cannot hold.
		s.put(t, "/fhir/Patient/pat-new", patient(sys, "", `"id":"pat-new"`), "If-Match", `W/"1"`).
			wantOutcome(t, http.StatusPreconditionFailed, "conflict", "")
		s.get(t, "/fhir/Patient/pat-new").wantStatus(t, http.StatusNotFound)
	})
	t.Run("AfterDelete", func(t *testing.T) {
		id := s.mustCreate(t, "Patient", patient(sys, "u3"))
		s.del(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusNoContent)
		r := s.put(t, "/fhir/Patient/"+id, patient(sys, "u3", `"id":"`+id+`"`))
		r.wantStatus(t, http.StatusCreated)
		r.wantHeader(t, "ETag", `W/"3"`)
		if r.str(t, "meta.versionId") != "3" {
			t.Errorf("meta.versionId %v, want 3", r.get("meta.versionId"))
		}
		s.get(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusOK)
	})
}

func TestPatch(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "p", `"active":true`))
	path := "/fhir/Patient/" + id

	t.Run("OK", func(t *testing.T) {
		r := s.patch(t, path, `[
			{"op":"replace","path":"/active","value":false},
			{"op":"add","path":"/name","value":[{"family":"Suzuki"}]},
			{"op":"add","path":"/name/0/given","value":["Hanako"]}
		]`)
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Patient")
		r.wantHeader(t, "ETag", `W/"2"`)
		if r.str(t, "meta.versionId") != "2" || r.str(t, "name[0].given[0]") != "Hanako" || r.get("active") != false {
			t.Errorf("patched resource:\n%s", r.body)
		}
		g := s.get(t, path)
		if g.str(t, "name[0].family") != "Suzuki" {
			t.Errorf("read after patch:\n%s", g.body)
		}
		r = s.patch(t, path, `[{"op":"test","path":"/active","value":false},{"op":"remove","path":"/active"}]`, "If-Match", `W/"2"`)
		r.wantStatus(t, http.StatusOK)
		r.wantHeader(t, "ETag", `W/"3"`)
		if r.get("active") != nil {
			t.Errorf("remove left active: %s", r.body)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		before := s.total(t, path+"/_history")
		s.patch(t, path, `[{"op":"test","path":"/gender","value":"male"}]`).wantOutcome(t, http.StatusUnprocessableEntity, "", "")
		s.patch(t, path, `[{"op":"replace","path":"/nothere/x","value":1}]`).wantOutcome(t, http.StatusUnprocessableEntity, "", "")
		s.patch(t, path, `[{"op":"add","path":"/foo","value":1}]`).wantOutcome(t, http.StatusUnprocessableEntity, "structure", "Patient.foo")
		s.patch(t, path, `[{"op":"add","path":"/birthDate","value":"yesterday"}]`).wantOutcome(t, http.StatusUnprocessableEntity, "value", "Patient.birthDate")
		s.patch(t, path, `[{"op":"replace","path":"/id","value":"other"}]`).wantOutcome(t, http.StatusUnprocessableEntity, "", "")
		s.patch(t, path, `[{"op":"remove","path":"/resourceType"}]`).wantStatus4xx(t)
		s.patch(t, path, `[{"op":"frobnicate","path":"/active"}]`).wantOutcome(t, http.StatusBadRequest, "", "")
		s.patch(t, path, `{"op":"add"}`).wantOutcome(t, http.StatusBadRequest, "", "")
		s.patch(t, path, `[`).wantOutcome(t, http.StatusBadRequest, "", "")
		for _, ct := range []string{"application/fhir+json", "application/json", "text/plain", "application/merge-patch+json"} {
			r := s.do(t, "PATCH", path, `[{"op":"add","path":"/gender","value":"male"}]`, h{"Content-Type", ct})
			if r.status != http.StatusBadRequest && r.status != http.StatusUnsupportedMediaType {
				t.Errorf("%s with Content-Type %s, want 400 or 415", r, ct)
			}
			r.wantOutcome(t, r.status, "", "")
		}
		s.patch(t, path, `[{"op":"add","path":"/gender","value":"male"}]`, "If-Match", `W/"1"`).
			wantOutcome(t, http.StatusPreconditionFailed, "conflict", "")
		if after := s.total(t, path+"/_history"); after != before {
			t.Errorf("failed patches stored %d versions", after-before)
		}
		s.patch(t, "/fhir/Patient/never-was", `[{"op":"add","path":"/gender","value":"male"}]`).
			wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.patch(t, "/fhir/Nonsense/x", `[{"op":"add","path":"/gender","value":"male"}]`).
			wantOutcome(t, http.StatusNotFound, "not-found", "")
		gone := s.mustCreate(t, "Patient", patient(sys, "gone"))
		s.del(t, "/fhir/Patient/"+gone).wantStatus(t, http.StatusNoContent)
		s.patch(t, "/fhir/Patient/"+gone, `[{"op":"add","path":"/gender","value":"male"}]`).
			wantOutcome(t, http.StatusGone, "deleted", "")
	})
}

// wantStatus4xx checks for some client error with an OperationOutcome.
func (r *response) wantStatus4xx(tb testing.TB) {
	tb.Helper()
	if r.status/100 != 4 {
		tb.Fatalf("%s, want 4xx\n%s", r, r.body)
	}
	checkOutcome(tb, r.String(), r.json, "", "")
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "d"))
	path := "/fhir/Patient/" + id

	s.del(t, path, "If-Match", `W/"2"`).wantOutcome(t, http.StatusPreconditionFailed, "conflict", "")
	s.get(t, path).wantStatus(t, http.StatusOK)

	r := s.del(t, path, "If-Match", `W/"1"`)
	r.wantStatus(t, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("204 with a body: %q", r.body)
	}
	r.wantHeader(t, "ETag", `W/"2"`)
	s.get(t, path).wantOutcome(t, http.StatusGone, "deleted", "")

	hist := s.get(t, path+"/_history")
	hist.wantStatus(t, http.StatusOK)
	if n := hist.num(t, "total"); n != 2 {
		t.Fatalf("history total %d, want 2", n)
	}
	if m := hist.str(t, "entry[0].request.method"); m != "DELETE" {
		t.Errorf("newest history entry has method %q, want DELETE", m)
	}
	if hist.get("entry[0].resource") != nil {
		t.Errorf("the deletion entry carries a resource")
	}

	// Deleting again changes nothing.
	s.del(t, path).wantStatus(t, http.StatusNoContent)
	if n := s.total(t, path+"/_history"); n != 2 {
		t.Errorf("second delete: history total %d, want 2", n)
	}
	// Deleting what never existed is no error either (R4 3.1.0.7).
	s.del(t, "/fhir/Patient/never-was").wantStatus(t, http.StatusNoContent)
	if s.get(t, "/fhir/Patient/never-was").status != http.StatusNotFound {
		t.Errorf("deleting a never-existing resource made it exist")
	}
	s.del(t, "/fhir/Patient/never-was", "If-Match", `W/"1"`).wantOutcome(t, http.StatusPreconditionFailed, "conflict", "")
}
