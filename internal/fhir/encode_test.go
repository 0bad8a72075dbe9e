package fhir_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"kartehub/internal/fhir"
)

// stdString encodes s as encoding/json does without HTML escaping.
func stdString(tb testing.TB, s string) string {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", "<a href=\"x\">&amp;</a>", "日本語 é 😀", "\u2028\u2029", "\u007f\u0080\u00a0",
		"a\xffb", "\xe6\x97", "\xed\xa0\x80", "tail\xc3", "\ufeff", "\ufffd"}
	for c := range 0x80 {
		inputs = append(inputs, "x"+string(rune(c))+"y")
	}
	for _, s := range inputs {
		want := stdString(t, s)
		if got := string(fhir.Marshal(s)); got != want {
			t.Errorf("Marshal(%q) = %s, want %s", s, got, want)
		}
		key := &fhir.Object{Members: []fhir.Member{{Key: s, Value: nil}}}
		if got := string(fhir.Marshal(key)); got != "{"+want+":null}" {
			t.Errorf("Marshal of key %q = %s", s, got)
		}
	}
}

func TestAppend(t *testing.T) {
	obj := func(ms ...fhir.Member) *fhir.Object { return &fhir.Object{Members: ms} }
	for _, tt := range []struct {
		name string
		v    fhir.Value
		want string
	}{
		{"Null", nil, `null`},
		{"NilObject", (*fhir.Object)(nil), `null`},
		{"NilArray", []fhir.Value(nil), `[]`},
		{"EmptyNumber", fhir.Number(""), `0`},
		{"NumberText", fhir.Number("1.50"), `1.50`},
		{"Bools", []fhir.Value{true, false}, `[true,false]`},
		{"OrderKept", obj(fhir.Member{Key: "z", Value: "1"}, fhir.Member{Key: "a", Value: fhir.Number("2")}), `{"z":"1","a":2}`},
		{"Nested", obj(fhir.Member{Key: "a", Value: []fhir.Value{obj(), []fhir.Value{}, nil}}), `{"a":[{},[],null]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(fhir.Append([]byte("prefix:"), tt.v)); got != "prefix:"+tt.want {
				t.Errorf("Append = %s, want prefix:%s", got, tt.want)
			}
		})
	}
}

func TestAppendPanicsOnForeignType(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "int") {
			t.Errorf("recover() = %v, want a panic naming int", r)
		}
	}()
	fhir.Marshal([]fhir.Value{1})
}

func TestAppendIndent(t *testing.T) {
	inputs := append([]string{`[]`, `{}`, `{"a":[],"b":{},"c":[1,[2,{}]],"d":{"e":null}}`, `"x"`, `[[[]]]`}, seedResources...)
	for _, in := range inputs {
		for _, indent := range []string{"  ", "\t", ""} {
			v, err := fhir.Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := json.Indent(&want, []byte(in), "", indent); err != nil {
				t.Fatal(err)
			}
			if got := fhir.AppendIndent(nil, v, indent); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("AppendIndent(%s, %q) =\n%s\nwant\n%s", in, indent, got, want.Bytes())
			}
		}
	}
}

func TestAppendIndentSynthea(t *testing.T) {
	// Synthea writes its bundles with four-space indentation, like
	// json.MarshalIndent; we must reproduce them byte for byte.
	name := syntheaFiles(t)[0]
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fhir.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Indent(&want, fhir.Marshal(v), "", "    "); err != nil {
		t.Fatal(err)
	}
	if got := fhir.AppendIndent(nil, v, "    "); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("AppendIndent differs from json.Indent")
	}
}

func TestEqual(t *testing.T) {
	obj := func(kv ...string) *fhir.Object {
		o := &fhir.Object{}
		for i := 0; i < len(kv); i += 2 {
			o.Members = append(o.Members, fhir.Member{Key: kv[i], Value: kv[i+1]})
		}
		return o
	}
	many := func(reverse bool) *fhir.Object {
		o := &fhir.Object{}
		for i := range 40 {
			if reverse {
				i = 39 - i
			}
			o.Members = append(o.Members, fhir.Member{Key: strings.Repeat("k", i+1), Value: fhir.Number(strings.Repeat("1", i+1))})
		}
		return o
	}
	manyChanged := many(false)
	manyChanged.Members[20].Value = fhir.Number("0")
	for _, tt := range []struct {
		name string
		a, b fhir.Value
		want bool
	}{
		{"Nulls", nil, nil, true},
		{"NilObjectIsNull", (*fhir.Object)(nil), nil, true},
		{"NullVsFalse", nil, false, false},
		{"Bools", true, true, true},
		{"BoolsDiffer", true, false, false},
		{"Strings", "a", "a", true},
		{"StringVsNumber", "1", fhir.Number("1"), false},
		{"NumbersByText", fhir.Number("1.0"), fhir.Number("1"), false},
		{"Numbers", fhir.Number("-2e3"), fhir.Number("-2e3"), true},
		{"Arrays", []fhir.Value{"a", nil}, []fhir.Value{"a", nil}, true},
		{"ArrayOrderMatters", []fhir.Value{"a", "b"}, []fhir.Value{"b", "a"}, false},
		{"ArrayLength", []fhir.Value{"a"}, []fhir.Value{"a", "a"}, false},
		{"NilAndEmptyArray", []fhir.Value(nil), []fhir.Value{}, true},
		{"MemberOrderIgnored", obj("a", "1", "b", "2"), obj("b", "2", "a", "1"), true},
		{"MemberValue", obj("a", "1"), obj("a", "2"), false},
		{"MemberKey", obj("a", "1"), obj("b", "1"), false},
		{"MemberCount", obj("a", "1"), obj("a", "1", "b", "2"), false},
		{"EmptyObjects", obj(), &fhir.Object{Members: []fhir.Member{}}, true},
		{"ObjectVsArray", obj(), []fhir.Value{}, false},
		{"LargeObjectsReordered", many(false), many(true), true},
		{"LargeObjectsDiffer", many(false), manyChanged, false},
		{"ForeignType", 1, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fhir.Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(a, b) = %v, want %v", got, tt.want)
			}
			if got := fhir.Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal(b, a) = %v, want %v", got, tt.want)
			}
		})
	}
}
