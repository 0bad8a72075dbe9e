package fhir_test

import (
	"encoding/json"
	"os"
	"testing"

	"kartehub/internal/fhir"
)

// benchInput is one benchmark document.
type benchInput struct {
	name string
	data []byte
}

// benchInputs returns the documents the benchmarks run on, from the first
// Synthea bundle: its Patient resource (about 3.4 KB compact, 5 KB indented,
// the typical size of a resource sent to the server) and the whole bundle.
func benchInputs(b *testing.B) []benchInput {
	b.Helper()
	bundle, err := os.ReadFile(syntheaFiles(b)[0])
	if err != nil {
		b.Fatal(err)
	}
	doc, err := fhir.ParseObject(bundle)
	if err != nil {
		b.Fatal(err)
	}
	entries, _ := doc.Get("entry")
	patient := entries.([]fhir.Value)[0].(*fhir.Object).Object("resource")
	if patient.String("resourceType") != "Patient" {
		b.Fatalf("first entry is %s", patient.String("resourceType"))
	}
	return []benchInput{
		{"patient", fhir.Marshal(patient)},
		{"patient-indented", fhir.AppendIndent(nil, patient, "  ")},
		{"bundle", bundle},
	}
}

// BenchmarkParse compares Parse with encoding/json decoding into any, the
// obvious alternative, on the same input.
func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name+"/kartehub", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fhir.Parse(in.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(in.data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode compares Marshal with json.Marshal of the tree that
// encoding/json decodes from the same input; bytes are those of the input.
func BenchmarkEncode(b *testing.B) {
	for _, in := range benchInputs(b) {
		v, err := fhir.Parse(in.data)
		if err != nil {
			b.Fatal(err)
		}
		// Both sides allocate the output, as json.Marshal must; a server
		// reusing buffers with Append does better still.
		b.Run(in.name+"/kartehub", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				fhir.Marshal(v)
			}
		})
		b.Run(in.name+"/kartehub-indent", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				fhir.AppendIndent(nil, v, "  ")
			}
		})
		var std any
		if err := json.Unmarshal(in.data, &std); err != nil {
			b.Fatal(err)
		}
		b.Run(in.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(std); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
