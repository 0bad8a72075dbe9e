package fhir_test

import (
	"path/filepath"
	"slices"
	"testing"

	"kartehub/internal/fhir"
)

// subsetted is the meta.tag coding Summarize adds, as JSON.
const subsetted = `{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}`

const div = `"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"`

func TestSummarize(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{{
		// The R4 summary elements of Patient are identifier, active, name,
		// telecom, gender, birthDate, deceased[x], address,
		// managingOrganization and link; HumanName keeps all of its own
		// elements, Reference drops its extensions, and the extensions of a
		// primitive (_given, _birthDate) stay with it.
		name: "Patient",
		in: `{"resourceType":"Patient","id":"p1",
			"meta":{"versionId":"2","lastUpdated":"2024-01-02T03:04:05.678Z"},
			"text":{"status":"generated","div":` + div + `},
			"extension":[{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex","valueCode":"F"}],
			"identifier":[{"system":"urn:mrn","value":"123","period":{"start":"2000"}}],
			"active":true,
			"name":[{"extension":[{"url":"http://example.org/n","valueString":"z"}],"use":"official","family":"Smith",
				"given":["Ann",null],"_given":[null,{"extension":[{"url":"http://example.org/g","valueString":"y"}]}]}],
			"telecom":[{"system":"phone","value":"555"}],
			"gender":"female",
			"birthDate":"1980-05-06",
			"_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1980-05-06T07:08:09Z"}]},
			"deceasedBoolean":false,
			"address":[{"line":["1 Main St"],"city":"Boston"}],
			"maritalStatus":{"text":"M"},
			"multipleBirthBoolean":false,
			"photo":[{"contentType":"image/png","data":"AAAA"}],
			"contact":[{"name":{"family":"Smith"}}],
			"communication":[{"language":{"text":"en"},"preferred":true}],
			"generalPractitioner":[{"reference":"Practitioner/1"}],
			"managingOrganization":{"reference":"Organization/1","display":"Org","extension":[{"url":"http://example.org/r","valueString":"q"}]},
			"link":[{"other":{"reference":"Patient/2"},"type":"seealso"}]}`,
		want: `{"resourceType":"Patient","id":"p1",
			"meta":{"versionId":"2","lastUpdated":"2024-01-02T03:04:05.678Z","tag":[` + subsetted + `]},
			"identifier":[{"system":"urn:mrn","value":"123","period":{"start":"2000"}}],
			"active":true,
			"name":[{"use":"official","family":"Smith",
				"given":["Ann",null],"_given":[null,{"extension":[{"url":"http://example.org/g","valueString":"y"}]}]}],
			"telecom":[{"system":"phone","value":"555"}],
			"gender":"female",
			"birthDate":"1980-05-06",
			"_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1980-05-06T07:08:09Z"}]},
			"deceasedBoolean":false,
			"address":[{"line":["1 Main St"],"city":"Boston"}],
			"managingOrganization":{"reference":"Organization/1","display":"Org"},
			"link":[{"other":{"reference":"Patient/2"},"type":"seealso"}]}`,
	}, {
		// Observation drops category, interpretation, note, bodySite,
		// method and referenceRange, also inside component.
		name: "Observation",
		in: `{"resourceType":"Observation","id":"o1","status":"final",
			"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"BP"},
			"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},
			"effectiveDateTime":"2024-01-02T03:04:05Z","issued":"2024-01-02T03:04:05.000Z",
			"performer":[{"reference":"Practitioner/1"}],
			"valueString":"120/80",
			"interpretation":[{"text":"high"}],"note":[{"text":"n"}],"bodySite":{"text":"arm"},"method":{"text":"m"},
			"referenceRange":[{"low":{"value":1}}],
			"component":[{"code":{"text":"systolic"},
				"valueQuantity":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},
				"interpretation":[{"text":"H"}],"referenceRange":[{"text":"r"}]}]}`,
		want: `{"resourceType":"Observation","id":"o1","meta":{"tag":[` + subsetted + `]},"status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"BP"},
			"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},
			"effectiveDateTime":"2024-01-02T03:04:05Z","issued":"2024-01-02T03:04:05.000Z",
			"performer":[{"reference":"Practitioner/1"}],
			"valueString":"120/80",
			"component":[{"code":{"text":"systolic"},
				"valueQuantity":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
	}, {
		// Appointment.participant is not summary but mandatory (1..*): it
		// is kept, with its summary elements and its mandatory status.
		name: "Mandatory",
		in: `{"resourceType":"Appointment","id":"a","status":"booked","comment":"c",
			"participant":[{"type":[{"text":"t"}],"actor":{"reference":"Patient/1"},"required":"required","status":"accepted","period":{"start":"2020"}}]}`,
		want: `{"resourceType":"Appointment","id":"a","meta":{"tag":[` + subsetted + `]},"status":"booked",
			"participant":[{"type":[{"text":"t"}],"actor":{"reference":"Patient/1"},"required":"required","status":"accepted"}]}`,
	}, {
		// A mandatory element left without content is kept whole; an
		// optional one is dropped.
		name: "MandatoryWithoutSummaryContent",
		in: `{"resourceType":"Observation","status":"final",
			"code":{"extension":[{"url":"http://example.org/c","valueString":"x"}]},
			"subject":{"extension":[{"url":"http://example.org/s","valueString":"x"}]}}`,
		want: `{"resourceType":"Observation","meta":{"tag":[` + subsetted + `]},"status":"final",
			"code":{"extension":[{"url":"http://example.org/c","valueString":"x"}]}}`,
	}, {
		// A backbone element keeps its modifierExtension (summary in
		// BackboneElement), whole, while its own extensions go.
		name: "ModifierExtension",
		in: `{"resourceType":"Patient","id":"p",
			"link":[{"modifierExtension":[{"url":"http://example.org/m","valueBoolean":true}],
				"extension":[{"url":"http://example.org/e","valueBoolean":true}],
				"other":{"reference":"Patient/2"},"type":"refer"}]}`,
		want: `{"resourceType":"Patient","id":"p","meta":{"tag":[` + subsetted + `]},
			"link":[{"modifierExtension":[{"url":"http://example.org/m","valueBoolean":true}],
				"other":{"reference":"Patient/2"},"type":"refer"}]}`,
	}, {
		// Nested resources are summarised and tagged in turn.
		name: "Bundle",
		in: `{"resourceType":"Bundle","id":"b","type":"collection",
			"entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","text":{"status":"generated","div":` + div + `},"gender":"male"}}]}`,
		want: `{"resourceType":"Bundle","id":"b","meta":{"tag":[` + subsetted + `]},"type":"collection",
			"entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","meta":{"tag":[` + subsetted + `]},"gender":"male"}}]}`,
	}, {
		// meta is kept as it is, and a SUBSETTED tag already there is not
		// added again.
		name: "AlreadySubsetted",
		in: `{"resourceType":"Patient","id":"p",
			"meta":{"extension":[{"url":"http://example.org/m","valueString":"x"}],"tag":[{"code":"x"},` + subsetted + `]},
			"gender":"other","contact":[{"gender":"male"}]}`,
		want: `{"resourceType":"Patient","id":"p",
			"meta":{"extension":[{"url":"http://example.org/m","valueString":"x"}],"tag":[{"code":"x"},` + subsetted + `]},
			"gender":"other"}`,
	}, {
		// Members R4 does not define are dropped.
		name: "Unknown",
		in:   `{"resourceType":"Patient","gender":"male","nickname":"x","_nickname":{"id":"1"}}`,
		want: `{"resourceType":"Patient","meta":{"tag":[` + subsetted + `]},"gender":"male"}`,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			in := parseResource(t, tt.in)
			if issues := fhir.Validate(in); tt.name != "Unknown" && issues != nil {
				t.Fatalf("test input is not valid:%s", formatIssues(issues))
			}
			before := fhir.Marshal(in)
			got := fhir.Summarize(in)
			if g, w := fhir.Marshal(got), fhir.Marshal(parseResource(t, tt.want)); string(g) != string(w) {
				t.Errorf("got  %s\nwant %s", g, w)
			}
			if issues := fhir.Validate(got); issues != nil {
				t.Errorf("summary is not valid:%s", formatIssues(issues))
			}
			if string(fhir.Marshal(in)) != string(before) {
				t.Errorf("Summarize changed its input")
			}
		})
	}
}

// TestSummarizeCopies checks that the summary shares nothing with the
// resource: changing one leaves the other alone.
func TestSummarizeCopies(t *testing.T) {
	in := parseResource(t, `{"resourceType":"Patient","meta":{"tag":[{"code":"a"}]},"name":[{"given":["Ann"]}],"_gender":{"id":"g"},"gender":"female"}`)
	before := string(fhir.Marshal(in))
	got := fhir.Summarize(in)
	got.Object("meta").Set("versionId", "9")
	name, _ := got.Get("name")
	name.([]fhir.Value)[0].(*fhir.Object).Set("family", "Smith")
	given, _ := name.([]fhir.Value)[0].(*fhir.Object).Get("given")
	given.([]fhir.Value)[0] = "Bo"
	got.Object("_gender").Set("id", "h")
	if after := string(fhir.Marshal(in)); after != before {
		t.Errorf("changing the summary changed the resource:\n%s\n%s", before, after)
	}
}

func TestSummarizeNil(t *testing.T) {
	if got := fhir.Summarize(nil); got != nil {
		t.Errorf("Summarize(nil) = %s", fhir.Marshal(got))
	}
}

func TestElementIsSummary(t *testing.T) {
	for _, tt := range []struct {
		typ, elem string
		want      bool
	}{
		{"Patient", "id", true},
		{"Patient", "meta", true},
		{"Patient", "implicitRules", true},
		{"Patient", "language", false},
		{"Patient", "text", false},
		{"Patient", "contained", false},
		{"Patient", "extension", false},
		{"Patient", "modifierExtension", false},
		{"Patient", "name", true},
		{"Patient", "deceased", true},
		{"Patient", "contact", false},
		{"Patient", "communication", false},
		{"Patient", "generalPractitioner", false},
		{"Patient", "managingOrganization", true},
		{"Observation", "value", true},
		{"Observation", "category", false},
		{"HumanName", "id", false},
		{"HumanName", "extension", false},
		{"HumanName", "given", true},
		{"Age", "value", true}, // inherited from Quantity
		{"Extension", "url", false},
		{"Narrative", "div", false},
		{"BackboneElement", "modifierExtension", true},
	} {
		t.Run(tt.typ+"."+tt.elem, func(t *testing.T) {
			e, ok := fhir.TypeOf(tt.typ).Element(tt.elem)
			if !ok {
				t.Fatal("no such element")
			}
			if got := e.IsSummary(); got != tt.want {
				t.Errorf("IsSummary() = %t, want %t", got, tt.want)
			}
		})
	}
	// A backbone element inherits modifierExtension's flag too.
	link, _ := fhir.TypeOf("Patient").Element("link")
	if e, _ := link.Type().Element("modifierExtension"); !e.IsSummary() {
		t.Errorf("Patient.link.modifierExtension is not summary")
	}
}

// TestSummarizeSynthea summarises every resource of the Synthea bundles:
// each summary must be valid and summarise to itself, and the first
// Patient and Observation must keep and drop what R4 says.
func TestSummarizeSynthea(t *testing.T) {
	files := syntheaFiles(t)
	if testing.Short() && len(files) > 3 {
		files = files[:3]
	}
	first := map[string]*fhir.Object{}
	total := 0
	for _, name := range files {
		bundle := readResource(t, name)
		entries, _ := bundle.Get("entry")
		for _, e := range entries.([]fhir.Value) {
			res := e.(*fhir.Object).Object("resource")
			got := fhir.Summarize(res)
			where := filepath.Base(name) + ": " + res.String("resourceType") + "/" + res.String("id")
			if issues := fhir.Validate(got); issues != nil {
				t.Errorf("%s: summary is not valid:%s", where, formatIssues(issues))
			}
			if again := fhir.Summarize(got); string(fhir.Marshal(again)) != string(fhir.Marshal(got)) {
				t.Errorf("%s: the summary of the summary differs:\n%s\n%s", where, fhir.Marshal(got), fhir.Marshal(again))
			}
			if _, ok := first[res.String("resourceType")]; !ok {
				first[res.String("resourceType")] = res
			}
			total++
		}
	}
	t.Logf("summarised %d resources of %d bundles", total, len(files))

	for _, tt := range []struct {
		typ        string
		keep, drop []string
	}{
		{"Patient",
			[]string{"resourceType", "id", "meta", "identifier", "name", "telecom", "gender", "birthDate", "address"},
			[]string{"text", "extension", "maritalStatus", "multipleBirthBoolean", "multipleBirthInteger", "communication"}},
		{"Observation",
			[]string{"resourceType", "id", "meta", "status", "code", "subject", "encounter", "effectiveDateTime", "issued"},
			[]string{"category"}},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			res := first[tt.typ]
			if res == nil {
				t.Skipf("no %s in the Synthea data", tt.typ)
			}
			got := fhir.Summarize(res)
			for _, k := range tt.keep {
				if _, ok := res.Get(k); !ok {
					continue // not in this resource
				}
				if _, ok := got.Get(k); !ok {
					t.Errorf("%s dropped", k)
				}
			}
			for _, k := range tt.drop {
				if _, ok := got.Get(k); ok {
					t.Errorf("%s kept", k)
				}
			}
			if len(fhir.Marshal(got)) >= len(fhir.Marshal(res)) {
				t.Errorf("the summary is not smaller")
			}
			t.Logf("%d bytes, summary %d: %s", len(fhir.Marshal(res)), len(fhir.Marshal(got)), fhir.Marshal(got))
		})
	}
}

// TestSummarizeFHIRPathResources summarises the valid resources of the
// FHIRPath test suite (the R4 examples): all summaries must be valid.
func TestSummarizeFHIRPathResources(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(validateData, "fhirpath", "resources", "*.json"))
	if len(files) == 0 {
		t.Skip("no FHIRPath test resources in " + filepath.Join(validateData, "fhirpath"))
	}
	for _, name := range files {
		res := readResource(t, name)
		if _, ok := res.Get("resourceType"); !ok || fhir.Validate(res) != nil {
			continue
		}
		got := fhir.Summarize(res)
		if issues := fhir.Validate(got); issues != nil {
			t.Errorf("%s: summary is not valid:%s", filepath.Base(name), formatIssues(issues))
		}
		tags, _ := got.Object("meta").Get("tag")
		if !slices.ContainsFunc(tags.([]fhir.Value), func(v fhir.Value) bool {
			return v.(*fhir.Object).String("code") == "SUBSETTED"
		}) {
			t.Errorf("%s: no SUBSETTED tag", filepath.Base(name))
		}
	}
}
