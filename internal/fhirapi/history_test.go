package fhirapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHistoryInstance(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "h"))
	s.mustPut(t, "Patient", id, patient(sys, "h", `"id":"`+id+`"`, `"active":true`))
	s.patch(t, "/fhir/Patient/"+id, `[{"op":"replace","path":"/active","value":false}]`).wantStatus(t, http.StatusOK)
	s.del(t, "/fhir/Patient/"+id).wantStatus(t, http.StatusNoContent)
	s.mustPut(t, "Patient", id, patient(sys, "h", `"id":"`+id+`"`))
	other := s.mustCreate(t, "Patient", patient(sys, "other"))

	r := s.get(t, "/fhir/Patient/"+id+"/_history")
	r.wantStatus(t, http.StatusOK)
	r.wantResource(t, "Bundle")
	if r.str(t, "type") != "history" {
		t.Errorf("Bundle.type %v, want history", r.get("type"))
	}
	if n := r.num(t, "total"); n != 5 {
		t.Errorf("total %d, want 5", n)
	}
	if self := r.str(t, "link[0].url"); r.str(t, "link[0].relation") != "self" || !strings.HasPrefix(self, s.url+"/fhir/Patient/"+id+"/_history") {
		t.Errorf("link[0] %v, want the self link", r.get("link[0]"))
	}
	want := []struct {
		method, url, status, etag string
		resource                  bool
	}{ // newest first
		{"PUT", "Patient/" + id, "", `W/"5"`, true}, // status not checked: 200 or 201 both describe a re-creating update
		{"DELETE", "Patient/" + id, "204", `W/"4"`, false},
		{"PATCH", "Patient/" + id, "200", `W/"3"`, true},
		{"PUT", "Patient/" + id, "200", `W/"2"`, true},
		{"POST", "Patient", "201", `W/"1"`, true},
	}
	entries := r.entries(t)
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d\n%s", len(entries), len(want), r.body)
	}
	for i, w := range want {
		e := entries[i]
		if got := str(e, "request.method"); got != w.method {
			t.Errorf("entry %d: request.method %q, want %q", i, got, w.method)
		}
		if got := str(e, "request.url"); got != w.url {
			t.Errorf("entry %d: request.url %q, want %q", i, got, w.url)
		}
		if got := str(e, "response.status"); !strings.HasPrefix(got, w.status) {
			t.Errorf("entry %d: response.status %q, want %s", i, got, w.status)
		}
		if got := str(e, "response.etag"); got != w.etag {
			t.Errorf("entry %d: response.etag %q, want %s", i, got, w.etag)
		}
		if str(e, "response.lastModified") == "" {
			t.Errorf("entry %d: no response.lastModified", i)
		}
		if got := str(e, "fullUrl"); got != s.url+"/fhir/Patient/"+id {
			t.Errorf("entry %d: fullUrl %q", i, got)
		}
		if has := lookup(e, "resource") != nil; has != w.resource {
			t.Errorf("entry %d: has resource %v, want %v", i, has, w.resource)
		}
		if w.resource {
			if got := str(e, "resource.meta.versionId"); `W/"`+got+`"` != w.etag {
				t.Errorf("entry %d: resource.meta.versionId %q, etag %s", i, got, w.etag)
			}
		}
	}
	if n := s.total(t, "/fhir/Patient/"+other+"/_history"); n != 1 {
		t.Errorf("history of another resource: total %d, want 1", n)
	}

	t.Run("NeverExisted", func(t *testing.T) {
		s.get(t, "/fhir/Patient/never-was/_history").wantOutcome(t, http.StatusNotFound, "not-found", "")
		s.get(t, "/fhir/Observation/"+id+"/_history").wantOutcome(t, http.StatusNotFound, "not-found", "")
	})
	t.Run("BadParameters", func(t *testing.T) {
		for _, q := range []string{"_count=x", "_count=-1", "_since=yesterday", "_at=2024-13", "_since=2024-01-01T10:00:00+25:00"} {
			s.get(t, "/fhir/Patient/"+id+"/_history?"+q).wantOutcome(t, http.StatusBadRequest, "invalid", "")
			s.get(t, "/fhir/_history?"+q).wantOutcome(t, http.StatusBadRequest, "invalid", "")
		}
	})
}

