package expr_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"kartehub/internal/searchparam/internal/expr"
)

func TestSplit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"Patient.name", []string{"Patient.name"}},
		{"A.x | B.y|C.z", []string{"A.x", "B.y", "C.z"}},
		{"(A.x as Quantity) | (A.x as Range)", []string{"(A.x as Quantity)", "(A.x as Range)"}},
		{"A.x.where(a | b) | B.y", []string{"A.x.where(a | b)", "B.y"}},
		{"A.x.where(system = '|') | B.y", []string{"A.x.where(system = '|')", "B.y"}},
		{`A.x.where(s = 'it\'s | ') | B.y`, []string{`A.x.where(s = 'it\'s | ')`, "B.y"}},
		{"A.`a|b` | B.y", []string{"A.`a|b`", "B.y"}},
		{"A.x[0] | B.y", []string{"A.x[0]", "B.y"}},
		{"", []string{""}},
		{"A.x) | B.y", []string{"A.x)", "B.y"}},
		{"A.x('unclosed | B.y", []string{"A.x('unclosed | B.y"}},
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := expr.Split(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Split = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestForBase(t *testing.T) {
	const clinicalCode = "AllergyIntolerance.code | AllergyIntolerance.reaction.substance | Condition.code | (DeviceRequest.code as CodeableConcept) | Observation.code"
	for _, tt := range []struct {
		expr, base, want string
		prefixed         bool
	}{
		{clinicalCode, "Condition", "Condition.code", false},
		{clinicalCode, "AllergyIntolerance", "AllergyIntolerance.code | AllergyIntolerance.reaction.substance", false},
		{clinicalCode, "DeviceRequest", "(DeviceRequest.code as CodeableConcept)", false},
		{clinicalCode, "Patient", "", false},
		{"Observation.subject.where(resolve() is Patient) | Condition.subject.where(resolve() is Patient)", "Observation", "Observation.subject.where(resolve() is Patient)", false},
		{"Observation | Observation.component", "Observation", "Observation | Observation.component", false},
		{"ObservationDefinition.code | Observation.code", "Observation", "Observation.code", false},
		{"name | alias", "InsurancePlan", "InsurancePlan.name | InsurancePlan.alias", true},
		{"(value as Quantity)", "Observation", "(Observation.value as Quantity)", true},
		{"Resource.id", "Patient", "Resource.id", false},
		{"DomainResource.text | Patient.name", "Patient", "DomainResource.text | Patient.name", false},
		{"DomainResource.text | Bundle.id", "Bundle", "Bundle.id", false},
		{"%resource.name", "Patient", "%resource.name", false},
		{"%resource.name | Patient.x", "Patient", "Patient.x", false},
	} {
		t.Run(tt.base+":"+tt.expr, func(t *testing.T) {
			got, prefixed := expr.ForBase(tt.expr, tt.base)
			if got != tt.want || prefixed != tt.prefixed {
				t.Errorf("ForBase = %q, %v; want %q, %v", got, prefixed, tt.want, tt.prefixed)
			}
		})
	}
}

func TestHead(t *testing.T) {
	for _, tt := range []struct {
		in, head string
		at       int
	}{
		{"Patient.name", "Patient", 0},
		{"((Observation.value as Quantity))", "Observation", 2},
		{"( Observation", "Observation", 2},
		{"name", "name", 0},
		{"%resource", "", 0},
		{"'a'", "", 0},
		{"1abc", "", 0},
	} {
		if h, at := expr.Head(tt.in); h != tt.head || at != tt.at {
			t.Errorf("Head(%q) = %q, %d; want %q, %d", tt.in, h, at, tt.head, tt.at)
		}
	}
}

func TestNarrowTargets(t *testing.T) {
	for _, tt := range []struct {
		targets []string
		e       string
		want    []string
	}{
		{[]string{"Patient", "Group"}, "Observation.subject.where(resolve() is Patient)", []string{"Patient"}},
		{[]string{"Patient", "Group"}, "AllergyIntolerance.patient", []string{"Group", "Patient"}},
		{[]string{"Patient", "Group"}, "A.x.where(resolve() is Patient) | A.y", []string{"Group", "Patient"}},
		{[]string{"Patient", "Group", "Device"}, "A.x.where(resolve() is Patient) | A.y.where(resolve() is Device)", []string{"Device", "Patient"}},
		{[]string{"Patient", "Group"}, "A.x.where(resolve() is Location)", []string{"Group", "Patient"}},
		{nil, "A.x.where(resolve() is Location)", nil},
	} {
		got, _ := expr.NarrowTargets(tt.targets, tt.e)
		if !slices.Equal(got, tt.want) {
			t.Errorf("NarrowTargets(%q, %q) = %q, want %q", tt.targets, tt.e, got, tt.want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("A.x | (B.y as Z) | C.z.where(s = '|')")
	f.Add("name | alias")
	f.Fuzz(func(t *testing.T, s string) {
		parts := expr.Split(s)
		if len(parts) == 0 {
			t.Fatal("no parts")
		}
		// The parts are the operands: joining them by "|" gives back s,
		// white space aside.
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, s)
		}
		if strip(strings.Join(parts, "|")) != strip(s) {
			t.Fatalf("Split(%q) = %q", s, parts)
		}
		for _, base := range []string{"Patient", "Bundle"} {
			expr.ForBase(s, base)
		}
	})
}
