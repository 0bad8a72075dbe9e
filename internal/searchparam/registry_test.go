package searchparam_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// commonCodes are the parameters every DomainResource type has.
var commonCodes = []string{
	"_content", "_filter", "_has", "_id", "_lastUpdated", "_list", "_profile",
	"_query", "_security", "_source", "_tag", "_text", "_type",
}

func codes(ps []*searchparam.Param) []string {
	cs := make([]string, len(ps))
	for i, p := range ps {
		cs[i] = p.Code
	}
	return cs
}

func mustLookup(tb testing.TB, r *searchparam.Registry, typ, code string) *searchparam.Param {
	tb.Helper()
	p, ok := r.Lookup(typ, code)
	if !ok {
		tb.Fatalf("Lookup(%s, %s): not found", typ, code)
	}
	return p
}

func TestCounts(t *testing.T) {
	r := searchparam.Default()
	total, own := 0, 0
	byType := map[searchparam.Type]int{}
	urls := map[string]bool{}
	for _, typ := range append(fhir.ResourceTypes(), "Resource", "DomainResource") {
		for _, p := range r.Params(typ) {
			if p.Base == typ {
				own++
				byType[p.Type]++
				urls[p.URL] = true
			}
			total++
		}
	}
	// One Param per (code, base) of the 1,376 SearchParameters gen keeps,
	// the three extras and kartehub's own Consent share parameter.
	if own != 1707+3+1 {
		t.Errorf("%d params, want %d", own, 1707+3+1)
	}
	if len(urls) != 1376+3+1 {
		t.Errorf("%d definitions, want %d", len(urls), 1376+3+1)
	}
	want := map[searchparam.Type]int{
		searchparam.Token: 672 + 1, searchparam.Reference: 517, searchparam.String: 201,
		searchparam.Date: 140, searchparam.URI: 57, searchparam.Composite: 72,
		searchparam.Quantity: 40, searchparam.Number: 6, searchparam.Special: 2 + 3,
	}
	for typ, n := range want {
		if byType[typ] != n {
			t.Errorf("%d %s params, want %d", byType[typ], typ, n)
		}
	}
	t.Logf("%d params over %d definitions, %d counting the common ones per type; by type: %v", own, len(urls), total, byType)
}

func TestPatientParams(t *testing.T) {
	got := codes(searchparam.Default().Params("Patient"))
	want := []string{
		"_content", "_filter", "_has", "_id", "_lastUpdated", "_list", "_profile", "_query",
		"_security", "_source", "_tag", "_text", "_type",
		"active", "address", "address-city", "address-country", "address-postalcode",
		"address-state", "address-use", "birthdate", "death-date", "deceased", "email",
		"family", "gender", "general-practitioner", "given", "identifier", "language",
		"link", "name", "organization", "phone", "phonetic", "telecom",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Patient params:\n got %q\nwant %q", got, want)
	}
}

func TestParamsSorted(t *testing.T) {
	r := searchparam.Default()
	for _, typ := range fhir.ResourceTypes() {
		cs := codes(r.Params(typ))
		if !slices.IsSorted(cs) || len(slices.Compact(slices.Clone(cs))) != len(cs) {
			t.Errorf("%s: codes not sorted and unique: %q", typ, cs)
		}
	}
	if ps := r.Params("NoSuchType"); ps != nil {
		t.Errorf("Params(NoSuchType) = %d params", len(ps))
	}
	if _, ok := r.Lookup("NoSuchType", "_id"); ok {
		t.Error("Lookup(NoSuchType, _id) found")
	}
	if _, ok := r.Lookup("Patient", "nope"); ok {
		t.Error("Lookup(Patient, nope) found")
	}
}

func TestCommonParams(t *testing.T) {
	r := searchparam.Default()
	for _, typ := range fhir.ResourceTypes() {
		for _, code := range commonCodes {
			p, ok := r.Lookup(typ, code)
			switch {
			case code == "_text" && (typ == "Binary" || typ == "Bundle" || typ == "Parameters"):
				if ok {
					t.Errorf("%s has _text, but is no DomainResource", typ)
				}
			case !ok:
				t.Errorf("%s: no %s", typ, code)
			case !p.IsCommon():
				t.Errorf("%s %s: base %s", typ, code, p.Base)
			}
		}
	}
	id := mustLookup(t, r, "Observation", "_id")
	if id.Type != searchparam.Token || id.Expression != "Resource.id" || id.URL != "http://hl7.org/fhir/SearchParameter/Resource-id" {
		t.Errorf("_id = %+v", id)
	}
	if p := mustLookup(t, r, "Resource", "_lastUpdated"); p.Expression != "Resource.meta.lastUpdated" || p.Type != searchparam.Date {
		t.Errorf("Resource _lastUpdated = %+v", p)
	}
	if _, ok := r.Lookup("Resource", "_text"); ok {
		t.Error("Resource has _text")
	}
	mustLookup(t, r, "DomainResource", "_text")
	if n := len(r.Params("DomainResource")); n != len(commonCodes) {
		t.Errorf("DomainResource: %d params, want %d", n, len(commonCodes))
	}
}

