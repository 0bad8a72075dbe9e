package jsonpatch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/jsonpatch"
)

// applyCase is one patch applied to one document: want is the resulting
// JSON, or, if errMsg is set, the error is an *Error at operation errOp
// with errPath and a message containing errMsg.
type applyCase struct {
	name, doc, patch, want string
	errOp                  int
	errPath, errMsg        string
}

// rfcAppendixA are the examples of RFC 6902 appendix A, except A.13 (a
// duplicate "op" member), which is a Parse error tested in patch_test.go.
var rfcAppendixA = []applyCase{
	{name: "A.1 adding an object member",
		doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux"}]`,
		want: `{"baz":"qux","foo":"bar"}`},
	{name: "A.2 adding an array element",
		doc: `{"foo":["bar","baz"]}`, patch: `[{"op":"add","path":"/foo/1","value":"qux"}]`,
		want: `{"foo":["bar","qux","baz"]}`},
	{name: "A.3 removing an object member",
		doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"remove","path":"/baz"}]`,
		want: `{"foo":"bar"}`},
	{name: "A.4 removing an array element",
		doc: `{"foo":["bar","qux","baz"]}`, patch: `[{"op":"remove","path":"/foo/1"}]`,
		want: `{"foo":["bar","baz"]}`},
	{name: "A.5 replacing a value",
		doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"replace","path":"/baz","value":"boo"}]`,
		want: `{"baz":"boo","foo":"bar"}`},
	{name: "A.6 moving a value",
		doc:   `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`,
		patch: `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
		want:  `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
	{name: "A.7 moving an array element",
		doc: `{"foo":["all","grass","cows","eat"]}`, patch: `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`,
		want: `{"foo":["all","cows","eat","grass"]}`},
	{name: "A.8 testing a value: success",
		doc:   `{"baz":"qux","foo":["a",2,"c"]}`,
		patch: `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`,
		want:  `{"baz":"qux","foo":["a",2,"c"]}`},
	{name: "A.9 testing a value: error",
		doc: `{"baz":"qux"}`, patch: `[{"op":"test","path":"/baz","value":"bar"}]`,
		errOp: 0, errPath: "/baz", errMsg: "test failed"},
	{name: "A.10 adding a nested member object",
		doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`,
		want: `{"foo":"bar","child":{"grandchild":{}}}`},
	{name: "A.11 ignoring unrecognized elements",
		doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`,
		want: `{"foo":"bar","baz":"qux"}`},
	{name: "A.12 adding to a nonexistent target",
		doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz/bat","value":"qux"}]`,
		errOp: 0, errPath: "/baz/bat", errMsg: `no member "baz"`},
	{name: "A.14 escape ordering",
		doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":10}]`,
		want: `{"/":9,"~1":10}`},
	{name: "A.15 comparing strings and numbers",
		doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":"10"}]`,
		errOp: 0, errPath: "/~01", errMsg: "test failed"},
	{name: "A.16 adding an array value",
		doc: `{"foo":["bar"]}`, patch: `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`,
		want: `{"foo":["bar",["abc","def"]]}`},
}

