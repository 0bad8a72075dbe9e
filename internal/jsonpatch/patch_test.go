package jsonpatch_test

import (
	"errors"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/jsonpatch"
)

func TestParse(t *testing.T) {
	p, err := jsonpatch.Parse([]byte(`[
		{"op":"add","path":"/a","value":null},
		{"op":"remove","path":"/b"},
		{"op":"replace","path":"","value":{"x":[1]}},
		{"op":"move","from":"/c","path":"/d"},
		{"op":"copy","from":"/d","path":"/e","comment":"ignored"},
		{"op":"test","path":"/e~1f","value":1.50}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	want := jsonpatch.Patch{
		{Op: "add", Path: "/a"},
		{Op: "remove", Path: "/b"},
		{Op: "replace", Path: "", Value: &fhir.Object{Members: []fhir.Member{{Key: "x", Value: []fhir.Value{fhir.Number("1")}}}}},
		{Op: "move", From: "/c", Path: "/d"},
		{Op: "copy", From: "/d", Path: "/e"},
		{Op: "test", Path: "/e~1f", Value: fhir.Number("1.50")},
	}
	if len(p) != len(want) {
		t.Fatalf("got %d operations, want %d", len(p), len(want))
	}
	for i := range want {
		if p[i].Op != want[i].Op || p[i].Path != want[i].Path || p[i].From != want[i].From || !fhir.Equal(p[i].Value, want[i].Value) {
			t.Errorf("operation %d = %+v, want %+v", i, p[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		op       int
		path     string
		msg      string
	}{
		{"NotArray", `{"op":"add"}`, -1, "", "must be a JSON array"},
		{"NotObject", `[{"op":"remove","path":"/a"}, "remove"]`, 1, "", "must be a JSON object"},
		{"MissingOp", `[{"path":"/a"}]`, 0, "", `missing "op"`},
		{"OpNotString", `[{"op":1,"path":"/a"}]`, 0, "", `"op" must be a string`},
		{"UnknownOp", `[{"op":"delete","path":"/a"}]`, 0, "/a", `unknown op "delete"`},
		{"OpCase", `[{"op":"Add","path":"/a","value":1}]`, 0, "/a", `unknown op "Add"`},
		{"MissingPath", `[{"op":"remove"}]`, 0, "", `missing "path"`},
		{"PathNotString", `[{"op":"remove","path":["a"]}]`, 0, "", `"path" must be a string`},
		{"MissingFromMove", `[{"op":"move","path":"/a"}]`, 0, "/a", `missing "from"`},
		{"MissingFromCopy", `[{"op":"copy","path":"/a"}]`, 0, "/a", `missing "from"`},
		{"FromNotString", `[{"op":"copy","path":"/a","from":null}]`, 0, "/a", `"from" must be a string`},
		{"MissingValueAdd", `[{"op":"add","path":"/a"}]`, 0, "/a", `"add" needs a "value"`},
		{"MissingValueReplace", `[{"op":"replace","path":"/a"}]`, 0, "/a", `"replace" needs a "value"`},
		{"MissingValueTest", `[{"op":"test","path":"/a"}]`, 0, "/a", `"test" needs a "value"`},
		{"RelativePointer", `[{"op":"remove","path":"a/b"}]`, 0, "a/b", "must be empty or start with '/'"},
		{"BadTilde", `[{"op":"remove","path":"/a~2"}]`, 0, "/a~2", "'~' not followed by 0 or 1"},
		{"BadFrom", `[{"op":"move","from":"/a~","path":"/b"}]`, 0, "/a~", `"from": JSON Pointer has '~'`},
		{"DuplicateMember", `[{"op":"add","path":"/baz","value":"qux","op":"remove"}]`, -2, "", `duplicate key "op"`}, // RFC 6902 A.13
		{"Syntax", `[{"op":"remove","path":"/a"},]`, -2, "", "line 1, column 30: invalid character ']'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := jsonpatch.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want error", p)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if tt.op == -2 { // not an *Error but a syntax error
				var se *fhir.SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("error %T does not wrap a *fhir.SyntaxError", err)
				}
				return
			}
			var pe *jsonpatch.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *jsonpatch.Error", err)
			}
			if pe.Op != tt.op || pe.Path != tt.path {
				t.Errorf("Op, Path = %d, %q; want %d, %q", pe.Op, pe.Path, tt.op, tt.path)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	for _, tt := range []struct {
		err  jsonpatch.Error
		want string
	}{
		{jsonpatch.Error{Op: 2, Path: "/name/0", Msg: `no member "name"`}, `json patch: operation 2 (path "/name/0"): no member "name"`},
		{jsonpatch.Error{Op: -1, Msg: "patch document must be a JSON array of operations"}, "json patch: patch document must be a JSON array of operations"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %s, want %s", got, tt.want)
		}
	}
}