func TestExpressions(t *testing.T) {
	r := searchparam.Default()
	for _, tt := range []struct{ typ, code, want string }{
		{"Condition", "code", "Condition.code"},
		{"AllergyIntolerance", "code", "AllergyIntolerance.code | AllergyIntolerance.reaction.substance"},
		{"MedicationRequest", "code", "(MedicationRequest.medication as CodeableConcept)"},
		{"Observation", "patient", "Observation.subject.where(resolve() is Patient)"},
		{"AllergyIntolerance", "patient", "AllergyIntolerance.patient"},
		{"Patient", "birthdate", "Patient.birthDate"},
		{"Person", "birthdate", "Person.birthDate"},
		{"Patient", "email", "Patient.telecom.where(system='email')"},
		{"Patient", "deceased", "Patient.deceased.exists() and Patient.deceased != false"},
		{"InsurancePlan", "name", "InsurancePlan.name | InsurancePlan.alias"},
		{"Observation", "value-quantity", "(Observation.value as Quantity) | (Observation.value as SampledData)"},
		{"Observation", "code-value-quantity", "Observation"},
		{"Observation", "combo-code-value-quantity", "Observation | Observation.component"},
		{"Patient", "_text", ""},
		{"Patient", "_has", ""},
	} {
		t.Run(tt.typ+"."+tt.code, func(t *testing.T) {
			if got := mustLookup(t, r, tt.typ, tt.code).Expression; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExpressionsForBase checks that every expression of a type's own
// param is about that type: each operand of the union starts with it.
func TestExpressionsForBase(t *testing.T) {
	r := searchparam.Default()
	for _, typ := range fhir.ResourceTypes() {
		for _, p := range r.Params(typ) {
			if p.IsCommon() {
				continue
			}
			if p.Base != typ {
				t.Errorf("%s %s: base %s", typ, p.Code, p.Base)
			}
			if p.Expression == "" {
				t.Errorf("%s %s: no expression", typ, p.Code)
				continue
			}
			for part := range strings.SplitSeq(p.Expression, " | ") {
				part = strings.TrimLeft(part, "(")
				if part != typ && !strings.HasPrefix(part, typ+".") && !strings.HasPrefix(part, typ+" ") {
					t.Errorf("%s %s: part %q of %q", typ, p.Code, part, p.Expression)
				}
			}
		}
	}
}

func TestSharedParam(t *testing.T) {
	r := searchparam.Default()
	ps := r.ByURL("http://hl7.org/fhir/SearchParameter/clinical-code")
	var bases []string
	for _, p := range ps {
		bases = append(bases, p.Base)
		if p.Code != "code" || p.Type != searchparam.Token || !strings.HasPrefix(strings.TrimLeft(p.Expression, "("), p.Base+".") {
			t.Errorf("clinical-code on %s: %+v", p.Base, p)
		}
		if q := mustLookup(t, r, p.Base, "code"); q != p {
			t.Errorf("Lookup(%s, code) is not ByURL's", p.Base)
		}
	}
	want := []string{"AllergyIntolerance", "Condition", "DeviceRequest", "DiagnosticReport", "FamilyMemberHistory", "List", "Medication", "MedicationAdministration", "MedicationDispense", "MedicationRequest", "MedicationStatement", "Observation", "Procedure", "ServiceRequest"}
	if !slices.Equal(bases, want) {
		t.Errorf("clinical-code bases %q, want %q", bases, want)
	}
}

func TestTargets(t *testing.T) {
	r := searchparam.Default()
	for _, tt := range []struct {
		typ, code string
		want      []string
	}{
		{"Observation", "patient", []string{"Patient"}}, // narrowed from Group, Patient
		{"AllergyIntolerance", "patient", []string{"Group", "Patient"}},
		{"Observation", "subject", []string{"Device", "Group", "Location", "Patient"}},
		{"Observation", "performer", []string{"CareTeam", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"}},
		{"Patient", "general-practitioner", []string{"Organization", "Practitioner", "PractitionerRole"}},
		{"Patient", "organization", []string{"Organization"}},
		{"Encounter", "practitioner", []string{"Practitioner"}},
		{"Patient", "name", nil},
	} {
		t.Run(tt.typ+"."+tt.code, func(t *testing.T) {
			if got := mustLookup(t, r, tt.typ, tt.code).Targets; !slices.Equal(got, tt.want) {
				t.Errorf("targets %q, want %q", got, tt.want)
			}
		})
	}
	// Every reference param of a type targets resource types.
	for _, typ := range fhir.ResourceTypes() {
		for _, p := range r.Params(typ) {
			if p.Type != searchparam.Reference && len(p.Targets) > 0 {
				t.Errorf("%s %s: a %s param with targets", typ, p.Code, p.Type)
			}
			for _, tg := range p.Targets {
				if !fhir.IsResourceType(tg) {
					t.Errorf("%s %s: target %q", typ, p.Code, tg)
				}
			}
		}
	}
}

func TestComposite(t *testing.T) {
	r := searchparam.Default()
	p := mustLookup(t, r, "Observation", "code-value-quantity")
	if p.Type != searchparam.Composite || p.MultipleOr || !p.MultipleAnd {
		t.Errorf("code-value-quantity: %+v", p)
	}
	want := []struct{ def, expr, code string }{
		{"http://hl7.org/fhir/SearchParameter/clinical-code", "code", "code"},
		{"http://hl7.org/fhir/SearchParameter/Observation-value-quantity", "value.as(Quantity)", "value-quantity"},
	}
	if len(p.Components) != len(want) {
		t.Fatalf("%d components, want %d", len(p.Components), len(want))
	}
	for i, c := range p.Components {
		w := want[i]
		if c.Definition != w.def || c.Expression != w.expr {
			t.Errorf("component %d: %+v", i, c)
		}
		if c.Param == nil || c.Param.Code != w.code || c.Param.Base != "Observation" {
			t.Errorf("component %d resolves to %+v", i, c.Param)
		}
		if c.Param != mustLookup(t, r, "Observation", w.code) {
			t.Errorf("component %d is not the registered param", i)
		}
	}
	// Every composite of every type is resolved on its base.
	n := 0
	for _, typ := range fhir.ResourceTypes() {
		for _, p := range r.Params(typ) {
			if p.Type != searchparam.Composite {
				continue
			}
			n++
			for _, c := range p.Components {
				if c.Param == nil || c.Param.Base != typ || c.Param.URL != c.Definition {
					t.Errorf("%s %s: component %s unresolved", typ, p.Code, c.Definition)
				}
			}
		}
	}
	if n != 72 { // 46 definitions
		t.Errorf("%d composites, want 72", n)
	}
}

func TestComparators(t *testing.T) {
	r := searchparam.Default()
	if got := mustLookup(t, r, "Patient", "birthdate").Comparators; !slices.Equal(got, []string{"eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap"}) {
		t.Errorf("birthdate comparators %q", got)
	}
	if got := mustLookup(t, r, "Patient", "name").Comparators; got != nil {
		t.Errorf("name comparators %q", got)
	}
}

func customParam(url, code, base string) *searchparam.Param {
	return &searchparam.Param{
		URL: url, Code: code, Name: code, Type: searchparam.String, Base: base,
		Expression: base + ".extension('" + url + "').value", MultipleOr: true, MultipleAnd: true,
	}
}

func TestAddRemove(t *testing.T) {
	r := searchparam.New()
	const url = "http://example.org/SearchParameter/patient-kana"
	if err := r.Add(customParam(url, "kana", "Patient")); err != nil {
		t.Fatal(err)
	}
	p := mustLookup(t, r, "Patient", "kana")
	if p.URL != url || p.Base != "Patient" {
		t.Errorf("kana = %+v", p)
	}
	if !slices.Contains(codes(r.Params("Patient")), "kana") {
		t.Error("Params(Patient) lacks kana")
	}
	if _, ok := searchparam.Default().Lookup("Patient", "kana"); ok {
		t.Error("New's Add shows in Default")
	}
	if _, ok := searchparam.New().Lookup("Patient", "kana"); ok {
		t.Error("Add shows in another New")
	}

	// Adding the same URL again replaces it, on all bases.
	if err := r.Add(customParam(url, "kana", "Patient"), customParam(url, "kana", "RelatedPerson")); err != nil {
		t.Fatal(err)
	}
	if n := len(r.ByURL(url)); n != 2 {
		t.Errorf("%d params for %s, want 2", n, url)
	}
	if err := r.Add(customParam(url, "kana2", "Practitioner")); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup("Patient", "kana"); ok {
		t.Error("replaced kana still on Patient")
	}
	mustLookup(t, r, "Practitioner", "kana2")

	// Codes clash.
	err := r.Add(customParam("http://example.org/other", "name", "Patient"))
	if !karte.IsKind(err, karte.Conflict) {
		t.Errorf("Add clashing with Patient name: %v, want a conflict", err)
	}
	err = r.Add(customParam("http://example.org/other", "_id", "Patient"))
	if !karte.IsKind(err, karte.Conflict) {
		t.Errorf("Add clashing with _id: %v, want a conflict", err)
	}
	err = r.Add(customParam("http://example.org/other", "_id", "Resource"))
	if !karte.IsKind(err, karte.Conflict) {
		t.Errorf("Add clashing common _id: %v, want a conflict", err)
	}
	err = r.Add(customParam("http://example.org/ok", "ok", "Patient"), customParam("http://example.org/bad", "name", "Patient"))
	if err == nil {
		t.Error("Add with one clash succeeded")
	}
	if _, ok := r.Lookup("Patient", "ok"); ok {
		t.Error("Add that failed added part of its params")
	}

	// A common custom param applies to every type.
	if err := r.Add(customParam("http://example.org/facility", "kh-facility", "Resource")); err != nil {
		t.Fatal(err)
	}
	for _, typ := range fhir.ResourceTypes() {
		mustLookup(t, r, typ, "kh-facility")
	}
	err = r.Add(customParam("http://example.org/other", "facility", "Resource"))
	if !karte.IsKind(err, karte.Conflict) {
		t.Errorf("Add of common facility, which Claim has: %v, want a conflict", err)
	}
	if !r.Remove("http://example.org/facility") {
		t.Error("Remove(facility) = false")
	}
	if _, ok := r.Lookup("Observation", "kh-facility"); ok {
		t.Error("removed facility still there")
	}

	if !r.Remove(url) || r.Remove(url) {
		t.Error("Remove twice did not report true then false")
	}
	if _, ok := r.Lookup("Practitioner", "kana2"); ok {
		t.Error("removed kana2 still there")
	}

	// Built-in params can be removed and then redefined.
	if !r.Remove("http://hl7.org/fhir/SearchParameter/individual-phonetic") {
		t.Fatal("Remove(individual-phonetic) = false")
	}
	if _, ok := r.Lookup("Patient", "phonetic"); ok {
		t.Error("phonetic still on Patient")
	}
	if _, ok := r.Lookup("Practitioner", "phonetic"); ok {
		t.Error("phonetic still on Practitioner")
	}
	if err := r.Add(customParam("http://example.org/phonetic", "phonetic", "Patient")); err != nil {
		t.Fatal(err)
	}
	mustLookup(t, searchparam.Default(), "Patient", "phonetic")
}

func TestAddInvalid(t *testing.T) {
	r := searchparam.New()
	valid := func() *searchparam.Param {
		return customParam("http://example.org/sp", "sp", "Patient")
	}
	for _, tt := range []struct {
		name string
		edit func(p *searchparam.Param)
	}{
		{"NoURL", func(p *searchparam.Param) { p.URL = "" }},
		{"BadCode", func(p *searchparam.Param) { p.Code = "a.b" }},
		{"NoType", func(p *searchparam.Param) { p.Type = 0 }},
		{"BadBase", func(p *searchparam.Param) { p.Base = "Patients" }},
		{"NoExpression", func(p *searchparam.Param) { p.Expression = "" }},
		{"BadTarget", func(p *searchparam.Param) { p.Type, p.Targets = searchparam.Reference, []string{"Nobody"} }},
		{"CompositeAlone", func(p *searchparam.Param) {
			p.Type = searchparam.Composite
			p.Components = []searchparam.Component{{Definition: "http://hl7.org/fhir/SearchParameter/individual-given", Expression: "given"}}
		}},
		{"UnresolvedComponent", func(p *searchparam.Param) {
			p.Type = searchparam.Composite
			p.Components = []searchparam.Component{
				{Definition: "http://hl7.org/fhir/SearchParameter/individual-given", Expression: "given"},
				{Definition: "http://example.org/none", Expression: "family"},
			}
		}},
		{"ComponentOfOtherBase", func(p *searchparam.Param) {
			p.Type = searchparam.Composite
			p.Components = []searchparam.Component{
				{Definition: "http://hl7.org/fhir/SearchParameter/individual-given", Expression: "given"},
				{Definition: "http://hl7.org/fhir/SearchParameter/Observation-value-quantity", Expression: "family"},
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.edit(p)
			if err := r.Add(p); !karte.IsKind(err, karte.Unprocessable) {
				t.Errorf("Add: %v, want an unprocessable error", err)
			}
		})
	}
	if err := r.Add(valid(), valid()); err == nil {
		t.Error("Add of one base twice succeeded")
	}
	if err := r.Add(valid()); err != nil {
		t.Errorf("Add(valid) after failures: %v", err)
	}
}

func TestAddComposite(t *testing.T) {
	r := searchparam.New()
	kana := customParam("http://example.org/kana", "kana", "Patient")
	comp := &searchparam.Param{
		URL: "http://example.org/kana-gender", Code: "kana-gender", Name: "kana-gender",
		Type: searchparam.Composite, Base: "Patient", Expression: "Patient",
		Components: []searchparam.Component{
			{Definition: kana.URL, Expression: "extension('http://example.org/kana').value"},
			{Definition: "http://hl7.org/fhir/SearchParameter/individual-gender", Expression: "gender"},
		},
	}
	// The component and the composite may come in one call.
	if err := r.Add(kana, comp); err != nil {
		t.Fatal(err)
	}
	p := mustLookup(t, r, "Patient", "kana-gender")
	if p.Components[0].Param != mustLookup(t, r, "Patient", "kana") || p.Components[1].Param != mustLookup(t, r, "Patient", "gender") {
		t.Errorf("components unresolved: %+v", p.Components)
	}
	if comp.Components[0].Param != nil {
		t.Error("Add changed its argument")
	}
}

// TestConcurrency runs readers against writers; run it with -race.
func TestConcurrency(t *testing.T) {
	r := searchparam.New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p, ok := r.Lookup("Patient", "name"); !ok || p.Expression != "Patient.name" {
					t.Error("Lookup(Patient, name) failed during writes")
					return
				}
				for _, p := range r.Params("Observation") {
					_ = p.Expression
				}
				if p, ok := r.Lookup("Observation", "custom-0"); ok && p.Base != "Observation" {
					t.Errorf("custom-0 on %s", p.Base)
				}
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Go(func() {
			for i := range 50 {
				url := fmt.Sprintf("http://example.org/custom-%d-%d", w, i)
				code := fmt.Sprintf("custom-%d", w*100+i)
				if err := r.Add(customParam(url, code, "Observation"), customParam(url, code, "Patient")); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 && !r.Remove(url) {
					t.Errorf("Remove(%s) = false", url)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	n := 0
	for _, p := range r.Params("Patient") {
		if strings.HasPrefix(p.Code, "custom-") {
			n++
		}
	}
	if n != 3*25 {
		t.Errorf("%d custom params left on Patient, want %d", n, 3*25)
	}
}

func BenchmarkLookup(b *testing.B) {
	r := searchparam.Default()
	for b.Loop() {
		if _, ok := r.Lookup("Observation", "code-value-quantity"); !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	r := searchparam.New()
	p := customParam("http://example.org/kana", "kana", "Patient")
	for b.Loop() {
		if err := r.Add(p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestZeroRegistry(t *testing.T) {
	var r searchparam.Registry
	if _, ok := r.Lookup("Patient", "_id"); ok {
		t.Error("zero Registry has _id")
	}
	if ps := r.Params("Patient"); len(ps) != 0 {
		t.Errorf("zero Registry: %d Patient params", len(ps))
	}
	if err := r.Add(customParam("http://example.org/kana", "kana", "Patient")); err != nil {
		t.Fatal(err)
	}
	if got := codes(r.Params("Patient")); !slices.Equal(got, []string{"kana"}) {
		t.Errorf("Patient params %q", got)
	}
	if r.Params("Observation") == nil {
		t.Error("Params(Observation) = nil; want empty for a resource type")
	}
}
