package jsonpatch

import (
	"fmt"
	"strconv"

	"kartehub/internal/fhir"
)

// Patch is a JSON Patch document: operations applied in order.
type Patch []Operation

// Operation is one operation of a Patch.
type Operation struct {
	Op    string     // "add", "remove", "replace", "move", "copy" or "test"
	Path  string     // JSON Pointer to the target
	From  string     // JSON Pointer to the source, for move and copy
	Value fhir.Value // for add, replace and test; nil is JSON null
}

// Error reports a patch that is malformed or cannot be applied, naming the
// operation at fault so that the client can be told which one.
type Error struct {
	Op   int    // 0-based index of the operation in the patch; -1 for the document as a whole
	Path string // the JSON Pointer at fault: the operation's path, or its from
	Msg  string // what is wrong
}

// Error formats the error with the operation index and pointer.
func (e *Error) Error() string {
	if e.Op < 0 {
		return "json patch: " + e.Msg
	}
	return "json patch: operation " + strconv.Itoa(e.Op) + " (path " + strconv.Quote(e.Path) + "): " + e.Msg
}

// Parse parses a JSON Patch document: a JSON array of operation objects.
// Each operation must have a known "op", the members that op requires
// ("path"; "from" for move and copy; "value" for add, replace and test,
// where null is a value) and pointers of valid syntax; other members are
// ignored, as RFC 6902 says. Array index rules depend on the document, so
// Apply checks them.
//
// Invalid JSON gives an error wrapping the *fhir.SyntaxError; anything else
// gives an *Error.
func Parse(data []byte) (Patch, error) {
	v, err := fhir.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("json patch: %w", err)
	}
	ops, ok := v.([]fhir.Value)
	if !ok {
		return nil, &Error{Op: -1, Msg: "patch document must be a JSON array of operations"}
	}
	p := make(Patch, len(ops))
	for i, v := range ops {
		op, err := parseOperation(v)
		if err != nil {
			err.Op = i
			return nil, err
		}
		p[i] = op
	}
	return p, nil
}

// parseOperation reads and checks one operation object.
func parseOperation(v fhir.Value) (Operation, *Error) {
	obj, ok := v.(*fhir.Object)
	if !ok {
		return Operation{}, &Error{Msg: "operation must be a JSON object"}
	}
	var op Operation
	var err *Error
	if op.Op, err = stringMember(obj, "op", ""); err != nil {
		return op, err
	}
	if op.Path, err = stringMember(obj, "path", ""); err != nil {
		return op, err
	}
	switch op.Op {
	case "move", "copy":
		if op.From, err = stringMember(obj, "from", op.Path); err != nil {
			return op, err
		}
	case "add", "replace", "test":
		var has bool
		if op.Value, has = obj.Get("value"); !has {
			return op, &Error{Path: op.Path, Msg: `"` + op.Op + `" needs a "value" member`}
		}
	}
	return op, op.check()
}

// stringMember returns the string member key of obj, which must be present.
// path is the pointer to name in the error.
func stringMember(obj *fhir.Object, key, path string) (string, *Error) {
	v, ok := obj.Get(key)
	if !ok {
		return "", &Error{Path: path, Msg: `missing "` + key + `" member`}
	}
	s, ok := v.(string)
	if !ok {
		return "", &Error{Path: path, Msg: `"` + key + `" must be a string`}
	}
	return s, nil
}

// check validates what can be known without the document: the op name and
// the pointer syntax.
func (op *Operation) check() *Error {
	_, _, err := op.pointers()
	return err
}

// pointers checks the op name and returns the parsed path and, for move
// and copy, from.
func (op *Operation) pointers() (path, from []string, _ *Error) {
	switch op.Op {
	case "add", "remove", "replace", "move", "copy", "test":
	default:
		return nil, nil, &Error{Path: op.Path, Msg: "unknown op " + strconv.Quote(op.Op)}
	}
	path, err := parsePointer(op.Path)
	if err != nil {
		return nil, nil, &Error{Path: op.Path, Msg: err.Error()}
	}
	if op.Op == "move" || op.Op == "copy" {
		if from, err = parsePointer(op.From); err != nil {
			return nil, nil, &Error{Path: op.From, Msg: `"from": ` + err.Error()}
		}
	}
	return path, from, nil
}
