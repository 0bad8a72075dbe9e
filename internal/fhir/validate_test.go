package fhir_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
)

// validateData holds the shared third-party test data, relative to this package.
const validateData = "../../../shared/data"

// parseResource parses a JSON test resource.
func parseResource(tb testing.TB, s string) *fhir.Object {
	tb.Helper()
	obj, err := fhir.ParseObject([]byte(s))
	if err != nil {
		tb.Fatalf("parse %s: %v", s, err)
	}
	return obj
}

// at is an expected issue: its Code and Expression.
type at struct{ code, expr string }

func issuesAt(issues []karte.Issue) []at {
	var got []at
	for _, is := range issues {
		got = append(got, at{is.Code, is.Expression})
	}
	return got
}

func formatIssues(issues []karte.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		fmt.Fprintf(&b, "\n\t%s %s %q: %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
	}
	return b.String()
}

func TestValidateValid(t *testing.T) {
	for _, tt := range []struct{ name, json string }{
		{"MinimalPatient", `{"resourceType":"Patient"}`},
		{"Patient", `{"resourceType":"Patient","id":"p-1.2","meta":{"versionId":"1","lastUpdated":"2024-01-01T00:00:00Z"},
			"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
			"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],
			"gender":"male","birthDate":"1974-12-25","deceasedBoolean":false,"multipleBirthInteger":2,
			"telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work","rank":1}],
			"contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}]}]}],
			"link":[{"other":{"reference":"Patient/2"},"type":"seealso"}]}`},
		{"PrimitiveExtensionOnly", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`},
		{"PrimitiveExtensionWithValue", `{"resourceType":"Patient","birthDate":"1974","_birthDate":{"id":"b"}}`},
		{"ExtensionArrayWithNull", `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://x","valueString":"B"}]}]}]}`},
		{"RequiredByExtension", `{"resourceType":"Observation","_status":{"extension":[{"url":"http://x","valueBoolean":true}]},"code":{"text":"x"}}`},
		{"ChoiceWithExtension", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","_valueString":{"id":"v"}}`},
		{"ObservationQuantity", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2024-02-29T10:00:00+09:00",
			"valueQuantity":{"value":1.50,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"},
			"component":[{"code":{"text":"y"},"valueCodeableConcept":{"text":"z"}}]}`},
		{"Contained", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"Org"}],"managingOrganization":{"reference":"#o"}}`},
		{"Bundle", `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Bundle","type":"collection"},"response":{"status":"201","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}}}]}`},
		{"ParametersNested", `{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b","valueUuid":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},
			{"name":"c","part":[{"name":"d","resource":{"resourceType":"Patient"}}]}]}]}`},
		{"QuestionnaireItems", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"string","item":[{"linkId":"1.1.1","type":"display"}]}]}]}`},
		{"ElementIDAndExtension", `{"resourceType":"Patient","name":[{"id":"n1","extension":[{"url":"http://x","valueHumanName":{"family":"F"}}],"family":"F"}]}`},
		{"ModifierExtension", `{"resourceType":"Patient","modifierExtension":[{"url":"http://x","valueBoolean":true}],"contact":[{"modifierExtension":[{"url":"http://y","valueInteger":1}],"name":{"text":"x"}}]}`},
		{"Binary", `{"resourceType":"Binary","contentType":"text/plain","data":"aGVsbG8gd29ybGQ="}`},
		{"ResourceIDIsID", `{"resourceType":"Patient","id":"A-Za-z0-9.-"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if issues := fhir.Validate(parseResource(t, tt.json)); len(issues) > 0 {
				t.Errorf("want no issues, got:%s", formatIssues(issues))
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		json string
		want []at
		diag string // a part of the first issue's Diagnostics
	}{
		// resourceType
		{"MissingResourceType", `{"id":"x"}`, []at{{"required", ""}}, "missing resourceType"},
		{"UnknownResourceType", `{"resourceType":"Patiens"}`, []at{{"not-supported", ""}}, `"Patiens"`},
		{"AbstractResourceType", `{"resourceType":"DomainResource"}`, []at{{"invalid", ""}}, "abstract"},
		{"DataTypeAsResourceType", `{"resourceType":"HumanName"}`, []at{{"not-supported", ""}}, "unknown resourceType"},
		{"ResourceTypeNotString", `{"resourceType":["Patient"]}`, []at{{"structure", ""}}, "JSON string"},
		{"ResourceTypeInDataType", `{"resourceType":"Patient","name":[{"resourceType":"HumanName"}]}`,
			[]at{{"structure", "Patient.name[0].resourceType"}}, `unknown element "resourceType" in HumanName`},

		// unknown elements
		{"UnknownElement", `{"resourceType":"Patient","nmae":[]}`, []at{{"structure", "Patient.nmae"}}, `unknown element "nmae" in Patient`},
		{"UnknownNested", `{"resourceType":"Patient","name":[{"family":"F"},{"famliy":"F"}]}`,
			[]at{{"structure", "Patient.name[1].famliy"}}, `unknown element "famliy" in HumanName`},
		{"UnknownInBackbone", `{"resourceType":"Patient","contact":[{"nom":"x"}]}`,
			[]at{{"structure", "Patient.contact[0].nom"}}, "in Patient.contact"},
		{"ExtensionOfComplex", `{"resourceType":"Patient","_maritalStatus":{"id":"x"}}`,
			[]at{{"structure", "Patient._maritalStatus"}}, "only primitive elements"},
		{"ExtensionOfResourceID", `{"resourceType":"Patient","id":"a","_id":{"id":"x"}}`,
			[]at{{"structure", "Patient._id"}}, "only primitive elements"},
		{"ExtensionOfExtensionURL", `{"resourceType":"Patient","extension":[{"url":"http://x","_url":{"id":"u"},"valueString":"s"}]}`,
			[]at{{"structure", "Patient.extension[0]._url"}}, "only primitive elements"},
		{"NarrativeDivExtension", `{"resourceType":"Patient","text":{"status":"generated","div":"<div/>","_div":{"id":"d"}}}`,
			[]at{{"structure", "Patient.text._div"}}, "only primitive elements"},

		// JSON types
		{"ObjectForString", `{"resourceType":"Patient","gender":{"code":"male"}}`,
			[]at{{"structure", "Patient.gender"}}, "expected a JSON string (code), not an object"},
		{"StringForNumber", `{"resourceType":"Patient","multipleBirthInteger":"2"}`,
			[]at{{"structure", "Patient.multipleBirthInteger"}}, "expected a JSON number (integer), not a string"},
		{"StringForBoolean", `{"resourceType":"Patient","active":"true"}`,
			[]at{{"structure", "Patient.active"}}, "expected a JSON boolean"},
		{"NumberForObject", `{"resourceType":"Patient","maritalStatus":1}`,
			[]at{{"structure", "Patient.maritalStatus"}}, "expected a JSON object (CodeableConcept), not a number"},
		{"StringForArrayItem", `{"resourceType":"Patient","name":["Peter"]}`,
			[]at{{"structure", "Patient.name[0]"}}, "expected a JSON object (HumanName)"},
		{"ExtensionNotObject", `{"resourceType":"Patient","_birthDate":"x"}`,
			[]at{{"structure", "Patient.birthDate"}}, "extensions of a date"},
		{"ContainedNotObject", `{"resourceType":"Patient","contained":["x"]}`,
			[]at{{"structure", "Patient.contained[0]"}}, "expected a JSON object (Resource)"},

		// arrays and single values
		{"ArrayForSingle", `{"resourceType":"Patient","gender":["male"]}`,
			[]at{{"structure", "Patient.gender"}}, "must not be an array"},
		{"SingleForArray", `{"resourceType":"Patient","name":{"family":"F"}}`,
			[]at{{"structure", "Patient.name"}}, "must be an array"},
		{"SinglePrimitiveForArray", `{"resourceType":"Patient","name":[{"given":"Peter"}]}`,
			[]at{{"structure", "Patient.name[0].given"}}, "must be an array"},

		// empty content and null
		{"EmptyObject", `{"resourceType":"Patient","maritalStatus":{}}`, []at{{"structure", "Patient.maritalStatus"}}, "empty object"},
		{"EmptyArray", `{"resourceType":"Patient","name":[]}`, []at{{"structure", "Patient.name"}}, "empty array"},
		{"EmptyString", `{"resourceType":"Patient","name":[{"family":""}]}`, []at{{"value", "Patient.name[0].family"}}, "empty string"},
		{"WhitespaceString", `{"resourceType":"Patient","name":[{"given":["A"," \t "]}]}`, []at{{"value", "Patient.name[0].given[1]"}}, "only whitespace"},
		{"EmptyExtensionObject", `{"resourceType":"Patient","_birthDate":{}}`, []at{{"structure", "Patient.birthDate"}}, "empty object"},
		{"NullSingle", `{"resourceType":"Patient","gender":null}`, []at{{"structure", "Patient.gender"}}, "null"},
		{"NullInComplexArray", `{"resourceType":"Patient","name":[null]}`, []at{{"structure", "Patient.name[0]"}}, "null"},
		{"NullWithoutExtension", `{"resourceType":"Patient","name":[{"given":["A",null]}]}`,
			[]at{{"structure", "Patient.name[0].given[1]"}}, "_given"},
		{"NullInBoth", `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,null]}]}`,
			[]at{{"structure", "Patient.name[0].given[1]"}}, "needs a value"},
		{"MisalignedExtensions", `{"resourceType":"Patient","name":[{"given":["A","B"],"_given":[{"id":"x"}]}]}`,
			[]at{{"structure", "Patient.name[0].given"}}, "_given has 1 items but given has 2"},
		{"ExtensionArrayForSingle", `{"resourceType":"Patient","_birthDate":[{"id":"x"}]}`,
			[]at{{"structure", "Patient.birthDate"}}, "must not be an array"},
		{"BadExtensionContent", `{"resourceType":"Patient","birthDate":"1974","_birthDate":{"value":"x"}}`,
			[]at{{"structure", "Patient.birthDate.value"}}, `unknown element "value" in date`},
		{"BadExtensionInArray", `{"resourceType":"Patient","name":[{"given":["A"],"_given":[{"extension":[{"url":1}]}]}]}`,
			[]at{{"structure", "Patient.name[0].given[0].extension[0].url"}}, "expected a JSON string (uri)"},

		// required elements, per occurrence of the parent
		{"MissingRequired", `{"resourceType":"Observation","valueString":"x"}`,
			[]at{{"required", "Observation.code"}, {"required", "Observation.status"}}, `missing required element "code"`},
		{"MissingRequiredPerItem", `{"resourceType":"Patient","link":[{"type":"seealso"},{"other":{"reference":"Patient/1"}},{"other":{"reference":"Patient/2"},"type":"refer"}]}`,
			[]at{{"required", "Patient.link[0].other"}, {"required", "Patient.link[1].type"}}, "in Patient.link"},
		{"MissingRequiredChoice", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}}`,
			[]at{{"required", "MedicationRequest.medication[x]"}}, `"medication[x]"`},
		{"MissingRequiredInDataType", `{"resourceType":"Patient","extension":[{"valueString":"x"}]}`,
			[]at{{"required", "Patient.extension[0].url"}}, "in Extension"},
		{"MissingRequiredNested", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","status":"final"}}]}`,
			[]at{{"required", "Bundle.entry[0].resource.code"}}, "in Observation"},

		// choice types
		{"TwoChoiceTypes", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","valueQuantity":{"value":1}}`,
			[]at{{"structure", "Observation.valueQuantity"}}, "value[x] has more than one type: valueString and valueQuantity"},
		{"ChoiceValueAndOtherExtension", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","_valueBoolean":{"id":"b"}}`,
			[]at{{"structure", "Observation._valueBoolean"}}, "more than one type"},
		{"BadChoiceSuffix", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueMoney":{"value":1}}`,
			[]at{{"structure", "Observation.valueMoney"}}, `"Money" is not an allowed type of value[x]`},
		{"ChoiceWithoutSuffix", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"value":"x"}`,
			[]at{{"structure", "Observation.value"}}, "needs a type suffix"},
		{"ChoiceSuffixCase", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valuestring":"x"}`,
			[]at{{"structure", "Observation.valuestring"}}, "not an allowed type"},
		{"ChoiceTypeMismatch", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":"5 mg"}`,
			[]at{{"structure", "Observation.valueQuantity"}}, "expected a JSON object (Quantity)"},
		{"ChoiceNestedValue", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"5"}}`,
			[]at{{"structure", "Observation.valueQuantity.value"}}, "expected a JSON number (decimal)"},

		// nested resources
		{"ContainedUnknownElement", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","nmae":"x"}]}`,
			[]at{{"structure", "Patient.contained[0].nmae"}}, "in Organization"},
		{"ContainedWithoutResourceType", `{"resourceType":"Patient","contained":[{"name":"x"}]}`,
			[]at{{"required", "Patient.contained[0]"}}, "missing resourceType"},
		{"ContainedUnknownType", `{"resourceType":"Patient","contained":[{"resourceType":"Nope"}]}`,
			[]at{{"not-supported", "Patient.contained[0]"}}, `unknown resourceType "Nope"`},
		{"BundleEntry", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1"},{"resource":{"resourceType":"Patient","name":[{"given":["A","B "," "]}]}}]}`,
			[]at{{"value", "Bundle.entry[1].resource.name[0].given[2]"}}, "only whitespace"},
		{"BundleInBundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":1}}]}}]}`,
			[]at{{"structure", "Bundle.entry[0].resource.entry[0].resource.active"}}, "expected a JSON boolean"},
		{"ParametersResource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","gender":1}}]}`,
			[]at{{"structure", "Parameters.parameter[0].resource.gender"}}, "expected a JSON string (code)"},
		{"ParametersPart", `{"resourceType":"Parameters","parameter":[{"name":"p","part":[{"name":"q","part":[{"valueFoo":1}]}]}]}`,
			[]at{{"structure", "Parameters.parameter[0].part[0].part[0].valueFoo"}, {"required", "Parameters.parameter[0].part[0].part[0].name"}}, `"Foo" is not an allowed type`},
		{"QuestionnaireItemItem", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"2","type":"string","answer":"x"}]}]}`,
			[]at{{"structure", "Questionnaire.item[0].item[0].answer"}}, "in Questionnaire.item"},

		// primitive formats in context
		{"BadDate", `{"resourceType":"Patient","birthDate":"1974-02-30"}`, []at{{"value", "Patient.birthDate"}}, `invalid date "1974-02-30"`},
		{"BadInstant", `{"resourceType":"Patient","meta":{"lastUpdated":"2024-01-01T10:00:00"}}`, []at{{"value", "Patient.meta.lastUpdated"}}, "invalid instant"},
		{"BadResourceID", `{"resourceType":"Patient","id":"a_b"}`, []at{{"value", "Patient.id"}}, "invalid id"},
		{"BadPositiveInt", `{"resourceType":"Patient","telecom":[{"rank":0}]}`, []at{{"value", "Patient.telecom[0].rank"}}, "at least 1"},
		{"BadCode", `{"resourceType":"Patient","gender":"male "}`, []at{{"value", "Patient.gender"}}, "trailing whitespace"},

		{"SeveralIssues", `{"resourceType":"Patient","foo":1,"gender":1,"name":{},"birthDate":"x"}`,
			[]at{{"structure", "Patient.foo"}, {"structure", "Patient.gender"}, {"structure", "Patient.name"}, {"value", "Patient.birthDate"}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			issues := fhir.Validate(parseResource(t, tt.json))
			if got := issuesAt(issues); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v:%s", got, tt.want, formatIssues(issues))
			}
			if !strings.Contains(issues[0].Diagnostics, tt.diag) {
				t.Errorf("diagnostics %q lacks %q", issues[0].Diagnostics, tt.diag)
			}
			for _, is := range issues {
				if is.Severity != "error" || is.Diagnostics == "" {
					t.Errorf("issue %+v: want severity error and diagnostics", is)
				}
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if got := issuesAt(fhir.Validate(nil)); !slices.Equal(got, []at{{"required", ""}}) {
		t.Errorf("Validate(nil) = %v", got)
	}
}

// TestValidateDuplicates uses hand-built trees, since the parser rejects
// duplicate keys.
func TestValidateDuplicates(t *testing.T) {
	for _, tt := range []struct {
		name    string
		members []fhir.Member
		want    []at
	}{
		{"DuplicateKey", []fhir.Member{{Key: "active", Value: true}, {Key: "active", Value: false}},
			[]at{{"structure", "Patient.active"}}},
		{"DuplicateExtension", []fhir.Member{{Key: "_gender", Value: &fhir.Object{Members: []fhir.Member{{Key: "id", Value: "a"}}}},
			{Key: "_gender", Value: &fhir.Object{Members: []fhir.Member{{Key: "id", Value: "b"}}}}},
			[]at{{"structure", "Patient._gender"}}},
		{"ForeignGoValue", []fhir.Member{{Key: "active", Value: 1}}, []at{{"structure", "Patient.active"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := &fhir.Object{Members: append([]fhir.Member{{Key: "resourceType", Value: "Patient"}}, tt.members...)}
			issues := fhir.Validate(res)
			if got := issuesAt(issues); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v:%s", got, tt.want, formatIssues(issues))
			}
		})
	}
}

// TestValidateFormats checks each primitive's value rules, through
// Parameters.parameter.value[x], which allows every primitive type.
func TestValidateFormats(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tt := range []struct {
		typ   string
		value fhir.Value
		ok    bool
	}{
		{"Boolean", true, true},
		{"Boolean", "true", false},
		{"Integer", fhir.Number("0"), true},
		{"Integer", fhir.Number("-5"), true},
		{"Integer", fhir.Number("2147483647"), true},
		{"Integer", fhir.Number("-2147483648"), true},
		{"Integer", fhir.Number("2147483648"), false},
		{"Integer", fhir.Number("-2147483649"), false},
		{"Integer", fhir.Number("12345678901"), false},
		{"Integer", fhir.Number("1.0"), false},
		{"Integer", fhir.Number("1e2"), false},
		{"Integer", fhir.Number("01"), false},
		{"Integer", "1", false},
		{"PositiveInt", fhir.Number("1"), true},
		{"PositiveInt", fhir.Number("0"), false},
		{"PositiveInt", fhir.Number("-1"), false},
		{"UnsignedInt", fhir.Number("0"), true},
		{"UnsignedInt", fhir.Number("-0"), false},
		{"UnsignedInt", fhir.Number("-1"), false},
		{"Decimal", fhir.Number("1.50"), true},
		{"Decimal", fhir.Number("-0.0"), true},
		{"Decimal", fhir.Number("1e-3"), true},
		{"Decimal", fhir.Number("6.02E+23"), true},
		{"Decimal", fhir.Number("01"), false},
		{"Decimal", fhir.Number("1."), false},
		{"Decimal", fhir.Number(".5"), false},
		{"Decimal", fhir.Number("1e"), false},
		{"Decimal", "1.5", false},
		{"String", "tab\tand\r\nnewline", true},
		{"String", " padded ", true},
		{"String", "日本語", true},
		{"String", "bell\a", false},
		{"String", "", false},
		{"String", " \n ", false},
		{"String", strings.Repeat("x", 1<<20), true},
		{"String", strings.Repeat("x", 1<<20+1), false},
		{"String", strings.Repeat("é", 1<<19+1), true}, // over 1 MB of bytes, not of characters
		{"Markdown", "# Title\n\n*x*", true},
		{"Markdown", "nul\x00", false},
		{"Code", "a b", true},
		{"Code", " a", false},
		{"Code", "a ", false},
		{"Code", "a  b", false},
		{"Code", "a\x01", false},
		{"Id", "abc-1.2", true},
		{"Id", long, true},
		{"Id", long + "b", false},
		{"Id", "a_b", false},
		{"Id", "a b", false},
		{"Uri", "http://example.org/a?b=c#d", true},
		{"Uri", "urn:a b", false},
		{"Url", "http://example.org", true},
		{"Url", "http://example.org/\x7f", true},
		{"Url", "http://exa mple.org", false},
		{"Canonical", "http://hl7.org/fhir/ValueSet/x|4.0.1", true},
		{"Canonical", "a\tb", false},
		{"Oid", "urn:oid:1.2.840.10008", true},
		{"Oid", "urn:oid:2.0", true},
		{"Oid", "urn:oid:3.1", false},
		{"Oid", "urn:oid:1.02", false},
		{"Oid", "urn:oid:1", false},
		{"Oid", "urn:oid:1.2.", false},
		{"Oid", "1.2.3", false},
		{"Uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", true},
		{"Uuid", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", false},
		{"Uuid", "c757873d-ec9a-4326-a141-556f43239520", false},
		{"Uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f4323952", false},
		{"Base64Binary", "aGVsbG8=", true},
		{"Base64Binary", "aGVs bG8=\n", true},
		{"Base64Binary", "aGVsbA==", true},
		{"Base64Binary", "aGVsbG8", false},
		{"Base64Binary", "aG=VsbG8", false},
		{"Base64Binary", "aGVsbG8*", false},
		{"Base64Binary", "a===", false},
		{"Date", "2024", true},
		{"Date", "2024-02", true},
		{"Date", "2024-02-29", true},
		{"Date", "2000-02-29", true},
		{"Date", "1900-02-29", false},
		{"Date", "2023-02-29", false},
		{"Date", "2024-04-31", false},
		{"Date", "2024-13", false},
		{"Date", "2024-00", false},
		{"Date", "2024-01-00", false},
		{"Date", "0000", false},
		{"Date", "2024-1-1", false},
		{"Date", "24", false},
		{"Date", "2024-01-01T00:00:00Z", false},
		{"Date", "2024-01-01Z", false},
		{"DateTime", "2024", true},
		{"DateTime", "2024-02-29", true},
		{"DateTime", "2024-01-01T10:00:00+09:00", true},
		{"DateTime", "2024-01-01T10:00:00.123-03:30", true},
		{"DateTime", "2016-12-31T23:59:60Z", true}, // a leap second, as the R4 regex allows
		{"DateTime", "2024-01-01T10:00:00+14:00", true},
		{"DateTime", "2024-01-01T10:00:00", false},
		{"DateTime", "2024-01-01T10:00Z", false},
		{"DateTime", "2024-01-01T24:00:00Z", false},
		{"DateTime", "2024-01-01T10:60:00Z", false},
		{"DateTime", "2024-01-01T10:00:61Z", false},
		{"DateTime", "2024-01-01T10:00:00+14:01", false},
		{"DateTime", "2024-01-01T10:00:00+15:00", false},
		{"DateTime", "2024-01-01T10:00:00+0900", false},
		{"DateTime", "2024-01-01T10:00:00.Z", false},
		{"DateTime", "2024-01T10:00:00Z", false},
		{"DateTime", "2024-01-01 10:00:00Z", false},
		{"DateTime", "2024-02-30T10:00:00Z", false},
		{"Instant", "2024-01-01T10:00:00Z", true},
		{"Instant", "2024-01-01T10:00:00.000000001-05:00", true},
		{"Instant", "2024-01-01", false},
		{"Instant", "2024-01-01T10:00:00", false},
		{"Instant", "2024-01-01T10:00Z", false},
		{"Time", "10:00:00", true},
		{"Time", "00:00:00.5", true},
		{"Time", "23:59:59", true},
		{"Time", "24:00:00", false},
		{"Time", "10:00", false},
		{"Time", "10:60:00", false},
		{"Time", "10:00:00Z", false},
		{"Time", "1:00:00", false},
	} {
		name := fmt.Sprintf("%s/%.40q", tt.typ, tt.value)
		t.Run(name, func(t *testing.T) {
			res := &fhir.Object{Members: []fhir.Member{
				{Key: "resourceType", Value: "Parameters"},
				{Key: "parameter", Value: []fhir.Value{&fhir.Object{Members: []fhir.Member{
					{Key: "name", Value: "p"},
					{Key: "value" + tt.typ, Value: tt.value},
				}}}},
			}}
			issues := fhir.Validate(res)
			if tt.ok {
				if len(issues) > 0 {
					t.Fatalf("want valid, got:%s", formatIssues(issues))
				}
				return
			}
			if len(issues) != 1 {
				t.Fatalf("want one issue, got:%s", formatIssues(issues))
			}
			if want := "Parameters.parameter[0].value" + tt.typ; issues[0].Expression != want {
				t.Errorf("expression %q, want %q", issues[0].Expression, want)
			}
			if _, str := tt.value.(string); str != (tt.typ != "Boolean" && !isNumberType(tt.typ)) {
				if issues[0].Code != "structure" {
					t.Errorf("code %q for a JSON type mismatch, want structure", issues[0].Code)
				}
			} else if issues[0].Code != "value" {
				t.Errorf("code %q, want value", issues[0].Code)
			}
		})
	}
}

func isNumberType(typ string) bool {
	switch typ {
	case "Integer", "PositiveInt", "UnsignedInt", "Decimal":
		return true
	}
	return false
}

func TestValidateIssueCap(t *testing.T) {
	res := &fhir.Object{Members: []fhir.Member{{Key: "resourceType", Value: "Patient"}}}
	for i := range 150 {
		res.Members = append(res.Members, fhir.Member{Key: fmt.Sprintf("x%d", i), Value: true})
	}
	issues := fhir.Validate(res)
	if len(issues) != 101 {
		t.Fatalf("got %d issues, want 100 and one too-costly", len(issues))
	}
	if last := issues[100]; last.Code != "too-costly" || issues[99].Expression != "Patient.x99" {
		t.Errorf("last issues: %+v, %+v", issues[99], last)
	}
}

func TestResourceTypes(t *testing.T) {
	types := fhir.ResourceTypes()
	if len(types) != 146 {
		t.Errorf("%d resource types, R4 4.0.1 has 146 concrete ones", len(types))
	}
	if !sort.StringsAreSorted(types) {
		t.Error("ResourceTypes is not sorted")
	}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"Patient", true}, {"Bundle", true}, {"Parameters", true}, {"Binary", true}, {"VisionPrescription", true},
		{"Resource", false}, {"DomainResource", false}, {"HumanName", false}, {"string", false},
		{"patient", false}, {"", false}, {"Patient.contact", false},
		{"SubscriptionStatus", false}, // R4B, shipped with the R4 definitions by Medplum
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fhir.IsResourceType(tt.name); got != tt.want {
				t.Errorf("IsResourceType(%q) = %v", tt.name, got)
			}
			if got := slices.Contains(types, tt.name); got != tt.want {
				t.Errorf("ResourceTypes contains %q: %v", tt.name, got)
			}
		})
	}
}

// TestValidateMedplumPatches checks that elements Medplum adds to its copy
// of the R4 definitions are not R4.
func TestValidateMedplumPatches(t *testing.T) {
	for _, tt := range []struct {
		name string
		json string
		want []at
	}{
		{"MetaProject", `{"resourceType":"Patient","meta":{"project":"x"}}`, []at{{"structure", "Patient.meta.project"}}},
		{"BinaryURL", `{"resourceType":"Binary","contentType":"text/plain","url":"http://x"}`, []at{{"structure", "Binary.url"}}},
		{"ResearchStudyLabel", `{"resourceType":"ResearchStudy","status":"active","label":[{"value":"x"}]}`, []at{{"structure", "ResearchStudy.label"}}},
		{"EvidenceVariableR4", `{"resourceType":"EvidenceVariable","status":"draft","characteristic":[{"definitionCodeableConcept":{"text":"x"},"timeFromStart":{"value":1}}]}`, nil},
		{"BundleOutcomeIsAnyResource", `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"200","outcome":{"resourceType":"Patient"}}}]}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			issues := fhir.Validate(parseResource(t, tt.json))
			if got := issuesAt(issues); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v:%s", got, tt.want, formatIssues(issues))
			}
		})
	}
}

