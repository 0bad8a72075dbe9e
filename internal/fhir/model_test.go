package fhir_test

import (
	"testing"

	"kartehub/internal/fhir"
)

func TestTypeOf(t *testing.T) {
	for _, tt := range []struct {
		name                                  string
		ok, primitive, resource, backbone, ab bool
	}{
		{name: "Patient", ok: true, resource: true},
		{name: "Resource", ok: true, resource: true, ab: true},
		{name: "DomainResource", ok: true, resource: true, ab: true},
		{name: "HumanName", ok: true},
		{name: "Element", ok: true, ab: true},
		{name: "dateTime", ok: true, primitive: true},
		{name: "code", ok: true, primitive: true},
		{name: "Observation.component"}, // backbones are reached through elements
		{name: "patient"},
		{name: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			typ := fhir.TypeOf(tt.name)
			if (typ != 0) != tt.ok {
				t.Fatalf("TypeOf(%q) = %v, want found %v", tt.name, typ, tt.ok)
			}
			if !tt.ok {
				return
			}
			if typ.Name() != tt.name || typ.IsPrimitive() != tt.primitive || typ.IsResource() != tt.resource ||
				typ.IsBackbone() != tt.backbone || typ.IsAbstract() != tt.ab {
				t.Errorf("%s: name %q primitive %v resource %v backbone %v abstract %v", tt.name,
					typ.Name(), typ.IsPrimitive(), typ.IsResource(), typ.IsBackbone(), typ.IsAbstract())
			}
		})
	}
	var zero fhir.Type
	if zero.Name() != "" || zero.IsPrimitive() || zero.IsResource() || zero.Base() != 0 {
		t.Error("the zero Type is not empty")
	}
}

func TestTypeBase(t *testing.T) {
	for _, tt := range []struct{ typ, base string }{
		{"code", "string"},
		{"id", "string"},
		{"uuid", "uri"},
		{"url", "uri"},
		{"positiveInt", "integer"},
		{"string", "Element"},
		{"Age", "Quantity"},
		{"Duration", "Quantity"},
		{"Quantity", "Element"},
		{"Timing", "BackboneElement"},
		{"BackboneElement", "Element"},
		{"Element", ""},
		{"Patient", "DomainResource"},
		{"Bundle", "Resource"},
		{"DomainResource", "Resource"},
		{"Resource", ""},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			if got := fhir.TypeOf(tt.typ).Base().Name(); got != tt.base {
				t.Errorf("Base(%s) = %q, want %q", tt.typ, got, tt.base)
			}
		})
	}
	if !fhir.TypeOf("Age").Is(fhir.TypeOf("Element")) || fhir.TypeOf("Quantity").Is(fhir.TypeOf("Age")) {
		t.Error("Is does not follow the hierarchy")
	}
}

func TestElements(t *testing.T) {
	patient := fhir.TypeOf("Patient")
	name, ok := patient.Element("name")
	if !ok || name.Name() != "name" || name.Type().Name() != "HumanName" || !name.Many() || name.IsChoice() {
		t.Fatalf("Patient.name: %+v %v", name, ok)
	}
	id, ok := patient.Element("id")
	if !ok || !id.IsSystem() {
		t.Error("Patient.id is not a System element")
	}
	if _, ok := patient.Element("nmae"); ok {
		t.Error("Patient.nmae found")
	}
	deceased, ok := patient.Element("deceased")
	if !ok || !deceased.IsChoice() || deceased.Type() != 0 || deceased.ChoiceTypes() != 2 {
		t.Fatalf("Patient.deceased[x]: %v %v", deceased, ok)
	}
	if got := deceased.ChoiceType("DateTime").Name(); got != "dateTime" {
		t.Errorf("deceasedDateTime has type %q", got)
	}
	if deceased.ChoiceType("String") != 0 {
		t.Error("deceasedString allowed")
	}
	seen := map[string]bool{}
	for i := range deceased.ChoiceTypes() {
		seen[deceased.ChoiceTypeAt(i).Name()] = true
	}
	if !seen["boolean"] || !seen["dateTime"] {
		t.Errorf("deceased[x] types: %v", seen)
	}
	component, _ := fhir.TypeOf("Observation").Element("component")
	if ct := component.Type(); !ct.IsBackbone() || ct.Name() != "Observation.component" {
		t.Errorf("Observation.component has type %q", ct.Name())
	}
	el, typ, ok := fhir.TypeOf("Observation").ElementOfKey("valueQuantity")
	if !ok || el.Name() != "value" || typ.Name() != "Quantity" {
		t.Errorf("valueQuantity: %q %q %v", el.Name(), typ.Name(), ok)
	}
	if _, _, ok := fhir.TypeOf("Observation").ElementOfKey("valueFoo"); ok {
		t.Error("valueFoo found")
	}
	ext, ok := fhir.TypeOf("date").Element("extension")
	if !ok || ext.Type().Name() != "Extension" {
		t.Error("primitives have no extension element")
	}
}

func BenchmarkElement(b *testing.B) {
	patient := fhir.TypeOf("Patient")
	for b.Loop() {
		if _, ok := patient.Element("telecom"); !ok {
			b.Fatal("no telecom")
		}
	}
}
