package jsonpatch

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"kartehub/internal/fhir"
)

// maxCopied bounds the values that the copy operations of one Apply may
// create. Each copy of the document into itself doubles it, so without a
// bound a patch of a few dozen operations would exhaust memory. The bound
// is far above what patching one resource needs.
const maxCopied = 1 << 18

// Apply applies the operations of p in order and returns the patched
// document, following RFC 6902 section 4.
//
// It is atomic: it works on a deep copy of doc, so doc is never modified,
// and on failure it returns only an *Error naming the first operation that
// failed. Values from p are copied too, so p can be applied again.
//
// Beyond the RFC: test compares with fhir.Equal, so numbers must match as
// text; removing the whole document is an error; a result nesting deeper
// than fhir.MaxDepth is an error, so that every patched resource can be
// parsed again; and the copy operations of one Apply may create at most
// 2^18 values.
func (p Patch) Apply(doc fhir.Value) (fhir.Value, error) {
	a := applier{doc: clone(doc)}
	for i := range p {
		if err := a.apply(&p[i]); err != nil {
			err.Op = i
			return nil, err
		}
	}
	return a.doc, nil
}

// applier is the state of one Apply: the copy being patched and the values
// created by copy so far.
type applier struct {
	doc    fhir.Value
	copied int
}

// apply applies one operation to a.doc.
func (a *applier) apply(op *Operation) *Error {
	path, from, perr := op.pointers()
	if perr != nil {
		return perr
	}
	var err error
	switch op.Op {
	case "add":
		a.doc, err = add(a.doc, path, clone(op.Value))
	case "remove":
		a.doc, err = remove(a.doc, path)
	case "replace":
		a.doc, err = replace(a.doc, path, clone(op.Value))
	case "test":
		err = test(a.doc, path, op.Value)
	case "move":
		return a.move(op, path, from)
	case "copy":
		return a.copy(op, path, from)
	}
	if err != nil {
		return &Error{Path: op.Path, Msg: err.Error()}
	}
	return nil
}

// move removes the value at from and adds it at path.
func (a *applier) move(op *Operation, path, from []string) *Error {
	v, err := get(a.doc, from)
	if err != nil {
		return &Error{Path: op.From, Msg: err.Error()}
	}
	if op.From == op.Path {
		return nil // pointer escaping is unique, so equal text is the same location
	}
	if isProperPrefix(from, path) {
		return &Error{Path: op.Path, Msg: "cannot move a value into itself (from " + strconv.Quote(op.From) + ")"}
	}
	if a.doc, err = remove(a.doc, from); err != nil {
		return &Error{Path: op.From, Msg: err.Error()}
	}
	if a.doc, err = add(a.doc, path, v); err != nil {
		return &Error{Path: op.Path, Msg: err.Error()}
	}
	return nil
}

// copy adds a copy of the value at from at path, within the copy budget.
func (a *applier) copy(op *Operation, path, from []string) *Error {
	v, err := get(a.doc, from)
	if err != nil {
		return &Error{Path: op.From, Msg: err.Error()}
	}
	n, _ := measure(v)
	if a.copied += n; a.copied > maxCopied {
		return &Error{Path: op.From, Msg: fmt.Sprintf("copies would create more than %d values", maxCopied)}
	}
	if a.doc, err = add(a.doc, path, clone(v)); err != nil {
		return &Error{Path: op.Path, Msg: err.Error()}
	}
	return nil
}

// add inserts v at path: it sets an object member, inserts into an array,
// or replaces the whole document.
func add(doc fhir.Value, path []string, v fhir.Value) (fhir.Value, error) {
	if err := checkDepth(path, v); err != nil {
		return nil, err
	}
	if len(path) == 0 {
		return v, nil
	}
	return edit(doc, path, func(c fhir.Value, tok string) (fhir.Value, error) {
		switch c := c.(type) {
		case *fhir.Object:
			if c != nil {
				c.Set(tok, v)
				return c, nil
			}
		case []fhir.Value:
			i, err := arrayIndex(tok, len(c), true)
			if err != nil {
				return nil, err
			}
			return slices.Insert(c, i, v), nil
		}
		return nil, fmt.Errorf("cannot add %q to %s", tok, kind(c))
	})
}

// remove deletes the value at path, which must exist.
func remove(doc fhir.Value, path []string) (fhir.Value, error) {
	if len(path) == 0 {
		return nil, errors.New("cannot remove the whole document")
	}
	return edit(doc, path, func(c fhir.Value, tok string) (fhir.Value, error) {
		switch c := c.(type) {
		case *fhir.Object:
			if c != nil {
				if !c.Delete(tok) {
					return nil, noMember(tok)
				}
				return c, nil
			}
		case []fhir.Value:
			i, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			return slices.Delete(c, i, i+1), nil
		}
		return nil, fmt.Errorf("cannot remove %q from %s", tok, kind(c))
	})
}