// TestValidateSynthea validates every resource of every Synthea bundle, one
// by one and as part of its bundle: all must be valid.
func TestValidateSynthea(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(validateData, "synthea", "*.json"))
	if len(files) == 0 {
		t.Skip("no Synthea data in " + filepath.Join(validateData, "synthea"))
	}
	counts := map[string]int{}
	total := 0
	for _, name := range files {
		bundle := readResource(t, name)
		if issues := fhir.Validate(bundle); len(issues) > 0 {
			t.Errorf("%s:%s", filepath.Base(name), formatIssues(issues))
		}
		entries, _ := bundle.Get("entry")
		for _, e := range entries.([]fhir.Value) {
			res := e.(*fhir.Object).Object("resource")
			if issues := fhir.Validate(res); len(issues) > 0 {
				t.Errorf("%s: %s/%s:%s", filepath.Base(name), res.String("resourceType"), res.String("id"), formatIssues(issues))
			}
			counts[res.String("resourceType")]++
			total++
		}
	}
	t.Logf("validated %d bundles, %d resources: %v", len(files), total, counts)
}

func readResource(tb testing.TB, name string) *fhir.Object {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := fhir.ParseObject(data)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return obj
}

// fhirpathInvalid lists the FHIRPath test resources that are not valid R4
// (they test FHIRPath, not FHIR) with the issues Validate must find.
var fhirpathInvalid = map[string][]at{
	// Trimmed examples that lack required elements.
	"explanationofbenefit-example.json": {
		{"required", "ExplanationOfBenefit.item[0].productOrService"}, {"required", "ExplanationOfBenefit.item[1].productOrService"},
		{"required", "ExplanationOfBenefit.created"}, {"required", "ExplanationOfBenefit.insurance"},
		{"required", "ExplanationOfBenefit.insurer"}, {"required", "ExplanationOfBenefit.outcome"},
		{"required", "ExplanationOfBenefit.patient"}, {"required", "ExplanationOfBenefit.provider"},
		{"required", "ExplanationOfBenefit.status"}, {"required", "ExplanationOfBenefit.type"},
		{"required", "ExplanationOfBenefit.use"},
	},
	"medicationrequest-example.json": {
		{"required", "MedicationRequest.intent"}, {"required", "MedicationRequest.medication[x]"},
		{"required", "MedicationRequest.status"}, {"required", "MedicationRequest.subject"},
	},
	"observation-example-2.json":          {{"required", "Observation.code"}, {"required", "Observation.status"}},
	"observation-quantity-year-ucum.json": {{"required", "Observation.code"}, {"required", "Observation.status"}},
	"structure-definition-example.json": {
		{"required", "StructureDefinition.snapshot.element[0].path"},
		{"required", "StructureDefinition.abstract"}, {"required", "StructureDefinition.kind"},
		{"required", "StructureDefinition.name"}, {"required", "StructureDefinition.status"},
		{"required", "StructureDefinition.type"}, {"required", "StructureDefinition.url"},
	},
	// A uuid written as an object.
	"parameters-example-types.json": {{"structure", "Parameters.parameter[2].valueUuid"}},
	// Single answers not wrapped in arrays, and no status.
	"quantity-example.json": {
		{"structure", "QuestionnaireResponse.item[0].answer"}, {"structure", "QuestionnaireResponse.item[1].answer"},
		{"structure", "QuestionnaireResponse.item[2].answer"}, {"structure", "QuestionnaireResponse.item[3].answer"},
		{"required", "QuestionnaireResponse.status"},
	},
	// _given arrays that do not align with given, and an _address for the
	// complex element address.
	"patient-bundle.json":          {{"structure", "Bundle.entry[2].resource.name[0].given"}},
	"patient-name-extensions.json": {{"structure", "Patient.name[0].given"}},
	"patient-example-2.json":       {{"structure", "Patient._address"}, {"structure", "Patient.name[0].given"}},
}

