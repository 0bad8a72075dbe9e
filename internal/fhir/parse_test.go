package fhir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kartehub/internal/fhir"
)

// syntheaDir holds the Synthea sample bundles, relative to this package.
const syntheaDir = "../../../shared/data/synthea"

// seedResources are small FHIR resources used as fuzz seeds and round-trip
// inputs; they are canonical compact JSON.
var seedResources = []string{
	`{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"山田","given":["太郎"]}],"birthDate":"1970-01-01","deceasedBoolean":false}`,
	`{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"valueQuantity":{"value":72.50,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"},"note":[{"text":"line 1\nline \"2\"\t\\ end"}]}`,
	`{"resourceType":"Bundle","type":"transaction","total":-1.5e+10,"entry":[{"fullUrl":"urn:uuid:1","request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient","extension":[],"meta":{}}}],"link":null}`,
}

func TestParseRoundTrip(t *testing.T) {
	inputs := append([]string{
		`null`, `true`, `false`, `0`, `-0`, `1.0`, `-12.3400e-005`, `1E+2`, `""`, `"a"`,
		`[]`, `{}`, `[[],{},[{}]]`, `{"a":{"b":{"c":[1,2,3]}}}`,
		`"\"\\\b\f\n\r\t\u0000\u001f"`, `"\u2028\u2029"`, `"é😀<>&"`,
		`{"z":1,"a":2,"m":3}`,
	}, seedResources...)
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			v, err := fhir.Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(fhir.Marshal(v)); got != in {
				t.Errorf("Marshal(Parse(x)) = %s, want %s", got, in)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     fhir.Value
	}{
		{"Null", `null`, nil},
		{"True", " \t\r\ntrue\n", true},
		{"Number", `1.50`, fhir.Number("1.50")},
		{"NegativeExponent", `-0.5E-3`, fhir.Number("-0.5E-3")},
		{"String", `"abc"`, "abc"},
		{"EmptyArray", `[ ]`, []fhir.Value{}},
		{"Array", `[1, "a", null, false]`, []fhir.Value{fhir.Number("1"), "a", nil, false}},
		{"Object", "{ \"b\" : 1 ,\n\"a\":[true] }", &fhir.Object{Members: []fhir.Member{
			{Key: "b", Value: fhir.Number("1")},
			{Key: "a", Value: []fhir.Value{true}},
		}}},
		{"BOM", "\xEF\xBB\xBF{\"a\":\"b\"}", &fhir.Object{Members: []fhir.Member{{Key: "a", Value: "b"}}}},
		{"BOMScalar", "\xEF\xBB\xBF 7", fhir.Number("7")},
		{"EscapedKey", `{"a\nb":1}`, &fhir.Object{Members: []fhir.Member{{Key: "a\nb", Value: fhir.Number("1")}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fhir.Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !fhir.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, fhir.Marshal(got), fhir.Marshal(tt.want))
			}
			if obj, ok := got.(*fhir.Object); ok {
				// Equal ignores order, so check that order is kept.
				want := tt.want.(*fhir.Object)
				for i := range obj.Members {
					if obj.Members[i].Key != want.Members[i].Key {
						t.Errorf("member %d is %q, want %q", i, obj.Members[i].Key, want.Members[i].Key)
					}
				}
			}
		})
	}
}