// replace sets the value at path, which must exist.
func replace(doc fhir.Value, path []string, v fhir.Value) (fhir.Value, error) {
	if err := checkDepth(path, v); err != nil {
		return nil, err
	}
	if len(path) == 0 {
		return v, nil
	}
	return edit(doc, path, func(c fhir.Value, tok string) (fhir.Value, error) {
		switch c := c.(type) {
		case *fhir.Object:
			if c != nil {
				if _, ok := c.Get(tok); !ok {
					return nil, noMember(tok)
				}
				c.Set(tok, v)
				return c, nil
			}
		case []fhir.Value:
			i, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			c[i] = v
			return c, nil
		}
		return nil, fmt.Errorf("cannot replace %q in %s", tok, kind(c))
	})
}

// test checks that the value at path equals v.
func test(doc fhir.Value, path []string, v fhir.Value) error {
	got, err := get(doc, path)
	if err != nil {
		return err
	}
	if !fhir.Equal(got, v) {
		return errors.New("test failed: the value differs")
	}
	return nil
}

// edit walks path down to the container of its target and calls f with
// that container and the last token. f returns the container, which is a
// new slice when an array grows or shrinks, so edit stores each container
// back into its parent on the way up. path must not be empty.
func edit(v fhir.Value, path []string, f func(c fhir.Value, tok string) (fhir.Value, error)) (fhir.Value, error) {
	if len(path) == 1 {
		return f(v, path[0])
	}
	c, err := child(v, path[0])
	if err != nil {
		return nil, err
	}
	if c, err = edit(c, path[1:], f); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *fhir.Object:
		v.Set(path[0], c)
	case []fhir.Value:
		i, _ := arrayIndex(path[0], len(v), false) // child checked it
		v[i] = c
	}
	return v, nil
}

// get returns the value at path, which must exist.
func get(v fhir.Value, path []string) (fhir.Value, error) {
	for _, tok := range path {
		var err error
		if v, err = child(v, tok); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// child returns the member or element tok of v.
func child(v fhir.Value, tok string) (fhir.Value, error) {
	switch v := v.(type) {
	case *fhir.Object:
		if v != nil {
			c, ok := v.Get(tok)
			if !ok {
				return nil, noMember(tok)
			}
			return c, nil
		}
	case []fhir.Value:
		i, err := arrayIndex(tok, len(v), false)
		if err != nil {
			return nil, err
		}
		return v[i], nil
	}
	return nil, fmt.Errorf("cannot look up %q in %s", tok, kind(v))
}

func noMember(tok string) error { return fmt.Errorf("no member %q", tok) }

// kind names the JSON kind of a value that is not a container, for errors.
func kind(v fhir.Value) string {
	switch v.(type) {
	case string:
		return "a string"
	case fhir.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// checkDepth refuses to put v at path if the result would nest deeper than
// fhir.Parse accepts, since a stored resource must be readable again.
func checkDepth(path []string, v fhir.Value) error {
	if _, depth := measure(v); len(path)+depth > fhir.MaxDepth {
		return fmt.Errorf("result would nest deeper than %d levels", fhir.MaxDepth)
	}
	return nil
}

// measure returns the number of values in v and its nesting depth, which
// is 0 for a scalar and one more than its deepest child for a container.
func measure(v fhir.Value) (nodes, depth int) {
	switch v := v.(type) {
	case *fhir.Object:
		if v == nil {
			return 1, 0
		}
		nodes = 1
		for _, m := range v.Members {
			n, d := measure(m.Value)
			nodes, depth = nodes+n, max(depth, d)
		}
		return nodes, depth + 1
	case []fhir.Value:
		nodes = 1
		for _, e := range v {
			n, d := measure(e)
			nodes, depth = nodes+n, max(depth, d)
		}
		return nodes, depth + 1
	}
	return 1, 0
}

// clone returns a deep copy of v. Scalars are immutable and shared.
func clone(v fhir.Value) fhir.Value {
	switch v := v.(type) {
	case *fhir.Object:
		if v == nil {
			return v
		}
		ms := make([]fhir.Member, len(v.Members))
		for i, m := range v.Members {
			ms[i] = fhir.Member{Key: m.Key, Value: clone(m.Value)}
		}
		return &fhir.Object{Members: ms}
	case []fhir.Value:
		vs := make([]fhir.Value, len(v))
		for i, e := range v {
			vs[i] = clone(e)
		}
		return vs
	}
	return v
}