// TestValidateFHIRPathResources validates the resources of the FHIRPath test
// suite: all are valid but the ones fhirpathInvalid lists, which must fail
// exactly as listed. Files without a resourceType are fragments, not
// resources, and are skipped.
func TestValidateFHIRPathResources(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(validateData, "fhirpath", "resources", "*.json"))
	if len(files) == 0 {
		t.Skip("no FHIRPath test resources in " + filepath.Join(validateData, "fhirpath"))
	}
	valid := 0
	for _, name := range files {
		base := filepath.Base(name)
		t.Run(base, func(t *testing.T) {
			res := readResource(t, name)
			if _, ok := res.Get("resourceType"); !ok {
				t.Skip("not a resource")
			}
			issues := fhir.Validate(res)
			if got, want := issuesAt(issues), fhirpathInvalid[base]; !slices.Equal(got, want) {
				t.Errorf("got %v, want %v:%s", got, want, formatIssues(issues))
			}
			if len(issues) == 0 {
				valid++
			}
		})
	}
	t.Logf("%d of %d FHIRPath test files are valid R4 resources", valid, len(files))
}

// BenchmarkValidate validates real Synthea resources: one of each common
// type from the first bundle (a Patient is about 3.4 KB), and the bundle.
func BenchmarkValidate(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(validateData, "synthea", "*.json"))
	if len(files) == 0 {
		b.Skip("no Synthea data in " + filepath.Join(validateData, "synthea"))
	}
	sort.Strings(files)
	bundle := readResource(b, files[0])
	inputs := []struct {
		name string
		res  *fhir.Object
	}{}
	entries, _ := bundle.Get("entry")
	for _, typ := range []string{"Patient", "Encounter", "Observation", "Claim", "ExplanationOfBenefit"} {
		for _, e := range entries.([]fhir.Value) {
			if res := e.(*fhir.Object).Object("resource"); res.String("resourceType") == typ {
				inputs = append(inputs, struct {
					name string
					res  *fhir.Object
				}{typ, res})
				break
			}
		}
	}
	inputs = append(inputs, struct {
		name string
		res  *fhir.Object
	}{"Bundle", bundle})
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(fhir.Marshal(in.res))))
			b.ReportAllocs()
			for b.Loop() {
				if issues := fhir.Validate(in.res); len(issues) > 0 {
					b.Fatal(formatIssues(issues))
				}
			}
		})
	}
}

// FuzzValidate checks that Validate never panics and keeps its issue cap on
// whatever the parser accepts.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"id":"x"}]}],"birthDate":"2024-02-29"}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.5},"effectiveDateTime":"2024-01-01T10:00:00Z"}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"a","valueTime":"10:00:00"}]}}]}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Organization"}],"_id":{},"gender":[],"value":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := fhir.ParseObject(data)
		if err != nil {
			return
		}
		if issues := fhir.Validate(obj); len(issues) > 101 {
			t.Fatalf("%d issues", len(issues))
		}
	})
}