func TestParseEscapes(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"Short", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{"Unicode", `"\u00e9\u00E9\u65e5"`, "éé日"},
		{"NUL", `"a\u0000b"`, "a\x00b"},
		{"SurrogatePair", `"\ud83d\ude00"`, "😀"},
		{"SurrogatePairUpper", `"x\uD834\uDD1Ey"`, "x𝄞y"},
		{"LoneHigh", `"\ud83dx"`, "\uFFFDx"},
		{"LoneHighAtEnd", `"\ud83d"`, "\uFFFD"},
		{"LoneLow", `"\ude00"`, "\uFFFD"},
		{"HighHigh", `"\ud83d\ud83d\ude00"`, "\uFFFD😀"},
		{"HighThenEscape", `"\ud83d\n"`, "\uFFFD\n"},
		{"HighThenBMP", `"\ud83d\u0041"`, "\uFFFDA"},
		{"MixedRawAndEscaped", `"日本\t語"`, "日本\t語"},
		{"EscapeFirst", `"\tabc"`, "\tabc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := fhir.Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Errorf("Parse(%s) = %q, want %q", tt.in, v, tt.want)
			}
			var std string
			if err := json.Unmarshal([]byte(tt.in), &std); err != nil || std != tt.want {
				t.Errorf("encoding/json disagrees: %q, %v", std, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     string // full error text
		offset   int64
	}{
		{"Empty", ``, "line 1, column 1: unexpected end of JSON input", 0},
		{"OnlySpace", " \n ", "line 2, column 2: unexpected end of JSON input", 3},
		{"OnlyBOM", "\xEF\xBB\xBF", "line 1, column 1: unexpected end of JSON input", 3},
		{"BOMNotAtStart", " \xEF\xBB\xBF{}", "line 1, column 2: invalid character '\\ufeff' looking for beginning of value", 1},
		{"TwoValues", `{} {}`, "line 1, column 4: invalid character '{' after top-level value", 3},
		{"TrailingGarbage", "{}\nx", "line 2, column 1: invalid character 'x' after top-level value", 3},
		{"BadKey", "{\n  \"a\": 1,\n  x: 2}", "line 3, column 3: invalid character 'x' in object key (expecting '\"')", 14},
		{"TrailingCommaObject", `{"a":1,}`, "line 1, column 8: invalid character '}' in object key (expecting '\"')", 7},
		{"TrailingCommaArray", `[1,]`, "line 1, column 4: invalid character ']' looking for beginning of value", 3},
		{"MissingColon", `{"a" 1}`, "line 1, column 6: invalid character '1' after object key (expecting ':')", 5},
		{"MissingComma", `{"a":1 "b":2}`, "line 1, column 8: invalid character '\"' after object key:value pair (expecting ',' or '}')", 7},
		{"ArrayMissingComma", `[1 2]`, "line 1, column 4: invalid character '2' after array element (expecting ',' or ']')", 3},
		{"Unclosed", `{"a":[1,2`, "line 1, column 10: unexpected end of JSON input", 9},
		{"UnclosedString", `"abc`, "line 1, column 5: unexpected end of JSON input", 4},
		{"DuplicateKey", `{"id":"a","id":"b"}`, `line 1, column 11: duplicate key "id" in object`, 10},
		{"DuplicateEscapedKey", `{"a":1,"\u0061":2}`, `line 1, column 8: duplicate key "a" in object`, 7},
		{"SingleQuote", `{'a':1}`, `line 1, column 2: invalid character '\'' in object key (expecting '"')`, 1},
		{"BadLiteral", `tru`, "line 1, column 4: unexpected end of JSON input", 3},
		{"BadLiteral2", `nul1`, "line 1, column 4: invalid character '1' in literal null (expecting 'l')", 3},
		{"Capitalised", `True`, "line 1, column 1: invalid character 'T' looking for beginning of value", 0},
		{"ControlInString", "\"a\tb\"", `line 1, column 3: invalid character '\t' in string literal`, 2},
		{"NewlineInString", "[\"a\nb\"]", `line 1, column 4: invalid character '\n' in string literal`, 3},
		{"BadEscape", `"\x"`, `line 1, column 3: invalid character 'x' in string escape code`, 2},
		{"BadUnicodeEscape", `"\u12g4"`, `line 1, column 6: invalid character 'g' in \u hexadecimal character escape`, 5},
		{"ShortUnicodeEscape", `"\u12`, "line 1, column 6: unexpected end of JSON input", 5},
		{"InvalidUTF8InString", "\"a\xffb\"", "line 1, column 3: invalid UTF-8 in string literal", 2},
		{"TruncatedUTF8InString", "\"\xe6\x97\"", "line 1, column 2: invalid UTF-8 in string literal", 1},
		{"SurrogateInUTF8", "\"\xed\xa0\x80\"", "line 1, column 2: invalid UTF-8 in string literal", 1},
		{"InvalidUTF8OutsideString", "[\xff]", "line 1, column 2: invalid character byte 0xff (invalid UTF-8) looking for beginning of value", 1},
		{"InvalidUTF8AfterEscape", "\"\\n\xc3\"", "line 1, column 4: invalid UTF-8 in string literal", 3},
		{"ColumnCountsCharacters", "{\"名前\":x}", "line 1, column 7: invalid character 'x' looking for beginning of value", 10},
		{"LeadingZero", `01`, "line 1, column 2: invalid leading zero in numeric literal", 1},
		{"NegativeLeadingZero", `-012`, "line 1, column 3: invalid leading zero in numeric literal", 2},
		{"Plus", `+1`, "line 1, column 1: invalid character '+' looking for beginning of value", 0},
		{"MinusAlone", `-`, "line 1, column 2: unexpected end of JSON input", 1},
		{"MinusLetter", `-a`, "line 1, column 2: invalid character 'a' in numeric literal", 1},
		{"LeadingDot", `.5`, "line 1, column 1: invalid character '.' looking for beginning of value", 0},
		{"TrailingDot", `1.`, "line 1, column 3: unexpected end of JSON input", 2},
		{"DotLetter", `[1.e5]`, "line 1, column 4: invalid character 'e' after decimal point in numeric literal", 3},
		{"EmptyExponent", `1e`, "line 1, column 3: unexpected end of JSON input", 2},
		{"SignOnlyExponent", `[1e+]`, "line 1, column 5: invalid character ']' in exponent of numeric literal", 4},
		{"Hex", `0x10`, "line 1, column 2: invalid character 'x' after top-level value", 1},
		{"NaN", `NaN`, "line 1, column 1: invalid character 'N' looking for beginning of value", 0},
		{"Comment", "{} // c", "line 1, column 4: invalid character '/' after top-level value", 3},
		{"LongDuplicateKeyShortened", `{"` + strings.Repeat("k", 100) + `":1,"` + strings.Repeat("k", 100) + `":2}`,
			`line 1, column 107: duplicate key "` + strings.Repeat("k", 40) + `"... in object`, 106},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := fhir.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error", tt.in, fhir.Marshal(v))
			}
			var se *fhir.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			if se.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d", se.Offset, tt.offset)
			}
			// encoding/json allows duplicate keys and invalid UTF-8 in strings.
			stdMayAccept := strings.Contains(tt.want, "duplicate") || strings.Contains(tt.want, "UTF-8 in string")
			if json.Valid([]byte(tt.in)) && !stdMayAccept {
				t.Errorf("encoding/json accepts %q", tt.in)
			}
		})
	}
}

