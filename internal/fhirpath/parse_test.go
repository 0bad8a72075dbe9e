package fhirpath_test

import (
	"errors"
	"strings"
	"testing"

	"kartehub/internal/fhirpath"
)

func TestCompile(t *testing.T) {
	for _, expr := range []string{
		"Patient.name.given",
		"name.`given`",
		"`Patient`.name",
		"Patient.name.where(use = 'official').family.first()",
		"Observation.value.as(Quantity).unit",
		"(Observation.value as Quantity).value > 5.5 'mg'",
		"Observation.value is FHIR.Quantity",
		"1 is System.Integer",
		"Patient.is(FHIR.`Patient`)",
		"4 days + 2 'wk' - 1 year",
		"@2015-02-04T14:34:28.123+09:00 > @2015 and @T14:34 < @T15",
		"@2015T.is(DateTime)",
		"%resource.id | %context.id | %`ext-patient-birthTime` | %'vs-x'",
		"$this.name[0].given[$index]",
		"(1|2|3).aggregate($this + $total, 0)",
		"Patient.name.sort(-family, given.first())",
		"'\\'\\\"\\`\\\\\\/\\f\\n\\r\\t\\u0041'",
		"2 + 2 // comment\n+ 1",
		"2 /* inline */ * 3",
		"-Patient.name.count() = -3",
		"+1 < +2",
		"true implies false xor true or false and true",
		"{} = {}",
		"'a' in ('a' | 'b') and ('a' | 'b') contains 'b'",
		"Patient.contains('x')", // keywords are names after a dot
		"Patient.extension('http://example.org').value.is(string)",
	} {
		t.Run(expr, func(t *testing.T) {
			e, err := fhirpath.Compile(expr)
			if err != nil {
				t.Fatal(err)
			}
			if e.String() != expr {
				t.Errorf("String() = %q", e.String())
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{"", "1:1: empty expression"},
		{"   ", "1:4: empty expression"},
		{"1 +", "1:4: unexpected end of expression"},
		{"2 + 2 /", "1:8: unexpected end of expression"},
		{"Patient.name.where(", "1:20: unexpected end of expression"},
		{"Patient.name[0", `1:15: expected "]", found end of expression`},
		{"(1 + 2", `1:7: expected ")"`},
		{"1 2", `1:3: unexpected "2"`},
		{"'abc", "1:1: unterminated string"},
		{"`abc", "1:1: unterminated identifier"},
		{"'\\q'", `1:2: unknown escape \q`},
		{"'\\u00g1'", `1:2: bad \u escape`},
		{"2 + 2 /* not finished", "1:7: unterminated comment"},
		{"@2024-13-01", "1:1: invalid date literal"},
		{"@2024-02-30", "1:1: invalid date literal"},
		{"@T25:00", "1:1: invalid time literal"},
		{"@T14:34:28Z", `1:11: unexpected "Z"`},
		{"@T14:34:28+10:00", `1:14: unexpected character ':'`},
		{"%", "1:1: expected a variable name"},
		{"$foo", "1:1: unknown special variable $foo"},
		{"#", "1:1: unexpected character '#'"},
		{"Patient.name.\n  foo(", "2:7: unexpected end of expression"},
		{"99999999999999999999", "1:1: integer 99999999999999999999 out of range"},
		{"foo()", "1:1: unknown function foo()"},
		{"Patient.name.where()", "1:14: where() takes 1 argument, got 0"},
		{"1.substring(1, 2, 3)", "substring() takes 1 to 2 arguments, got 3"},
		{"1.empty(1)", "empty() takes no arguments, got 1"},
		{"1 is Foo", `1:3: unknown type "Foo"`},
		{"1.as(string1)", `1:6: unknown type "string1"`},
		{"1.is(1)", "1:6: is() takes a type name"},
		{"1 is Other.X", `unknown type "Other.X"`},
		{"'a'.matches('(')", "1:13: invalid regular expression"},
		{"Patient.nmae", `1:9: Patient has no element "nmae"`},
		{"Patient.name.where(usee = 'official')", `1:20: HumanName has no element "usee"`},
		{"Observation.valueQuantity", `Observation has no element "valueQuantity": choice elements are named by their stem; use value.ofType(Quantity)`},
		{"(Observation.value as Period).unit", `1:31: Period has no element "unit"`},
		{"Encounter.name.given", `1:11: Encounter has no element "name"`},
		{"Patient.children().skip(1)", "1:20: skip() on a collection without defined order"},
		{"Questionnaire.descendants()[0]", "1:28: indexer on a collection without defined order"},
		{strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), "nests too deeply"},
		{strings.Repeat("-", 300) + "1", "nests too deeply"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := fhirpath.Compile(tt.expr)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var fe *fhirpath.Error
			if !errors.As(err, &fe) || fe.Expr != tt.expr {
				t.Errorf("error %#v is not a *fhirpath.Error for the expression", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustCompile did not panic")
		}
	}()
	fhirpath.MustCompile("1 +")
}