func TestHistoryTypeAndSystem(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	if n := s.total(t, "/fhir/_history"); n != 0 {
		t.Fatalf("system history of an empty server: total %d", n)
	}
	r := s.get(t, "/fhir/Patient/_history")
	r.wantStatus(t, http.StatusOK)
	if r.num(t, "total") != 0 || r.get("entry") != nil {
		t.Errorf("empty type history:\n%s", r.body)
	}

	p1 := s.mustCreate(t, "Patient", patient(sys, "1"))
	o1 := s.mustCreate(t, "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"HR"},"subject":{"reference":"Patient/`+p1+`"}}`)
	p2 := s.mustCreate(t, "Patient", patient(sys, "2"))
	s.del(t, "/fhir/Observation/"+o1).wantStatus(t, http.StatusNoContent)

	r = s.get(t, "/fhir/Patient/_history")
	r.wantStatus(t, http.StatusOK)
	if r.num(t, "total") != 2 {
		t.Errorf("Patient history total %d, want 2", r.num(t, "total"))
	}
	var ids []string
	for _, e := range r.entries(t) {
		ids = append(ids, str(e, "resource.id"))
	}
	if fmt.Sprint(ids) != fmt.Sprint([]string{p2, p1}) {
		t.Errorf("Patient history ids %v, want %v (newest first)", ids, []string{p2, p1})
	}

	r = s.get(t, "/fhir/_history")
	r.wantStatus(t, http.StatusOK)
	r.wantResource(t, "Bundle")
	if r.num(t, "total") != 4 {
		t.Errorf("system history total %d, want 4", r.num(t, "total"))
	}
	var got []string
	for _, e := range r.entries(t) {
		got = append(got, str(e, "request.method")+" "+str(e, "request.url"))
	}
	want := []string{"DELETE Observation/" + o1, "POST Patient", "POST Observation", "POST Patient"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("system history %q, want %q", got, want)
	}
	if n := s.total(t, "/fhir/Observation/_history"); n != 2 {
		t.Errorf("Observation history total %d, want 2", n)
	}
	if n := s.total(t, "/fhir/Encounter/_history"); n != 0 {
		t.Errorf("Encounter history total %d, want 0", n)
	}
}

// TestHistoryPaging walks the next links of a history with _count and
// checks that every version appears exactly once, also when writes happen
// between the pages.
func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.mustCreate(t, "Patient", patient(sys, "page"))
	for i := 2; i <= 7; i++ {
		s.mustPut(t, "Patient", id, patient(sys, "page", `"id":"`+id+`"`, `"birthDate":"19`+strconv.Itoa(50+i)+`"`))
	}
	for i := 0; i < 3; i++ {
		s.mustCreate(t, "Patient", patient(sys, "other"+strconv.Itoa(i)))
	}

	walk := func(t *testing.T, path string, during func(page int)) []string {
		t.Helper()
		var seen []string
		next := path
		for page := 0; next != ""; page++ {
			if page > 20 {
				t.Fatalf("more than 20 pages")
			}
			r := s.get(t, next)
			r.wantStatus(t, http.StatusOK)
			entries := r.entries(t)
			if len(entries) > 3 {
				t.Errorf("page %d has %d entries, _count=3", page, len(entries))
			}
			for _, e := range entries {
				seen = append(seen, versionKey(e))
			}
			next = ""
			links, _ := r.get("link").([]any)
			for _, l := range links {
				if str(l, "relation") == "next" {
					next = str(l, "url")
				}
			}
			if next != "" {
				if !strings.HasPrefix(next, s.url+"/fhir/") {
					t.Fatalf("next link %q is not an absolute URL of this server", next)
				}
				u, _ := url.Parse(next)
				if u.Query().Get("_count") != "3" {
					t.Errorf("next link %q drops _count", next)
				}
				if len(entries) != 3 {
					t.Errorf("page %d has %d entries and a next link", page, len(entries))
				}
			}
			if during != nil {
				during(page)
			}
		}
		return seen
	}

	t.Run("Instance", func(t *testing.T) {
		// A write between pages makes version 8, which comes after the
		// walk started: the pages go on from where they were.
		seen := walk(t, "/fhir/Patient/"+id+"/_history?_count=3", func(page int) {
			if page == 0 {
				s.mustPut(t, "Patient", id, patient(sys, "page", `"id":"`+id+`"`, `"birthDate":"2000"`))
			}
		})
		var want []string
		for v := 7; v >= 1; v-- {
			want = append(want, s.url+"/fhir/Patient/"+id+`@W/"`+strconv.Itoa(v)+`"`)
		}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("pages gave\n%q\nwant\n%q", seen, want)
		}
	})
	t.Run("System", func(t *testing.T) {
		all := s.get(t, "/fhir/_history?_count=1000")
		total := all.num(t, "total")
		var want []string
		for _, e := range all.entries(t) {
			want = append(want, versionKey(e))
		}
		if len(want) != total || total != 11 {
			t.Fatalf("system history: %d entries, total %d, want 11", len(want), total)
		}
		seen := walk(t, "/fhir/_history?_count=3", func(page int) {
			if page == 1 {
				s.mustCreate(t, "Patient", patient(sys, "late"))
			}
		})
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("pages gave\n%q\nwant\n%q", seen, want)
		}
		if n := s.total(t, "/fhir/_history"); n != 12 {
			t.Errorf("total after the late write %d, want 12", n)
		}
	})
	t.Run("Type", func(t *testing.T) {
		seen := walk(t, "/fhir/Patient/_history?_count=3", nil)
		if len(seen) != 12 {
			t.Errorf("type history pages gave %d versions, want 12", len(seen))
		}
		dup := map[string]bool{}
		for _, v := range seen {
			if dup[v] {
				t.Errorf("version %s twice", v)
			}
			dup[v] = true
		}
	})
	t.Run("CountZero", func(t *testing.T) {
		// _count=0 asks for the total alone.
		r := s.get(t, "/fhir/Patient/_history?_count=0")
		r.wantStatus(t, http.StatusOK)
		if n := len(r.entries(t)); n != 0 {
			t.Errorf("_count=0 gave %d entries, want none", n)
		}
		if total := s.total(t, "/fhir/Patient/_history?_count=0"); total != 12 {
			t.Errorf("_count=0 gave total %d, want 12", total)
		}
	})
}