func TestParseDuplicateKeyInLargeObject(t *testing.T) {
	// Past a few members duplicates are found through a map; check both ways.
	for _, n := range []int{3, 15, 16, 17, 40, 1000} {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(`"k` + strings.Repeat("x", i) + `":0,`)
		}
		ok := b.String() + `"last":0}`
		if _, err := fhir.Parse([]byte(ok)); err != nil {
			t.Errorf("%d members: %v", n, err)
		}
		for _, dup := range []int{0, n / 2, n - 1} {
			in := b.String() + `"k` + strings.Repeat("x", dup) + `":1}`
			if _, err := fhir.Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "duplicate key") {
				t.Errorf("%d members, duplicate of member %d: err = %v", n, dup, err)
			}
		}
	}
}

func TestParseDepth(t *testing.T) {
	nest := func(n int, open, close string) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	for _, tt := range []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"Arrays512", nest(fhir.MaxDepth, "[", "]"), false},
		{"Arrays513", nest(fhir.MaxDepth+1, "[", "]"), true},
		{"Objects512", []byte(strings.Repeat(`{"a":`, fhir.MaxDepth-1) + "{}" + strings.Repeat("}", fhir.MaxDepth-1)), false},
		{"Objects513", []byte(strings.Repeat(`{"a":`, fhir.MaxDepth) + "{}" + strings.Repeat("}", fhir.MaxDepth)), true},
		{"Mixed513", []byte(strings.Repeat(`[{"a":`, 257) + "0" + strings.Repeat("}]", 257)), true},
		{"HostileOpenOnly", []byte(strings.Repeat("[", 10_000_000)), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fhir.Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "exceeded maximum nesting depth of 512") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestParseNumbers(t *testing.T) {
	valid := []string{"0", "-0", "0.0", "1", "-1", "10", "123.456", "1e5", "1E5", "1e+5", "1e-5",
		"0e0", "-0.0e-0", "1.5E+300", "1e999999", "0.10", "12345678901234567890123"}
	invalid := []string{"00", "01", "-", "--1", "+1", "1.", ".1", "1e", "1e+", "1.e1", "-.1",
		"1ee1", "0x1", "1_000", "١", "Infinity", "-Infinity", "1,5"}
	for _, in := range valid {
		v, err := fhir.Parse([]byte(in))
		if err != nil || v != fhir.Number(in) {
			t.Errorf("Parse(%s) = %#v, %v; want Number", in, v, err)
		}
	}
	for _, in := range invalid {
		if v, err := fhir.Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) = %#v, want error", in, v)
		}
		if json.Valid([]byte(in)) {
			t.Errorf("encoding/json accepts %s", in)
		}
	}
}

