package fhirapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// summaryPatient has summary elements (identifier, name, gender,
// birthDate, managingOrganization) and others (text, contact,
// communication, maritalStatus, extension).
const summaryPatient = `{"resourceType":"Patient",
	"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Ann Smith</div>"},
	"extension":[{"url":"http://example.org/ext","valueString":"x"}],
	"identifier":[{"system":"urn:mrn","value":"sum-1"}],
	"name":[{"family":"Smith","given":["Ann"]}],
	"gender":"female","birthDate":"1980-05-06",
	"maritalStatus":{"text":"married"},
	"contact":[{"name":{"family":"Smith","given":["Bo"]}}],
	"communication":[{"language":{"text":"en"}}],
	"managingOrganization":{"display":"Org"}}`

// summaryObservation has the summary elements status, code, subject,
// effective[x] and value[x], and the others category and note.
const summaryObservation = `{"resourceType":"Observation","status":"final",
	"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
	"code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},
	"subject":{"reference":"Patient/%s"},
	"effectiveDateTime":"2024-01-02","valueQuantity":{"value":176,"unit":"cm"},
	"note":[{"text":"standing"}]}`

// summaryKeys returns the member names of a decoded resource, sorted.
func summaryKeys(res any) []string {
	m, _ := res.(map[string]any)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// summaryTagged reports whether a decoded resource has the SUBSETTED tag.
func summaryTagged(res any) bool {
	tags, _ := lookup(res, "meta.tag").([]any)
	return slices.ContainsFunc(tags, func(t any) bool {
		return str(t, "system") == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue" && str(t, "code") == "SUBSETTED"
	})
}

var (
	summaryPatientKeys     = []string{"birthDate", "gender", "id", "identifier", "managingOrganization", "meta", "name", "resourceType"}
	summaryObservationKeys = []string{"code", "effectiveDateTime", "id", "meta", "resourceType", "status", "subject", "valueQuantity"}
)

// TestSummaryRead covers _summary=true on read and vread: the summary
// elements with the SUBSETTED tag, and the version headers of the resource.
func TestSummaryRead(t *testing.T) {
	s := newServer(t)
	id := s.mustCreate(t, "Patient", summaryPatient)
	whole := s.get(t, "/fhir/Patient/"+id)
	whole.wantStatus(t, http.StatusOK)
	if summaryTagged(whole.json) {
		t.Errorf("SUBSETTED without _summary: %s", whole.body)
	}
	for _, path := range []string{
		"/fhir/Patient/" + id + "?_summary=true",
		"/fhir/Patient/" + id + "/_history/1?_summary=true",
		"/fhir/Patient/" + id + "?_summary=true&_pretty=true",
	} {
		t.Run(path, func(t *testing.T) {
			r := s.get(t, path)
			r.wantStatus(t, http.StatusOK)
			r.wantResource(t, "Patient")
			if got := summaryKeys(r.json); !slices.Equal(got, summaryPatientKeys) {
				t.Errorf("members %v, want %v", got, summaryPatientKeys)
			}
			if !summaryTagged(r.json) {
				t.Errorf("no SUBSETTED tag: %s", r.body)
			}
			if str(r.json, "name[0].given[0]") != "Ann" || str(r.json, "meta.versionId") != "1" {
				t.Errorf("name or versionId lost: %s", r.body)
			}
			r.wantHeader(t, "ETag", whole.header.Get("ETag"))
			r.wantHeader(t, "Last-Modified", whole.header.Get("Last-Modified"))
		})
	}
	t.Run("not modified", func(t *testing.T) {
		r := s.get(t, "/fhir/Patient/"+id+"?_summary=true", "If-None-Match", whole.header.Get("ETag"))
		r.wantStatus(t, http.StatusNotModified)
	})
	t.Run("other _summary values read whole", func(t *testing.T) {
		r := s.get(t, "/fhir/Patient/"+id+"?_summary=false")
		r.wantStatus(t, http.StatusOK)
		if summaryTagged(r.json) || lookup(r.json, "contact") == nil {
			t.Errorf("_summary=false: %s", r.body)
		}
	})
}

// TestSummarySearch covers _summary=true on search, by GET and by POST:
// each entry's resource is its summary; the Bundle itself is whole.
func TestSummarySearch(t *testing.T) {
	s := newServer(t)
	pid := s.mustCreate(t, "Patient", summaryPatient)
	oid := s.mustCreate(t, "Observation", fmt.Sprintf(summaryObservation, pid))
	check := func(t *testing.T, r *response, typ, id string, want []string) {
		t.Helper()
		r.wantStatus(t, http.StatusOK)
		r.wantResource(t, "Bundle")
		if r.get("type") != "searchset" || r.get("link") == nil {
			t.Errorf("the Bundle itself was summarised: %s", r.body)
		}
		entries := r.entries(t)
		if len(entries) != 1 {
			t.Fatalf("%d entries, want 1: %s", len(entries), r.body)
		}
		res := entries[0]["resource"]
		if str(res, "resourceType") != typ || str(res, "id") != id {
			t.Fatalf("entry %v, want %s/%s", res, typ, id)
		}
		if got := summaryKeys(res); !slices.Equal(got, want) {
			t.Errorf("members %v, want %v", got, want)
		}
		if !summaryTagged(res) {
			t.Errorf("no SUBSETTED tag: %v", res)
		}
	}
	t.Run("Patient", func(t *testing.T) {
		r := s.get(t, "/fhir/Patient?identifier=urn:mrn|sum-1&_summary=true")
		check(t, r, "Patient", pid, summaryPatientKeys)
	})
	t.Run("Observation", func(t *testing.T) {
		r := s.get(t, "/fhir/Observation?subject=Patient/"+pid+"&_summary=true")
		check(t, r, "Observation", oid, summaryObservationKeys)
		if str(r.entries(t)[0], "resource.valueQuantity.unit") != "cm" {
			t.Errorf("valueQuantity lost: %s", r.body)
		}
	})
	t.Run("POST _search", func(t *testing.T) {
		form := url.Values{"_id": {oid}, "_summary": {"true"}}.Encode()
		r := s.post(t, "/fhir/Observation/_search", form, "Content-Type", "application/x-www-form-urlencoded")
		check(t, r, "Observation", oid, summaryObservationKeys)
	})
	t.Run("no _summary", func(t *testing.T) {
		r := s.get(t, "/fhir/Observation?_id="+oid)
		r.wantStatus(t, http.StatusOK)
		if res := r.entries(t)[0]["resource"]; summaryTagged(res) || lookup(res, "category") == nil {
			t.Errorf("shaped without _summary: %v", res)
		}
	})
}