// versionKey names the version that a history entry holds.
func versionKey(e map[string]any) string {
	return str(e, "fullUrl") + "@" + str(e, "response.etag")
}

// TestHistorySinceAt checks _since and _at, whose boundaries are
// lastUpdated at millisecond precision.
func TestHistorySinceAt(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	lastUpdated := func(r *response) time.Time {
		t.Helper()
		return instant(t, r.str(t, "meta.lastUpdated"))
	}
	// Writes a few milliseconds apart, so that each has its own instant.
	pause := func() { time.Sleep(3 * time.Millisecond) }

	c := s.post(t, "/fhir/Patient", patient(sys, "s", `"active":true`))
	c.wantStatus(t, http.StatusCreated)
	id := c.str(t, "id")
	t1 := lastUpdated(c)
	pause()
	t2 := lastUpdated(s.mustPut(t, "Patient", id, patient(sys, "s", `"id":"`+id+`"`, `"active":false`)))
	pause()
	other := s.mustCreate(t, "Patient", patient(sys, "s2"))
	if t2.Sub(t1) < 2*time.Millisecond {
		t.Fatalf("versions %v and %v are too close", t1, t2)
	}

	versions := func(path string) []string {
		t.Helper()
		r := s.get(t, path)
		r.wantStatus(t, http.StatusOK)
		var out []string
		for _, e := range r.entries(t) {
			out = append(out, str(e, "resource.id")+"/"+str(e, "resource.meta.versionId"))
		}
		if n := r.num(t, "total"); n != len(out) {
			t.Errorf("%s: total %d, %d entries", path, n, len(out))
		}
		return out
	}
	q := url.QueryEscape

	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"SinceT1", "/fhir/Patient/" + id + "/_history?_since=" + q(formatInstant(t1)), []string{id + "/2", id + "/1"}},
		{"SinceT2", "/fhir/Patient/" + id + "/_history?_since=" + q(formatInstant(t2)), []string{id + "/2"}},
		{"SinceAfterT2", "/fhir/Patient/" + id + "/_history?_since=" + q(formatInstant(t2.Add(time.Millisecond))), nil},
		{"SinceType", "/fhir/Patient/_history?_since=" + q(formatInstant(t2)), []string{other + "/1", id + "/2"}},
		{"SinceSystem", "/fhir/_history?_since=" + q(formatInstant(t2)), []string{other + "/1", id + "/2"}},
		{"SinceFuture", "/fhir/_history?_since=" + q(formatInstant(time.Now().Add(time.Hour))), nil},
		{"SincePastDay", "/fhir/_history?_since=2000-01-01", []string{other + "/1", id + "/2", id + "/1"}},
		{"SinceOffset", "/fhir/Patient/" + id + "/_history?_since=" + q(t2.In(time.FixedZone("JST", 9*3600)).Format("2006-01-02T15:04:05.000-07:00")), []string{id + "/2"}},
		// Between t1 and t2 only version 1 was current.
		{"AtBetween", "/fhir/Patient/" + id + "/_history?_at=" + q(formatInstant(t1.Add(t2.Sub(t1)/2))), []string{id + "/1"}},
		{"AtT1", "/fhir/Patient/" + id + "/_history?_at=" + q(formatInstant(t1)), []string{id + "/1"}},
		{"AtT2", "/fhir/Patient/" + id + "/_history?_at=" + q(formatInstant(t2)), []string{id + "/2"}},
		{"AtNow", "/fhir/Patient/" + id + "/_history?_at=" + q(formatInstant(time.Now())), []string{id + "/2"}},
		{"AtBefore", "/fhir/Patient/" + id + "/_history?_at=" + q(formatInstant(t1.Add(-time.Millisecond))), nil},
		{"AtBetweenType", "/fhir/Patient/_history?_at=" + q(formatInstant(t1.Add(t2.Sub(t1)/2))), []string{id + "/1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := versions(tt.path); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s: got %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}
