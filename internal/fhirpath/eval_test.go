package fhirpath_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
)

// testResources loads testdata/*.json once.
var testResources = sync.OnceValues(func() (map[string]*fhir.Object, error) {
	out := map[string]*fhir.Object{}
	for _, name := range []string{"patient", "observation"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			return nil, err
		}
		obj, err := fhir.ParseObject(data)
		if err != nil {
			return nil, err
		}
		out[name] = obj
	}
	return out, nil
})

func testResource(tb testing.TB, name string) fhir.Value {
	tb.Helper()
	if name == "" {
		return nil
	}
	res, err := testResources()
	if err != nil {
		tb.Fatal(err)
	}
	return res[name]
}

// fixedNow is the clock of the tests: 2024-05-01 10:20:30.456 in Tokyo.
var fixedNow = time.Date(2024, 5, 1, 10, 20, 30, 456e6, time.FixedZone("JST", 9*3600))

func testOptions() *fhirpath.Options {
	return &fhirpath.Options{
		Now:  func() time.Time { return fixedNow },
		Vars: map[string]fhirpath.Collection{"limit": fhirpath.Of(fhir.Number("2")), "greeting": fhirpath.Of("hello")},
	}
}

// show renders a collection as its items' strings, cut short if long.
func show(c fhirpath.Collection) string {
	parts := make([]string, len(c))
	for i, it := range c {
		parts[i] = it.String()
	}
	s := strings.Join(parts, " | ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func TestEvaluate(t *testing.T) {
	for _, tt := range []struct {
		res, expr, want string
	}{
		// Paths, choice elements, primitives with extensions
		{"patient", "Patient.name.family", "山田 | ヤマダ"},
		{"patient", "name.given.count()", "5"},
		{"patient", "Patient.name[1].given.first().hasValue()", "false"},
		{"patient", "Patient.name[1].given.first().extension.value", "3"},
		{"patient", "Patient.name.given.where(hasValue()).count()", "4"},
		{"patient", "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", "1974-12-25T14:35:45+09:00"},
		{"patient", "Patient.birthDate", "1974-12-25"},
		{"patient", "Patient.id", "p1"},
		{"patient", "Patient.contained.name", "Hokkaido Heart Clinic"},
		{"patient", "Patient.deceased", "false"},
		{"patient", "Patient.deceased.exists() and Patient.deceased != false", "false"},
		{"patient", "Patient.telecom.where(system='phone').value", "011-555-0100 | 090-5555-0101"},
		{"patient", "Patient.identifier.where(system.startsWith('urn:oid:1.2.392.100495.20.3.51.1')).value", "00012345"},
		{"patient", "Patient.name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'SYL').family", "ヤマダ"},
		{"patient", "Patient.extension.where(url = 'http://example.org/fhir/StructureDefinition/birthPlace').value", "Sapporo"},
		{"patient", "Patient.meta.profile", "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"},
		{"patient", "Patient.address.city & ' ' & Patient.address.postalCode", "札幌市 060-0001"},
		{"patient", "Patient.active.type().name", "boolean"},
		{"patient", "Patient.active.type().namespace", "FHIR"},
		{"patient", "Patient.gender is code", "true"},
		{"patient", "Patient.gender is string", "true"},
		{"patient", "Patient.gender is System.String", "false"},
		{"patient", "Patient is DomainResource", "true"},
		{"patient", "Encounter.status", ""},
		{"patient", "%resource.id & %context.id", "p1p1"},
		{"patient", "Patient.name.select(given.first()).count()", "3"},
		{"observation", "Observation.value.value", "72.50"},
		{"observation", "Observation.value.value.type().name", "decimal"},
		{"observation", "Observation.value.ofType(Quantity).code", "kg"},
		{"observation", "Observation.value is Quantity", "true"},
		{"observation", "(Observation.component.value as Quantity).value", "120 | 80"},
		{"observation", "Observation.component.value.ofType(CodeableConcept).text", "sitting"},
		{"observation", "Observation.effective", "2024-05-01T09:30:00+09:00"},
		{"observation", "Observation.effective.type().name", "dateTime"},
		{"observation", "Observation.referenceRange.age.low.value", "18"},
		{"observation", "Observation.value > 70 'kg'", "true"},
		{"observation", "Observation.value < 73000 'g'", "true"},
		{"observation", "Observation.component.value.where($this is Quantity).value.sum()", "200"},
		// resolve()
		{"observation", "Observation.subject.where(resolve() is Patient).reference", "Patient/p1"},
		{"observation", "Observation.encounter.resolve()", ""},
		{"patient", "Patient.managingOrganization.resolve().name", "Hokkaido Heart Clinic"},
		{"patient", "Patient.generalPractitioner.resolve().type().name", "Practitioner | Organization"},
		// Literals and operators
		{"", "1 + 2 * 3", "7"},
		{"", "7 / 2", "3.5"},
		{"", "1 / 3", "0.33333333"},
		{"", "(7 div 2).toString() + ',' + (-7 div 2).toString() + ',' + (-7 mod 2).toString()", "3,-3,-1"},
		{"", "5.5 mod 2", "1.5"},
		{"", "1.5 + 1", "2.5"},
		{"", "1.10 = 1.1", "true"},
		{"", "9223372036854775807 + 1", ""},
		{"", "'a' & {} & 'b'", "ab"},
		{"", "'a' + 'b'", "ab"},
		{"", "{} = {}", ""},
		{"", "(1 | 2 | 2 | 3).count()", "3"},
		{"", "(1 | 2).combine(2 | 3)", "1 | 2 | 2 | 3"},
		{"", "2 in (1 | 2)", "true"},
		{"", "(1 | 2) contains 3", "false"},
		{"", "true and {}", ""},
		{"", "false and {}", "false"},
		{"", "{} or true", "true"},
		{"", "false implies {}", "true"},
		{"", "true xor false", "true"},
		{"", "1.0 ~ 1", "true"},
		{"", "'Ab  c' ~ ' ab c'", "true"},
		{"", "'abc' < 'abd'", "true"},
		// Quantities and units
		{"", "1 'kg' = 1000 'g'", "true"},
		{"", "100 'cm' < 2 'm'", "true"},
		{"", "37 'Cel' > 98 '[degF]'", "true"},
		{"", "1 'kg' + 500 'g'", "1.5 'kg'"},
		{"", "5 'mg' * 2", "10 'mg'"},
		{"", "10 'mg' / 4 'mL' = 2.5 'mg/mL'", "true"},
		{"", "120 'mm[Hg]' = 16 'kPa'", "false"},
		{"", "1 'mm[Hg]' > 133 'Pa'", "true"},
		{"", "1 year = 12 months", "true"},
		{"", "1 'a' = 1 year", ""},
		{"", "3 'm' = 3 's'", ""},
		{"", "4 'g' ~ 4040 'mg'", "true"},
		{"", "1 week = 7 days", "true"},
		{"", "'5 \\'mg\\''.toQuantity('g')", "0.005 'g'"},
		{"", "'5 days'.toQuantity()", "5 days"},
		{"", "'5 mg'.toQuantity()", ""},
		{"", "1 'cm'.comparable(1 '[in_i]')", "true"},
		{"", "(-5.5 'mg').abs()", "5.5 'mg'"},
		// Dates and times
		{"", "@2024-01-31 + 1 month", "2024-02-29"},
		{"", "@2023-02-28 + 1 year", "2024-02-28"},
		{"", "@2024-03-01T10:00:00Z - 90 minutes", "2024-03-01T08:30:00Z"},
		{"", "@2024-03-01T10:00:00.000+09:00 + 1 'ms'", "2024-03-01T10:00:00.001+09:00"},
		{"", "@T23:00 + 2 hours", "01:00"},
		{"", "@2024-05-01 + 25 hours", "2024-05-02"},
		{"", "'2024-05-01'.toDate() + 1 day", "2024-05-02"},
		{"", "@2024-05 = @2024-05-01", ""},
		{"", "@2024-05 < @2024-06-01", "true"},
		{"", "@2024-05-01T10:00:00+09:00 = @2024-05-01T01:00:00Z", "true"},
		{"", "@2024-05-01T10:00:00 = @2024-05-01T10:00:00Z", ""},
		{"", "@2024-05-01T10:00:00 < @2024-05-03T10:00:00Z", "true"},
		{"", "@2024-05-01T10:00:00.5 = @2024-05-01T10:00:00.500", "true"},
		{"", "@2024-05-01 ~ @2024-05-01T00:00:00", "false"},
		{"", "@2024-02-10.toString()", "2024-02-10"},
		{"", "now()", "2024-05-01T10:20:30.456+09:00"},
		{"", "today()", "2024-05-01"},
		{"", "timeOfDay()", "10:20:30.456"},
		{"", "now() > @2024-05-01", ""},
		{"", "today() = @2024-05-01", "true"},
		{"", "@2024-05-01T10:00.lowBoundary()", "2024-05-01T10:00:00.000+14:00"},
		{"", "@2024-05.highBoundary()", "2024-05-31"},
		{"", "@2024-05-01T10:00:00Z.precision()", "14"},
		// Functions
		{"", "(3 | 1 | 2).sort()", "1 | 2 | 3"},
		{"", "('b' | 'a' | 'c').sort(-$this)", "c | b | a"},
		{"", "(1 | 2 | 3).aggregate($this + $total, 0)", "6"},
		{"", "(1 | 2 | 3).select($this * $index)", "0 | 2 | 6"},
		{"", "(1 | 2 | 3).where($this > 1).exists()", "true"},
		{"", "(1 | 2 | 3).all($this > 0)", "true"},
		{"", "(true | false).anyFalse()", "true"},
		{"", "(1 | 2 | 3).skip(1).take(1)", "2"},
		{"", "(1 | 2 | 3).tail().last()", "3"},
		{"", "(1 | 2 | 3).intersect(2 | 3 | 4)", "2 | 3"},
		{"", "(1 | 2 | 3).exclude(2)", "1 | 3"},
		{"", "(1 | 2).subsetOf(1 | 2 | 3)", "true"},
		{"", "(1 | 2 | 3).isDistinct()", "true"},
		{"", "iif(true, 'y', 1 / 0)", "y"},
		{"", "iif({}, 'y', 'n')", "n"},
		{"", "{}.empty()", "true"},
		{"", "2.power(10)", "1024"},
		{"", "2.5.round()", "3"},
		{"", "(-2.5).round()", "-3"},
		{"", "3.14159.round(2)", "3.14"},
		{"", "(-1.5).floor().toString() + ',' + (-1.5).ceiling().toString() + ',' + (-1.5).truncate().toString()", "-2,-1,-1"},
		{"", "100.log(10)", "2"},
		{"", "(1 | 2 | 3).max()", "3"},
		{"", "(1 | 2 | 4).avg()", "2.33333333"},
		{"", "'こんにちは'.length()", "5"},
		{"", "'こんにちは'.substring(1, 2)", "んに"},
		{"", "'こんにちは'.indexOf('に')", "2"},
		{"", "'abc'.matches('^a.c$')", "true"},
		{"", "'a-b-c'.replaceMatches('-(.)', '+$1')", "a+b+c"},
		{"", "'a,b'.split(',').join('+')", "a+b"},
		{"", "'ab'.toChars()", "a | b"},
		{"", "' x '.trim().upper()", "X"},
		{"", "'1.50'.toDecimal()", "1.50"},
		{"", "'12'.toInteger() + 1", "13"},
		{"", "'yes'.toBoolean()", "true"},
		{"", "1.5.toString()", "1.5"},
		{"", "%ucum", "http://unitsofmeasure.org"},
		{"", "%`vs-administrative-gender`", "http://hl7.org/fhir/ValueSet/administrative-gender"},
		{"", "%greeting & ' ' & %limit.toString()", "hello 2"},
		{"", "%limit + 1", "3"},
		{"", "1.type().name", "Integer"},
		{"", "'x'.is(String)", "true"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := fhirpath.Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Evaluate(testResource(t, tt.res), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if s := show(got); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	for _, tt := range []struct{ res, expr, want string }{
		{"patient", "name.nmae", `1:6: HumanName has no element "nmae"`},
		{"patient", "Patient.name.single()", "single: expected at most one item, got 3"},
		{"patient", "Patient.name.as(HumanName)", "as: expected at most one item"},
		{"observation", "Observation.component.value.as(Quantity)", "as: expected at most one item"},
		{"patient", "Patient.identifier.startsWith('x')", "startsWith: expected at most one item"},
		{"patient", "Patient.address.startsWith('x')", "input must be a String, got Address"},
		{"", "1 < 'a'", "cannot compare System.Integer with System.String"},
		{"", "'a' - 'b'", "cannot apply - to System.String and System.String"},
		{"", "@2024-01-01 + 1 'mo'", "not a calendar duration"},
		{"", "@2024-01-01 + 1 'cm'", "not a calendar duration"},
		{"", "(1 | 2) + 1", "+: expected at most one item, got 2"},
		{"", "iif('x', 1, 2)", "expected a Boolean"},
		{"", "(1 | 2).not()", "expected a single Boolean"},
		{"", "(true | 'x').allTrue()", "allTrue: expected Booleans"},
		{"", "%missing", "undefined variable %missing"},
		{"", "(1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12).aggregate($total.combine($total).combine($total), 1)", "result of more than"},
		{"", "'x'.replace('x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx').replace('x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx').replace('x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx').replace('x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx').replace('x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')", "string result longer than"},
		{"", "'x'.encode('rot13')", `unknown format "rot13"`},
		{"", "conformsTo('http://example.org/x')", "unknown profile"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := fhirpath.Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Evaluate(testResource(t, tt.res), testOptions())
			if err == nil {
				t.Fatalf("got %s, want error %q", show(got), tt.want)
			}
			var fe *fhirpath.Error
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *fhirpath.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestEvaluateOptions(t *testing.T) {
	res := testResource(t, "observation")
	var traced []string
	opts := &fhirpath.Options{
		Resolve: func(ref string) fhir.Value {
			if ref == "Patient/p1" {
				return testResource(t, "patient")
			}
			return nil
		},
		Trace: func(name string, c fhirpath.Collection) { traced = append(traced, name+"="+show(c)) },
	}
	got, err := fhirpath.MustCompile("Observation.subject.resolve().name.trace('names', family).first().given").Evaluate(res, opts)
	if err != nil {
		t.Fatal(err)
	}
	if show(got) != "太郎" {
		t.Errorf("got %q", show(got))
	}
	if len(traced) != 1 || traced[0] != "names=山田 | ヤマダ" {
		t.Errorf("traced %q", traced)
	}
	// Without a resolver, a reference of the form Type/id still has a type.
	got, err = fhirpath.MustCompile("Observation.subject.resolve()").Evaluate(res, nil)
	if err != nil || len(got) != 1 || got[0].Type() != "Patient" || got[0].Value() != nil {
		t.Errorf("resolve() without a resolver: %v, %v", got, err)
	}
}

// TestEvaluateFocus evaluates the components of a composite search
// parameter (component-code-value-quantity) on the values of its own
// expression: the items keep their types, so value finds valueQuantity.
func TestEvaluateFocus(t *testing.T) {
	obs := testResource(t, "observation")
	components, err := fhirpath.MustCompile("Observation.component").Evaluate(obs, nil)
	if err != nil || len(components) != 3 {
		t.Fatalf("components: %v, %v", components, err)
	}
	code := fhirpath.MustCompile("code.coding.code")
	value := fhirpath.MustCompile("value.as(Quantity).value")
	context := fhirpath.MustCompile("%context.code.text | %resource.id")
	var got []string
	for i := range components {
		focus := components[i : i+1]
		c, err := code.EvaluateFocus(obs, focus, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := value.EvaluateFocus(obs, focus, nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := context.EvaluateFocus(obs, focus, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, show(c)+"="+show(v)+" ("+show(x)+")")
	}
	want := []string{"8480-6=120 (bp1)", "8462-4=80 (bp1)", "= (position | bp1)"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestItem(t *testing.T) {
	res := testResource(t, "observation")
	got, err := fhirpath.MustCompile("Observation.value | Observation.value.value | 1 | 1.5 | 'x' | @2024 | 2 'mg' | true").Evaluate(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ   string
		value any
	}{
		{"Quantity", nil}, {"decimal", fhir.Number("72.50")}, {"System.Integer", int64(1)},
		{"System.Decimal", fhir.Number("1.5")}, {"System.String", "x"}, {"System.Date", "2024"},
		{"System.Quantity", fhirpath.Quantity{Value: "2", Unit: "mg"}}, {"System.Boolean", true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items: %s", len(got), show(got))
	}
	for i, w := range want {
		if got[i].Type() != w.typ {
			t.Errorf("item %d: type %q, want %q", i, got[i].Type(), w.typ)
		}
		if w.value != nil && got[i].Value() != w.value {
			t.Errorf("item %d: value %#v, want %#v", i, got[i].Value(), w.value)
		}
	}
	if _, ok := got[0].Value().(*fhir.Object); !ok || got[0].FHIRType().Name() != "Quantity" {
		t.Errorf("Observation.value is %T of %v", got[0].Value(), got[0].FHIRType())
	}
	if got[2].FHIRType() != 0 {
		t.Error("a System value has a FHIR type")
	}
}

// TestConcurrentEvaluate checks that one Expression serves many goroutines
// (run with -race).
func TestConcurrentEvaluate(t *testing.T) {
	e := fhirpath.MustCompile("Patient.telecom.where(system = 'phone').value.count() + Patient.name.given.count()")
	res := testResource(t, "patient")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, err := e.Evaluate(res, nil)
				if err != nil || show(got) != "7" {
					t.Errorf("got %s, %v", show(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
}
