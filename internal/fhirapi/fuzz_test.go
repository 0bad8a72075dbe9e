package fhirapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"kartehub/internal/server/servertest"
	"kartehub/internal/store/sqlite"
)

// FuzzAPI sends arbitrary requests to the whole FHIR API on a real store:
// whatever comes in, the answer is never a server error, and every error is
// an OperationOutcome.
func FuzzAPI(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"山田","given":["太郎"]}],"birthDate":"1950-04-01"}`},
		{"PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","active":true}`},
		{"PATCH", "/fhir/Patient/p1", `[{"op":"replace","path":"/active","value":false}]`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation"}}]}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p1"}},{"request":{"method":"DELETE","url":"Patient?identifier=a|b"}}]}`},
		{"GET", "/fhir/Patient/p1/_history?_count=1&_since=2020", ""},
		{"DELETE", "/fhir/Patient?identifier=x", ""},
		{"GET", "/fhir/Observation?patient=Patient/p1&code=http://loinc.org|8867-4&_sort=-date,_id&_count=2", ""},
		{"GET", "/fhir/Patient?name:contains=やまだ&birthdate=ge1950&_has:Observation:patient:code=x&_total=accurate", ""},
		{"GET", "/fhir/Observation?subject:Patient.name=a&value-quantity=gt5.4|http://unitsofmeasure.org|mg&_include=Observation:subject", ""},
		{"GET", "/fhir/Observation?code-value-quantity=http://loinc.org|1$lt10&_elements=code&_summary=true", ""},
		{"GET", "/fhir?_type=Patient,Observation&_lastUpdated=ap2020-01&_cursor=eyJrIjpbXSwiciI6MX0", ""},
		{"GET", "/fhir/Patient/p1/$everything?_count=1", ""},
		{"POST", "/fhir/Patient/_search", "name=x&_sort=family"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "kartehub.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	env := servertest.Start(f, st, nil)
	h := env.Server.Handler()
	auth := "Bearer " + env.ClientToken(f, "system/*.cruds", apiRoles)
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		underBase := path == "/fhir" || strings.HasPrefix(path, "/fhir/") || strings.HasPrefix(path, "/fhir?")
		if !underBase || strings.ContainsAny(path, " \r\n#") {
			return // outside the FHIR API
		}
		req, err := http.NewRequest(method, "http://kartehub.test"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", auth)
		if method == "PATCH" {
			req.Header.Set("Content-Type", "application/json-patch+json")
		} else if len(body) > 0 {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Body.Len() == 0 || rec.Code < 400 {
			return
		}
		var oo struct{ ResourceType string }
		if err := json.Unmarshal(rec.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" {
			t.Fatalf("%s %s %q: status %d with a body that is not an OperationOutcome: %s", method, path, body, rec.Code, rec.Body)
		}
	})
}