// moreCases cover the rest of RFC 6902 section 4 and RFC 6901.
var moreCases = []applyCase{
	// add
	{name: "add replaces existing member", doc: `{"a":1,"b":2}`, patch: `[{"op":"add","path":"/a","value":3}]`, want: `{"a":3,"b":2}`},
	{name: "add whole document", doc: `{"a":1}`, patch: `[{"op":"add","path":"","value":[1]}]`, want: `[1]`},
	{name: "add at array end by index", doc: `[1,2]`, patch: `[{"op":"add","path":"/2","value":3}]`, want: `[1,2,3]`},
	{name: "add at array start", doc: `[1,2]`, patch: `[{"op":"add","path":"/0","value":0}]`, want: `[0,1,2]`},
	{name: "add to empty array", doc: `{"a":[]}`, patch: `[{"op":"add","path":"/a/-","value":{}}]`, want: `{"a":[{}]}`},
	{name: "add null", doc: `{}`, patch: `[{"op":"add","path":"/a","value":null}]`, want: `{"a":null}`},
	{name: "add empty key", doc: `{}`, patch: `[{"op":"add","path":"/","value":1}]`, want: `{"":1}`},
	{name: "add past array end", doc: `[1,2]`, patch: `[{"op":"add","path":"/3","value":3}]`,
		errOp: 0, errPath: "/3", errMsg: "array index 3 out of range (length 2)"},
	{name: "add leading zero", doc: `[1,2]`, patch: `[{"op":"add","path":"/01","value":3}]`,
		errOp: 0, errPath: "/01", errMsg: `invalid array index "01"`},
	{name: "add to scalar", doc: `{"a":"s"}`, patch: `[{"op":"add","path":"/a/b","value":3}]`,
		errOp: 0, errPath: "/a/b", errMsg: `cannot add "b" to a string`},
	{name: "add through dash", doc: `{"a":[{}]}`, patch: `[{"op":"add","path":"/a/-/b","value":3}]`,
		errOp: 0, errPath: "/a/-/b", errMsg: `array index "-" names no element`},
	{name: "add nested in array", doc: `{"a":[{"b":[1]}]}`, patch: `[{"op":"add","path":"/a/0/b/-","value":2}]`, want: `{"a":[{"b":[1,2]}]}`},
	{name: "add to deep array grows it in place", doc: `[[[1]]]`, patch: `[{"op":"add","path":"/0/0/0","value":0}]`, want: `[[[0,1]]]`},
	// Keys that look like indexes or "-" are ordinary in objects.
	{name: "dash key in object", doc: `{"-":1}`, patch: `[{"op":"replace","path":"/-","value":2}]`, want: `{"-":2}`},
	{name: "leading zero key in object", doc: `{"01":1}`, patch: `[{"op":"test","path":"/01","value":1}]`, want: `{"01":1}`},
	// remove
	{name: "remove last element", doc: `[1,2,3]`, patch: `[{"op":"remove","path":"/2"}]`, want: `[1,2]`},
	{name: "remove missing member", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/b"}]`,
		errOp: 0, errPath: "/b", errMsg: `no member "b"`},
	{name: "remove dash", doc: `[1]`, patch: `[{"op":"remove","path":"/-"}]`,
		errOp: 0, errPath: "/-", errMsg: `"-" names no element`},
	{name: "remove out of range", doc: `[1]`, patch: `[{"op":"remove","path":"/1"}]`,
		errOp: 0, errPath: "/1", errMsg: "out of range"},
	{name: "remove whole document", doc: `{"a":1}`, patch: `[{"op":"remove","path":""}]`,
		errOp: 0, errPath: "", errMsg: "cannot remove the whole document"},
	// replace
	{name: "replace keeps member order", doc: `{"a":1,"b":2,"c":3}`, patch: `[{"op":"replace","path":"/b","value":{"x":null}}]`,
		want: `{"a":1,"b":{"x":null},"c":3}`},
	{name: "replace array element", doc: `[1,2]`, patch: `[{"op":"replace","path":"/1","value":[]}]`, want: `[1,[]]`},
	{name: "replace whole document", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":"x"}]`, want: `"x"`},
	{name: "replace missing member", doc: `{"a":1}`, patch: `[{"op":"replace","path":"/b","value":1}]`,
		errOp: 0, errPath: "/b", errMsg: `no member "b"`},
	{name: "replace dash", doc: `[1]`, patch: `[{"op":"replace","path":"/-","value":1}]`,
		errOp: 0, errPath: "/-", errMsg: `"-" names no element`},
	// move
	{name: "move to same place", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/a"}]`, want: `{"a":{"b":1}}`},
	{name: "move into itself", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/a/b/c"}]`,
		errOp: 0, errPath: "/a/b/c", errMsg: "cannot move a value into itself"},
	{name: "move to sibling with common prefix", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/ab"}]`, want: `{"ab":1}`},
	{name: "move missing from", doc: `{"a":1}`, patch: `[{"op":"move","from":"/b","path":"/c"}]`,
		errOp: 0, errPath: "/b", errMsg: `no member "b"`},
	{name: "move array element backwards", doc: `[1,2,3]`, patch: `[{"op":"move","from":"/2","path":"/0"}]`, want: `[3,1,2]`},
	{name: "move member up to root", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":""}]`, want: `{"b":1}`},
	{name: "move between arrays", doc: `{"x":[1,2],"y":[]}`, patch: `[{"op":"move","from":"/x/0","path":"/y/-"}]`, want: `{"x":[2],"y":[1]}`},
	// copy
	{name: "copy member", doc: `{"a":{"b":[1]}}`, patch: `[{"op":"copy","from":"/a","path":"/c"}]`, want: `{"a":{"b":[1]},"c":{"b":[1]}}`},
	{name: "copy is deep", doc: `{"a":{"b":[1]}}`,
		patch: `[{"op":"copy","from":"/a","path":"/c"},{"op":"add","path":"/c/b/-","value":2},{"op":"replace","path":"/a/b/0","value":0}]`,
		want:  `{"a":{"b":[0]},"c":{"b":[1,2]}}`},
	{name: "copy document into itself", doc: `{"a":1}`, patch: `[{"op":"copy","from":"","path":"/b"}]`, want: `{"a":1,"b":{"a":1}}`},
	{name: "copy missing from", doc: `{}`, patch: `[{"op":"copy","from":"/x","path":"/y"}]`,
		errOp: 0, errPath: "/x", errMsg: `no member "x"`},
	{name: "copy to bad target", doc: `{"a":1}`, patch: `[{"op":"copy","from":"/a","path":"/b/c"}]`,
		errOp: 0, errPath: "/b/c", errMsg: `no member "b"`},
	// test
	{name: "test whole document ignores member order", doc: `{"a":1,"b":[true,null]}`,
		patch: `[{"op":"test","path":"","value":{"b":[true,null],"a":1}}]`, want: `{"a":1,"b":[true,null]}`},
	{name: "test numbers by text", doc: `{"a":1.0}`, patch: `[{"op":"test","path":"/a","value":1}]`,
		errOp: 0, errPath: "/a", errMsg: "test failed"},
	{name: "test array order matters", doc: `[1,2]`, patch: `[{"op":"test","path":"","value":[2,1]}]`,
		errOp: 0, errPath: "", errMsg: "test failed"},
	{name: "test missing", doc: `{}`, patch: `[{"op":"test","path":"/a","value":null}]`,
		errOp: 0, errPath: "/a", errMsg: `no member "a"`},
	{name: "test null", doc: `{"a":null}`, patch: `[{"op":"test","path":"/a","value":null}]`, want: `{"a":null}`},
	{name: "look up in scalar", doc: `{"a":true}`, patch: `[{"op":"test","path":"/a/b","value":null}]`,
		errOp: 0, errPath: "/a/b", errMsg: `cannot look up "b" in a boolean`},
	// The failing operation is named by its index.
	{name: "later operation fails", doc: `{"a":1}`,
		patch: `[{"op":"add","path":"/b","value":2},{"op":"remove","path":"/a"},{"op":"test","path":"/a","value":1}]`,
		errOp: 2, errPath: "/a", errMsg: `no member "a"`},
	// A FHIR-shaped patch.
	{name: "fhir patient", doc: `{"resourceType":"Patient","id":"p1","name":[{"family":"Yamada","given":["Taro"]}],"active":true}`,
		patch: `[{"op":"test","path":"/id","value":"p1"},{"op":"add","path":"/name/0/given/-","value":"Jiro"},` +
			`{"op":"replace","path":"/active","value":false},{"op":"add","path":"/birthDate","value":"1970-01-01"}]`,
		want: `{"resourceType":"Patient","id":"p1","name":[{"family":"Yamada","given":["Taro","Jiro"]}],"active":false,"birthDate":"1970-01-01"}`},
}

func TestApply(t *testing.T) {
	for _, tt := range append(rfcAppendixA, moreCases...) {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, tt.doc)
			p, err := jsonpatch.Parse([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Apply(doc)
			if tt.errMsg != "" {
				var pe *jsonpatch.Error
				if !errors.As(err, &pe) {
					t.Fatalf("Apply = %s, %v; want *Error", marshal(got), err)
				}
				if pe.Op != tt.errOp || pe.Path != tt.errPath || !strings.Contains(pe.Msg, tt.errMsg) {
					t.Errorf("error = %+v, want Op %d, Path %q, Msg containing %q", pe, tt.errOp, tt.errPath, tt.errMsg)
				}
				if got != nil {
					t.Errorf("Apply returned a document with its error")
				}
			} else if err != nil {
				t.Fatal(err)
			} else if want := mustParse(t, tt.want); !fhir.Equal(got, want) {
				t.Errorf("Apply = %s, want %s", marshal(got), tt.want)
			}
			if after := marshal(doc); after != tt.doc {
				t.Errorf("input modified: %s", after)
			}
		})
	}
}

func TestApplyAddAppendsMembers(t *testing.T) {
	// Equal ignores order, so check it: new members go last.
	got := mustApply(t, `{"b":1,"a":2}`, `[{"op":"add","path":"/c","value":3},{"op":"add","path":"/0","value":4}]`)
	if s := marshal(got); s != `{"b":1,"a":2,"c":3,"0":4}` {
		t.Errorf("Apply = %s", s)
	}
}

func TestApplyIsAtomic(t *testing.T) {
	// The first operations succeed, changing objects and arrays at every
	// level, then one fails; the input must be as it was.
	const in = `{"a":{"b":[1,2,{"c":"d"}]},"e":[[]]}`
	doc := mustParse(t, in)
	p, err := jsonpatch.Parse([]byte(`[
		{"op":"replace","path":"/a/b/2/c","value":"x"},
		{"op":"remove","path":"/a/b/0"},
		{"op":"add","path":"/e/0/-","value":1},
		{"op":"move","from":"/a","path":"/f"},
		{"op":"test","path":"/a","value":null}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(doc); err == nil {
		t.Fatal("Apply succeeded, want error")
	}
	if after := marshal(doc); after != in {
		t.Errorf("input modified: %s", after)
	}
	// And on success too.
	if _, err := p[:4].Apply(doc); err != nil {
		t.Fatal(err)
	}
	if after := marshal(doc); after != in {
		t.Errorf("input modified by a successful Apply: %s", after)
	}
}

func TestApplyDoesNotAliasPatchValues(t *testing.T) {
	p, err := jsonpatch.Parse([]byte(`[{"op":"add","path":"/a","value":{"list":[1]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.Apply(mustParse(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	list := first.(*fhir.Object).Object("a")
	list.Set("list", append(list.Members[0].Value.([]fhir.Value), fhir.Number("2")))
	list.Set("new", true)
	second, err := p.Apply(mustParse(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := marshal(second); s != `{"a":{"list":[1]}}` {
		t.Errorf("second Apply = %s: the first result shares the patch's value", s)
	}
}

func TestApplyBuiltPatch(t *testing.T) {
	// Patches built in code rather than parsed are checked by Apply.
	doc := mustParse(t, `{"a":1}`)
	for _, tt := range []struct {
		op   jsonpatch.Operation
		want string
	}{
		{jsonpatch.Operation{Op: "frobnicate", Path: "/a"}, `unknown op "frobnicate"`},
		{jsonpatch.Operation{Op: "remove", Path: "a"}, "must be empty or start with '/'"},
		{jsonpatch.Operation{Op: "copy", From: "~", Path: "/b"}, `"from": JSON Pointer must be empty`},
	} {
		_, err := jsonpatch.Patch{{Op: "test", Path: "/a", Value: fhir.Number("1")}, tt.op}.Apply(doc)
		var pe *jsonpatch.Error
		if !errors.As(err, &pe) || pe.Op != 1 || !strings.Contains(pe.Msg, tt.want) {
			t.Errorf("%+v: error = %v, want operation 1 and %q", tt.op, err, tt.want)
		}
	}
	got, err := jsonpatch.Patch{{Op: "add", Path: "/b", Value: "x"}}.Apply(doc)
	if err != nil || marshal(got) != `{"a":1,"b":"x"}` {
		t.Errorf("Apply = %s, %v", marshal(got), err)
	}
}

func TestApplyLimits(t *testing.T) {
	t.Run("CopyBudget", func(t *testing.T) {
		// Each copy of the document into a new member doubles it; the
		// budget stops it long before memory runs out.
		var ops []string
		for i := range 40 {
			ops = append(ops, `{"op":"copy","from":"","path":"/k`+strconv.Itoa(i)+`"}`)
		}
		p := mustPatch(t, "["+strings.Join(ops, ",")+"]")
		_, err := p.Apply(mustParse(t, `{"x":[1,2,3,4,5,6,7,8]}`))
		var pe *jsonpatch.Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "copies would create more than") {
			t.Fatalf("err = %v", err)
		}
		if pe.Op < 10 || pe.Op > 20 {
			t.Errorf("budget ran out at operation %d", pe.Op)
		}
	})
	t.Run("Depth", func(t *testing.T) {
		// A patch holds values at most fhir.MaxDepth-2 deep.
		deep := strings.Repeat("[", fhir.MaxDepth-2) + strings.Repeat("]", fhir.MaxDepth-2)
		ok := `[{"op":"add","path":"/a/b","value":` + deep + `}]`
		if _, err := mustPatch(t, ok).Apply(mustParse(t, `{"a":{}}`)); err != nil {
			t.Errorf("depth %d: %v", fhir.MaxDepth, err)
		}
		tooDeep := `[{"op":"add","path":"/a/b/c","value":` + deep + `}]`
		_, err := mustPatch(t, tooDeep).Apply(mustParse(t, `{"a":{"b":{}}}`))
		if err == nil || !strings.Contains(err.Error(), "nest deeper than 512") {
			t.Errorf("depth %d: err = %v", fhir.MaxDepth+1, err)
		}
		// Copying a deep value into itself must hit the same limit.
		p := mustPatch(t, `[{"op":"copy","from":"/a","path":"/a/0/-"}]`)
		_, err = p.Apply(mustParse(t, `{"a":`+deep+`}`))
		if err == nil || !strings.Contains(err.Error(), "nest deeper than 512") {
			t.Errorf("copy: err = %v", err)
		}
	})
}

func FuzzApply(f *testing.F) {
	for _, tt := range append(rfcAppendixA, moreCases...) {
		f.Add([]byte(tt.doc), []byte(tt.patch))
	}
	f.Fuzz(func(t *testing.T, docJSON, patchJSON []byte) {
		doc, err := fhir.Parse(docJSON)
		if err != nil {
			return
		}
		p, err := jsonpatch.Parse(patchJSON)
		if err != nil {
			return
		}
		before := fhir.Marshal(doc)
		got, err := p.Apply(doc)
		if !bytes.Equal(fhir.Marshal(doc), before) {
			t.Fatalf("Apply modified its input")
		}
		if err != nil {
			var pe *jsonpatch.Error
			if !errors.As(err, &pe) || pe.Op < 0 || pe.Op >= len(p) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		out := fhir.Marshal(got)
		if !json.Valid(out) {
			t.Fatalf("result is not valid JSON: %q", out)
		}
		if again, err := fhir.Parse(out); err != nil || !fhir.Equal(again, got) {
			t.Fatalf("result does not parse back: %v", err)
		}
		if got2, err := p.Apply(doc); err != nil || !fhir.Equal(got, got2) {
			t.Fatalf("second Apply differs: %v", err)
		}
	})
}

func mustParse(tb testing.TB, s string) fhir.Value {
	tb.Helper()
	v, err := fhir.Parse([]byte(s))
	if err != nil {
		tb.Fatalf("%s: %v", s, err)
	}
	return v
}

func mustPatch(tb testing.TB, s string) jsonpatch.Patch {
	tb.Helper()
	p, err := jsonpatch.Parse([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func mustApply(tb testing.TB, doc, patch string) fhir.Value {
	tb.Helper()
	got, err := mustPatch(tb, patch).Apply(mustParse(tb, doc))
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func marshal(v fhir.Value) string { return string(fhir.Marshal(v)) }
