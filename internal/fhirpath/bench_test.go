package fhirpath_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
)

// syntheaDir holds Synthea patient bundles, relative to this package:
// ../shared/data/synthea from the repository root.
var syntheaDir = filepath.Join("..", "..", "..", "shared", "data", "synthea")

// syntheaResources returns the first resource of each wanted type found in
// a Synthea bundle, skipping the benchmark or test if the data is absent.
func syntheaResources(tb testing.TB, types ...string) map[string]*fhir.Object {
	tb.Helper()
	ents, err := os.ReadDir(syntheaDir)
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("Synthea data not found at %s", syntheaDir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	found := map[string]*fhir.Object{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(syntheaDir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		bundle, err := fhir.ParseObject(data)
		if err != nil {
			continue // not a bundle
		}
		entries, _ := bundle.Get("entry")
		list, _ := entries.([]fhir.Value)
		for _, en := range list {
			obj, _ := en.(*fhir.Object)
			res := obj.Object("resource")
			if res == nil {
				continue
			}
			rt := res.String("resourceType")
			if _, ok := found[rt]; !ok && wanted(rt, types) && usable(res) {
				found[rt] = res
			}
		}
		if len(found) == len(types) {
			return found
		}
	}
	tb.Skipf("Synthea data lacks some of %v", types)
	return nil
}

func wanted(rt string, types []string) bool {
	for _, t := range types {
		if t == rt {
			return true
		}
	}
	return false
}

// usable picks resources that exercise the benchmarked paths: an
// Observation with a quantity value, a Patient with a phone.
func usable(res *fhir.Object) bool {
	switch res.String("resourceType") {
	case "Observation":
		_, ok := res.Get("valueQuantity")
		return ok
	case "Patient":
		_, ok := res.Get("telecom")
		return ok
	}
	return true
}

// searchExpressions are typical search-parameter expressions, the work of
// indexing a resource on every write.
var searchExpressions = []struct{ name, expr string }{
	{"ObservationCode", "Observation.code"},
	{"ObservationSubject", "Observation.subject.where(resolve() is Patient)"},
	{"ObservationEffective", "Observation.effective"},
	{"ObservationValueQuantity", "(Observation.value as Quantity) | (Observation.value as SampledData)"},
	{"ObservationComponentCode", "Observation.code | Observation.component.code"},
	{"PatientName", "Patient.name"},
	{"PatientFamily", "Patient.name.family"},
	{"PatientBirthDate", "Patient.birthDate"},
	{"PatientPhone", "Patient.telecom.where(system='phone')"},
	{"PatientIdentifier", "Patient.identifier"},
	{"PatientDeceased", "Patient.deceased.exists() and Patient.deceased != false"},
}

func BenchmarkEvaluate(b *testing.B) {
	res := syntheaResources(b, "Observation", "Patient")
	for _, tt := range searchExpressions {
		e := fhirpath.MustCompile(tt.expr)
		root := res["Patient"]
		if len(tt.name) > 11 && tt.name[:11] == "Observation" {
			root = res["Observation"]
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Evaluate(root, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, tt := range searchExpressions {
			if _, err := fhirpath.Compile(tt.expr); err != nil {
				b.Fatal(err)
			}
		}
	}
}
