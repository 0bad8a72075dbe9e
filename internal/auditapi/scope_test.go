package auditapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/auditapi"
	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/search"
	"kartehub/internal/searchparam"
	"kartehub/internal/store/sqlite"
)

// TestScope serves the trail under authorisation decisions: a facility's
// auditor gets the events that name its patients (p0 and p1 belong to
// hub, p2 and p3 to clinic), page after page; a decision for every
// facility gets all; no decision, or one limited by a SMART scope, gets
// nothing.
func TestScope(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	audittest.BuildSearch(t, st, n)
	rec := record.New(st, record.WithSearch(search.New(searchparam.New())))
	for i, org := range []string{"hub", "hub", "clinic", "clinic"} {
		id := "p" + strconv.Itoa(i)
		body := `{"resourceType":"Patient","id":"` + id + `","managingOrganization":{"reference":"Organization/` + org + `"}}`
		if _, err := rec.Update(context.Background(), "Patient", id, []byte(body), 0); err != nil {
			t.Fatal(err)
		}
	}
	h := auditapi.New(st, "/fhir", auditapi.Options{Location: time.UTC, Patients: rec})
	serve := func(d *karte.Decision, path string) (int, map[string]any) {
		req := httptest.NewRequest("GET", path, nil)
		if d != nil {
			req = req.WithContext(karte.WithDecision(req.Context(), *d))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var b map[string]any
		json.Unmarshal(w.Body.Bytes(), &b)
		return w.Code, b
	}
	pages := func(d *karte.Decision, path string) []int64 {
		var all []int64
		for path != "" {
			code, b := serve(d, path)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %v", path, code, b)
			}
			all = append(all, ids(t, b)...)
			path = ""
			for _, l := range b["link"].([]any) {
				if l := l.(map[string]any); l["relation"] == "next" {
					path = l["url"].(string)
				}
			}
		}
		return all
	}

	hub := &karte.Decision{Allow: true, Facilities: karte.FacilityFilter{IDs: []string{"hub"}}}
	ofHub := where(func(_ int, e *audit.Event) bool {
		return slices.Contains(e.Patients, "Patient/p0") || slices.Contains(e.Patients, "Patient/p1")
	})
	if len(ofHub) == 0 || len(ofHub) == n {
		t.Fatalf("the fixture gives %d of %d events to hub", len(ofHub), n)
	}
	for _, path := range []string{"/fhir/AuditEvent?_count=100", "/fhir/AuditEvent?_count=3", "/fhir/AuditEvent?_count=1"} {
		if got := pages(hub, path); !slices.Equal(got, ofHub) {
			t.Errorf("hub, %s: %v, want %v", path, got, ofHub)
		}
	}
	// Pages cut short by the number of records one page may read go on
	// where they stopped.
	restore := auditapi.SetScanBudget(5)
	if got := pages(hub, "/fhir/AuditEvent?_count=2"); !slices.Equal(got, ofHub) {
		t.Errorf("hub, reading 5 records a page: %v, want %v", got, ofHub)
	}
	restore()
	if got := pages(&karte.Decision{Allow: true, Facilities: karte.FacilityFilter{Any: true}}, "/fhir/AuditEvent?_count=100"); len(got) != n {
		t.Errorf("every facility: %d events, want %d", len(got), n)
	}
	if got := pages(&karte.Decision{Allow: true, Facilities: karte.FacilityFilter{IDs: []string{"elsewhere"}}}, "/fhir/AuditEvent"); len(got) != 0 {
		t.Errorf("a facility without patients: %v", got)
	}
	// A search event can name more patients than one statement may ask
	// about.
	many := make([]string, 1200)
	for i := range many {
		many[i] = "Patient/x" + strconv.Itoa(i)
	}
	many[1100] = "Patient/p1"
	w := audit.NewWriter(st, audit.NewChain(audittest.Key, audittest.Every), audit.WriterOptions{})
	err = w.Record(context.Background(), &audit.Event{Type: audit.Rest, Interaction: "search-type", Patients: many})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := pages(hub, "/fhir/AuditEvent?_count=1"); len(got) != len(ofHub)+1 || got[0] != n+1 {
		t.Errorf("hub, with an event of 1,200 patients: %v", got)
	}
	if code, _ := serve(hub, "/fhir/AuditEvent/"+strconv.FormatInt(ofHub[0], 10)); code != http.StatusOK {
		t.Errorf("hub reading its event: %d", code)
	}
	other := where(func(i int, _ *audit.Event) bool { return !slices.Contains(ofHub, int64(i)) })[0]
	if code, _ := serve(hub, "/fhir/AuditEvent/"+strconv.FormatInt(other, 10)); code != http.StatusForbidden {
		t.Errorf("hub reading event %d, not its own: %d, want 403", other, code)
	}
	for name, d := range map[string]*karte.Decision{
		"no decision": nil,
		"a patient scope": {Allow: true, Facilities: karte.FacilityFilter{Any: true},
			Limits: []karte.ScopeLimit{{Scope: "patient/AuditEvent.rs", Patient: "p0"}}},
	} {
		for _, path := range []string{"/fhir/AuditEvent", "/fhir/AuditEvent/1"} {
			if code, _ := serve(d, path); code != http.StatusForbidden {
				t.Errorf("%s, %s: %d, want 403", name, path, code)
			}
		}
	}
}
