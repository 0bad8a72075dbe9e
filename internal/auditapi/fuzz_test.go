package auditapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/auditapi"
)

// FuzzSearch sends arbitrary queries to the search: whatever comes in,
// Parse gives a query the engines accept or an error, and the answer is a
// Bundle or an OperationOutcome, never a server error.
func FuzzSearch(f *testing.F) {
	for _, q := range []string{
		"patient=Patient/p1&agent=sato&date=ge2026-11-01&date=lt2026-12-01&action=R&type=rest&subtype=read&outcome=0&entity=Observation/5&_count=50&_sort=-date",
		"patient=p1,p2&_total=accurate&_count=0",
		"date=2026-11-02T09:00:00+09:00&_sort=date&_cursor=12",
		"date=eb2026-11-01T05:00Z&date=sa2025&_id=5",
		"date=2026-11-01T05:00:00.000000005Z",
		"type=http://dicom.nema.org/resources/ontology/DCM|110114&outcome=http://hl7.org/fhir/audit-event-outcome|4",
		`entity-id=a\,b,c\\&purpose=BTG&address=10.0.0.9`,
		"patient:missing=true",
		"_count=-1&_total=x&_sort=x&_format=xml",
		"date=9999-12-31T23:59:59.999999999-14:00&date=0001",
		"_id=9223372036854775806",
	} {
		f.Add(q)
	}
	log := &audittest.MemLog{}
	audittest.BuildSearch(f, log, 20)
	h := auditapi.New(log, "/fhir", auditapi.Options{Location: time.UTC})
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if s, err := auditapi.Parse(values, time.UTC); err == nil {
			q := s.Page()
			if err := q.Validate(); err != nil {
				t.Fatalf("Parse(%q) made a query the engines refuse: %v", raw, err)
			}
			if s.Count < 0 || s.Count > auditapi.MaxCount || q.Limit != s.Count {
				t.Fatalf("Parse(%q): count %d, limit %d", raw, s.Count, q.Limit)
			}
		}
		req := httptest.NewRequest("GET", "/fhir/AuditEvent?"+values.Encode(), nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body struct{ ResourceType string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%q: %d, no JSON: %s", raw, rec.Code, rec.Body)
		}
		switch {
		case rec.Code >= 500:
			t.Fatalf("%q: %d %s", raw, rec.Code, rec.Body)
		case rec.Code == 200 && body.ResourceType != "Bundle",
			rec.Code != 200 && body.ResourceType != "OperationOutcome":
			t.Fatalf("%q: %d %s", raw, rec.Code, rec.Body)
		}
	})
}