func TestParseObject(t *testing.T) {
	obj, err := fhir.ParseObject([]byte(seedResources[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.String("resourceType"); got != "Patient" {
		t.Errorf("resourceType = %q", got)
	}
	for _, tt := range []struct{ in, want string }{
		{"\n  [1]", "line 2, column 3: top-level value is an array, not an object"},
		{`"Patient"`, "line 1, column 1: top-level value is a string, not an object"},
		{"\xEF\xBB\xBFnull", "line 1, column 1: top-level value is null, not an object"},
		{`{"a":}`, "line 1, column 6: invalid character '}' looking for beginning of value"},
	} {
		_, err := fhir.ParseObject([]byte(tt.in))
		var se *fhir.SyntaxError
		if !errors.As(err, &se) || err.Error() != tt.want {
			t.Errorf("ParseObject(%q) error = %v, want %s", tt.in, err, tt.want)
		}
	}
}

// TestParseSynthea checks the parser against encoding/json on real bundles:
// the trees must be equal and our compact output must be what json.Compact
// makes of the input (Synthea escapes only what must be escaped).
func TestParseSynthea(t *testing.T) {
	files := syntheaFiles(t)
	if testing.Short() && len(files) > 3 {
		files = files[:3]
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := fhir.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil {
			t.Fatal(err)
		}
		if got := fhir.Marshal(v); !bytes.Equal(got, compact.Bytes()) {
			t.Errorf("%s: Marshal(Parse(x)) differs from json.Compact(x)", filepath.Base(name))
		}
		if !fhir.Equal(v, stdTree(t, data)) {
			t.Errorf("%s: tree differs from encoding/json's", filepath.Base(name))
		}
	}
}

// syntheaFiles lists the Synthea bundles, or skips the test if absent.
func syntheaFiles(tb testing.TB) []string {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if len(files) == 0 {
		tb.Skip("no Synthea data in " + syntheaDir)
	}
	sort.Strings(files)
	return files
}

// stdTree decodes data with encoding/json and converts the result to a
// Value tree, as an independent oracle for Parse.
func stdTree(tb testing.TB, data []byte) fhir.Value {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatal(err)
	}
	return fromStd(v)
}

func fromStd(v any) fhir.Value {
	switch v := v.(type) {
	case map[string]any:
		obj := &fhir.Object{}
		for k, e := range v {
			obj.Members = append(obj.Members, fhir.Member{Key: k, Value: fromStd(e)})
		}
		return obj
	case []any:
		arr := make([]fhir.Value, len(v))
		for i, e := range v {
			arr[i] = fromStd(e)
		}
		return arr
	case json.Number:
		return fhir.Number(v)
	}
	return v
}

func FuzzParse(f *testing.F) {
	for _, s := range seedResources {
		f.Add([]byte(s))
	}
	f.Add([]byte("\xEF\xBB\xBF [1, -0.5e+3, \"\\ud83d\\ude00\\u2028\", null, true]"))
	f.Add([]byte(`{"a":{"b":[{"c":"\ud800"}]}, "d":"\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := fhir.Parse(data)
		if err != nil {
			var se *fhir.SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(data)) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		out := fhir.Marshal(v)
		if !json.Valid(out) {
			t.Fatalf("Marshal output is not valid JSON: %q", out)
		}
		v2, err := fhir.Parse(out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%q", err, out)
		}
		if !fhir.Equal(v, v2) {
			t.Fatalf("round trip changed the tree:\n%q\n%q", data, out)
		}
		if out2 := fhir.Marshal(v2); !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable:\n%q\n%q", out, out2)
		}
		indented := fhir.AppendIndent(nil, v, "\t")
		if v3, err := fhir.Parse(indented); err != nil || !fhir.Equal(v, v3) {
			t.Fatalf("indented output does not round trip: %v\n%q", err, indented)
		}
	})
}
