package searchparam_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

func mustParse(tb testing.TB, js string) *fhir.Object {
	tb.Helper()
	obj, err := fhir.ParseObject([]byte(js))
	if err != nil {
		tb.Fatal(err)
	}
	return obj
}

// kanaJSON is a custom SearchParameter as a JP Core server might define it:
// a patient's kana name, on Patient and RelatedPerson.
const kanaJSON = `{
  "resourceType": "SearchParameter",
  "url": "http://example.org/fhir/SearchParameter/kana",
  "name": "Kana",
  "status": "active",
  "description": "Name in kana",
  "code": "kana",
  "base": ["RelatedPerson", "Patient"],
  "type": "string",
  "expression": "Patient.name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'SYL') | RelatedPerson.name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'SYL')",
  "multipleAnd": false
}`

func TestFromResource(t *testing.T) {
	ps, err := searchparam.FromResource(mustParse(t, kanaJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Base != "Patient" || ps[1].Base != "RelatedPerson" {
		t.Fatalf("got %d params: %+v", len(ps), ps)
	}
	for _, p := range ps {
		if p.URL != "http://example.org/fhir/SearchParameter/kana" || p.Code != "kana" || p.Name != "Kana" ||
			p.Type != searchparam.String || !p.MultipleOr || p.MultipleAnd {
			t.Errorf("%+v", p)
		}
		want := p.Base + ".name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'SYL')"
		if p.Expression != want {
			t.Errorf("%s expression %q, want %q", p.Base, p.Expression, want)
		}
	}
	r := searchparam.New()
	if err := r.Add(ps...); err != nil {
		t.Fatal(err)
	}
	mustLookup(t, r, "Patient", "kana")
	mustLookup(t, r, "RelatedPerson", "kana")
}

func TestFromResourceReferenceAndComposite(t *testing.T) {
	ref := mustParse(t, `{
	  "resourceType": "SearchParameter", "url": "http://example.org/sp/facility", "name": "facility",
	  "status": "active", "code": "facility", "base": ["Observation", "Encounter"], "type": "reference",
	  "expression": "Observation.performer.where(resolve() is Organization) | Encounter.serviceProvider",
	  "target": ["Organization", "Location"], "modifier": ["missing"], "chain": ["identifier"]
	}`)
	ps, err := searchparam.FromResource(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[0].Targets; ps[0].Base != "Encounter" || !slices.Equal(got, []string{"Location", "Organization"}) {
		t.Errorf("Encounter targets %q", got)
	}
	if got := ps[1].Targets; ps[1].Base != "Observation" || !slices.Equal(got, []string{"Organization"}) {
		t.Errorf("Observation targets %q", got)
	}
	if !slices.Equal(ps[0].Modifiers, []string{"missing"}) || !slices.Equal(ps[0].Chains, []string{"identifier"}) {
		t.Errorf("modifiers %q, chains %q", ps[0].Modifiers, ps[0].Chains)
	}

	comp := mustParse(t, `{
	  "resourceType": "SearchParameter", "url": "http://example.org/sp/code-facility", "name": "codeFacility",
	  "status": "active", "code": "code-facility", "base": ["Observation"], "type": "composite",
	  "expression": "Observation", "multipleOr": false,
	  "component": [
	    {"definition": "http://hl7.org/fhir/SearchParameter/clinical-code", "expression": "code"},
	    {"definition": "http://example.org/sp/facility", "expression": "performer"}
	  ]
	}`)
	cs, err := searchparam.FromResource(comp)
	if err != nil {
		t.Fatal(err)
	}
	r := searchparam.New()
	if err := r.Add(cs...); !karte.IsKind(err, karte.Unprocessable) {
		t.Errorf("composite before its component: %v, want unprocessable", err)
	}
	if err := r.Add(ps...); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(cs...); err != nil {
		t.Fatal(err)
	}
	p := mustLookup(t, r, "Observation", "code-facility")
	if p.MultipleOr || p.Components[0].Param.Code != "code" || p.Components[1].Param != mustLookup(t, r, "Observation", "facility") {
		t.Errorf("composite %+v", p)
	}
}

// TestFromResourceBuiltin checks that FromResource reads the R4 definitions
// as the generator does.
func TestFromResourceBuiltin(t *testing.T) {
	ps, err := searchparam.FromResource(mustParse(t, `{"resourceType":"SearchParameter","id":"clinical-code","url":"http://hl7.org/fhir/SearchParameter/clinical-code","version":"4.0.1","name":"code","status":"draft","code":"code","base":["AllergyIntolerance","Condition","Observation"],"type":"token","expression":"AllergyIntolerance.code | AllergyIntolerance.reaction.substance | Condition.code | (DeviceRequest.code as CodeableConcept) | Observation.code"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := searchparam.Default()
	for _, p := range ps {
		if q := mustLookup(t, r, p.Base, "code"); q.Expression != p.Expression || q.Type != p.Type || q.URL != p.URL {
			t.Errorf("%s: FromResource %+v, built in %+v", p.Base, p, q)
		}
	}
}

func TestFromResourceInvalid(t *testing.T) {
	const valid = `"resourceType": "SearchParameter", "url": "http://example.org/sp", "name": "x", "status": "active"`
	for _, tt := range []struct {
		name, body string
		paths      []string // issue expressions expected
	}{
		{"NotASearchParameter", `{"resourceType": "Patient"}`, []string{"SearchParameter.resourceType"}},
		{"Empty", `{"resourceType": "SearchParameter"}`, []string{"SearchParameter.url", "SearchParameter.code", "SearchParameter.type", "SearchParameter.base"}},
		{"UnknownType", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "text", "expression": "Patient.name"}`, []string{"SearchParameter.type"}},
		{"UnknownBase", `{` + valid + `, "code": "x", "base": ["Patient", "Patients"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.base[1]"}},
		{"EmptyBase", `{` + valid + `, "code": "x", "base": [], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.base"}},
		{"BaseNotAnArray", `{` + valid + `, "code": "x", "base": "Patient", "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.base"}},
		{"CodeWithDot", `{` + valid + `, "code": "a.b", "base": ["Patient"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.code"}},
		{"CodeWithColon", `{` + valid + `, "code": "a:b", "base": ["Patient"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.code"}},
		{"CodeWithSpace", `{` + valid + `, "code": "a b", "base": ["Patient"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.code"}},
		{"CodeStartsWithDigit", `{` + valid + `, "code": "1a", "base": ["Patient"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.code"}},
		{"NoExpression", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "token"}`, []string{"SearchParameter.expression"}},
		{"ExpressionForOtherBase", `{` + valid + `, "code": "x", "base": ["Patient", "Practitioner"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.base[1]"}},
		{"BadTarget", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "reference", "expression": "Patient.link.other", "target": ["Patient", "Nobody"]}`, []string{"SearchParameter.target[1]"}},
		{"BadComparator", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "date", "expression": "Patient.birthDate", "comparator": ["gt", "after"]}`, []string{"SearchParameter.comparator[1]"}},
		{"BadModifier", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "string", "expression": "Patient.name", "modifier": ["fuzzy"]}`, []string{"SearchParameter.modifier[0]"}},
		{"MultipleOrNotBoolean", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "string", "expression": "Patient.name", "multipleOr": "yes"}`, []string{"SearchParameter.multipleOr"}},
		{"CompositeWithoutComponents", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "composite", "expression": "Patient"}`, []string{"SearchParameter.component"}},
		{"ComponentWithoutDefinition", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "composite", "expression": "Patient", "component": [{"expression": "name"}, {"definition": "http://example.org/b", "expression": "gender"}]}`, []string{"SearchParameter.component[0].definition"}},
		{"ComponentsOnString", `{` + valid + `, "code": "x", "base": ["Patient"], "type": "string", "expression": "Patient.name", "component": [{"definition": "http://example.org/a", "expression": "name"}]}`, []string{"SearchParameter.component"}},
		{"BaseTwice", `{` + valid + `, "code": "x", "base": ["Patient", "Patient"], "type": "string", "expression": "Patient.name"}`, []string{"SearchParameter.base"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := searchparam.FromResource(mustParse(t, tt.body))
			if err == nil {
				t.Fatalf("no error; params %+v", ps)
			}
			var ke *karte.Error
			if !errors.As(err, &ke) || ke.Kind != karte.Unprocessable {
				t.Fatalf("error %v is not unprocessable", err)
			}
			var got []string
			for _, is := range ke.Issues {
				got = append(got, is.Expression)
				if is.Severity != "error" || is.Code == "" || is.Diagnostics == "" {
					t.Errorf("issue %+v", is)
				}
			}
			if !slices.Equal(got, tt.paths) {
				t.Errorf("issues at %q, want %q (%v)", got, tt.paths, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid SearchParameter: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestFromResourceSpecialWithoutExpression(t *testing.T) {
	ps, err := searchparam.FromResource(mustParse(t, `{"resourceType": "SearchParameter", "url": "http://example.org/near", "name": "near", "status": "active",
		"code": "near-me", "base": ["Location"], "type": "special"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Expression != "" || ps[0].Type != searchparam.Special {
		t.Errorf("%+v", ps)
	}
	if err := searchparam.New().Add(ps...); err != nil {
		t.Error(err)
	}
}

func FuzzFromResource(f *testing.F) {
	f.Add([]byte(kanaJSON))
	f.Add([]byte(`{"resourceType":"SearchParameter","url":"u","code":"c","base":["Patient","Resource"],"type":"composite","expression":"Patient | (x as Y)","component":[{"definition":"a","expression":"b"},{"definition":"c","expression":"d"}]}`))
	f.Add([]byte(`{"resourceType":"SearchParameter","url":"u","code":"_x","base":["Observation"],"type":"reference","expression":"'|' | Observation.subject.where(resolve() is Patient)","target":["Patient"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, err := fhir.ParseObject(b)
		if err != nil {
			return
		}
		ps, err := searchparam.FromResource(obj)
		if err != nil {
			if !karte.IsKind(err, karte.Unprocessable) {
				t.Fatalf("error of kind %v: %v", karte.KindOf(err), err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatal("no params and no error")
		}
		// What FromResource accepts, Add accepts unless it clashes or has
		// unresolved components.
		err = searchparam.New().Add(ps...)
		if err != nil && !karte.IsKind(err, karte.Conflict) && ps[0].Type != searchparam.Composite {
			t.Fatalf("Add: %v", err)
		}
	})
}
