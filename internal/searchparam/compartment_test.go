package searchparam_test

import (
	"slices"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/searchparam"
)

func TestCompartment(t *testing.T) {
	for _, tt := range []struct {
		comp, typ string
		want      []string
	}{
		{"Patient", "Observation", []string{"subject", "performer"}},
		{"Patient", "AllergyIntolerance", []string{"patient", "recorder", "asserter"}},
		{"Patient", "Encounter", []string{"patient"}},
		{"Patient", "Patient", []string{searchparam.DefParam, "link"}}, // {def} added
		{"Patient", "Group", []string{"member"}},
		{"Patient", "Organization", nil},
		{"Encounter", "Encounter", []string{searchparam.DefParam}},
		{"Encounter", "Observation", []string{"encounter"}},
		{"Encounter", "ChargeItem", []string{"context"}},
		{"Encounter", "DocumentManifest", []string{"related-ref"}},
		{"Encounter", "Patient", nil},
		{"RelatedPerson", "RelatedPerson", []string{searchparam.DefParam}},
		{"Practitioner", "Practitioner", []string{searchparam.DefParam}},
		{"Device", "Device", []string{searchparam.DefParam}}, // {def} added
		{"Device", "Observation", []string{"subject", "device"}},
	} {
		t.Run(tt.comp+"/"+tt.typ, func(t *testing.T) {
			c, ok := searchparam.Compartment(tt.comp)
			if !ok {
				t.Fatalf("no compartment %s", tt.comp)
			}
			if got := c.Params(tt.typ); !slices.Equal(got, tt.want) {
				t.Errorf("Params(%s) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
	if _, ok := searchparam.Compartment("Observation"); ok {
		t.Error("Compartment(Observation) found")
	}
}

func TestCompartments(t *testing.T) {
	var got []string
	for _, c := range searchparam.Compartments() {
		got = append(got, c.Code)
		if c.URL != "http://hl7.org/fhir/CompartmentDefinition/"+string(c.Code[0]|0x20)+c.Code[1:] {
			t.Errorf("%s: URL %s", c.Code, c.URL)
		}
	}
	if want := []string{"Device", "Encounter", "Patient", "Practitioner", "RelatedPerson"}; !slices.Equal(got, want) {
		t.Errorf("compartments %q, want %q", got, want)
	}
	counts := map[string]int{"Patient": 66, "Encounter": 25, "RelatedPerson": 32, "Practitioner": 59, "Device": 33}
	r := searchparam.Default()
	for _, c := range searchparam.Compartments() {
		types := c.Types()
		if len(types) != counts[c.Code] {
			t.Errorf("%s compartment: %d types, want %d", c.Code, len(types), counts[c.Code])
		}
		if !slices.IsSorted(types) || !slices.Contains(types, c.Code) {
			t.Errorf("%s compartment: types %q", c.Code, types)
		}
		// Every parameter named is a reference parameter of the type that
		// can point at the compartment's type.
		for _, typ := range types {
			if !fhir.IsResourceType(typ) {
				t.Errorf("%s compartment: %q is no resource type", c.Code, typ)
			}
			for _, code := range c.Params(typ) {
				if code == searchparam.DefParam {
					if typ != c.Code {
						t.Errorf("%s compartment: {def} on %s", c.Code, typ)
					}
					continue
				}
				p, ok := r.Lookup(typ, code)
				switch {
				case !ok:
					t.Errorf("%s compartment: %s has no param %s", c.Code, typ, code)
				case p.Type != searchparam.Reference:
					t.Errorf("%s compartment: %s %s is a %s param", c.Code, typ, code, p.Type)
				case len(p.Targets) > 0 && !slices.Contains(p.Targets, c.Code):
					t.Errorf("%s compartment: %s %s targets %q", c.Code, typ, code, p.Targets)
				}
			}
		}
	}
}
