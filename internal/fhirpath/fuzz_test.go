package fhirpath_test

import (
	"errors"
	"testing"

	"kartehub/internal/fhirpath"
)

// fuzzSeeds cover the grammar and the function library; the corpus in
// testdata/fuzz keeps the inputs that once found bugs.
var fuzzSeeds = []string{
	"Patient.name.given",
	"name.`given`.first()",
	"Patient.name.where(use = 'official').family",
	"Observation.value.as(Quantity).unit",
	"(Observation.value as Quantity) | (Observation.value as SampledData)",
	"Observation.component.value.ofType(Quantity).value.sum()",
	"Observation.subject.where(resolve() is Patient)",
	"Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value",
	"Patient.name.given.select($this.hasValue())",
	"Patient.descendants().count()",
	"Patient.children().where($this is string)",
	"Patient.repeat(name | given).count()",
	"Patient.managingOrganization.resolve().name",
	"1 + 2 * 3 - 4 / 5 div 6 mod 7",
	"'a' & 'b' + 'c'",
	"4 'g' ~ 4040 'mg' and 7 days = 1 week",
	"2.0 'cm' * 2.0 'm' = 0.040 'm2'",
	"@2019-01-31 + 1 month - 3 'wk'",
	"@2017-11-05T01:30:00.0-04:00 > @2017-11-05T01:15:00.0-05:00",
	"@T10:30 < @T10:30:00",
	"now() > today() or timeOfDay() < @T12:00",
	"(1|2|3).aggregate($this + $total, 0)",
	"(3|1|2).sort(-$this).tail().skip(1).take(1)",
	"iif({}.empty(), 'a', 1/0)",
	"'abc'.matches('^a.c$') and 'abc'.replaceMatches('b', 'x') = 'axc'",
	"'LogicalModel-Person'.substring(0, 'LogicalModel-Person'.indexOf('-'))",
	"'1 \\'wk\\''.toQuantity('d')",
	"'2015-02-04T14:34:28+10:00'.toDateTime().lowBoundary()",
	"1.587.highBoundary(2) | 1.587 'cm'.lowBoundary(8)",
	"@2014.highBoundary(6).precision()",
	"1 'cm'.comparable(1 '[in_i]')",
	"81.sqrt() + 16.log(2) + 2.power(3) + (-1.5).abs().ceiling()",
	"'dGVzdA=='.decode('base64').encode('hex')",
	"'\"1<2\"'.escape('html').unescape('html')",
	"%resource.id | %ucum | %`vs-administrative-gender`",
	"Patient.type().name",
	"true implies {} xor false",
	"-1.convertsToInteger()",
	"Patient.gender.ofType(code).toChars().distinct().isDistinct()",
	"Patient.telecom.where(system='phone').value.join(',').split(',')",
}

func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := fhirpath.Compile(src)
		if err != nil {
			var fe *fhirpath.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *fhirpath.Error", err)
			}
			_ = err.Error()
			return
		}
		if e.String() != src {
			t.Fatalf("String() = %q", e.String())
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, src string, which uint8) {
		e, err := fhirpath.Compile(src)
		if err != nil {
			return
		}
		var res any
		switch which % 3 {
		case 0:
			res = testResource(t, "patient")
		case 1:
			res = testResource(t, "observation")
		}
		got, err := e.Evaluate(res, testOptions())
		if err != nil {
			var fe *fhirpath.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *fhirpath.Error", err)
			}
			return
		}
		for _, it := range got {
			_, _, _ = it.String(), it.Type(), it.Value()
		}
	})
}
