package fhirpath

import (
	"fmt"
	"regexp"
	"strings"

	"kartehub/internal/fhir"
)

// compiler turns a syntax tree into nodes. It tracks the static type of
// $this, the focus of paths inside function arguments, so that a path such
// as Patient.name.where(use = 'official') is checked against the model.
type compiler struct {
	src  string
	this static
}

func (c *compiler) errorf(pos int, format string, args ...any) error {
	return &Error{Expr: c.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// compile compiles e for a focus of static type focus.
func (c *compiler) compile(e *expr, focus static) (node, static, error) {
	switch e.kind {
	case exLiteral:
		return literalNode{Collection{e.lit}}, static{}, nil
	case exEmpty:
		return literalNode{}, static{}, nil
	case exIdent:
		return c.ident(e, focus)
	case exMember:
		src, st, err := c.compile(e.x, focus)
		if err != nil {
			return nil, static{}, err
		}
		m, out, err := c.member(e.name, e.pos, st)
		if err != nil {
			return nil, static{}, err
		}
		m.src = src
		return m, out, nil
	case exCall:
		return c.call(e, focus)
	case exIndex:
		return c.index(e, focus)
	case exBinary:
		return c.binary(e, focus)
	case exUnary:
		return c.unary(e, focus)
	case exIs, exAs:
		return c.typeOp(e, focus)
	case exEnv:
		return c.env(e)
	case exSpecial:
		switch e.name {
		case "this":
			return thisNode{}, c.this, nil
		case "index":
			return indexVarNode{}, static{}, nil
		}
		return totalNode{}, static{}, nil
	}
	return nil, static{}, c.errorf(e.pos, "unsupported expression")
}

// ident compiles an identifier at the start of a path: a type name
// (Patient.name) filters the focus by type; anything else is an element.
func (c *compiler) ident(e *expr, focus static) (node, static, error) {
	if isUpper(e.name) {
		if t := fhir.TypeOf(e.name); t != 0 && !t.IsPrimitive() {
			return typeFilterNode{t}, static{t: t}, nil
		}
	}
	m, out, err := c.member(e.name, e.pos, focus)
	if err != nil {
		return nil, static{}, err
	}
	return m, out, nil
}

func isUpper(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// member compiles navigation to an element. If the type of the input is
// known, the element must exist in it; its element definition is kept so
// that evaluation need not look it up again for items of that type.
func (c *compiler) member(name string, pos int, in static) (*memberNode, static, error) {
	m := &memberNode{pos: pos, name: name, extKey: "_" + name, lenient: in.unordered}
	if in.t == 0 || (in.t.IsResource() && in.t.IsAbstract()) {
		return m, static{unordered: in.unordered}, nil
	}
	el, ok := in.t.Element(name)
	if !ok {
		return nil, static{}, c.errorf(pos, "%s", unknownElement(in.t, name))
	}
	m.pred, m.predElem = in.t, el
	out := static{t: el.Type(), unordered: in.unordered}
	if el.IsSystem() {
		out.t = 0
	}
	return m, out, nil
}

// unknownElement explains a name that a type has no element for, pointing
// out the JSON names of choice elements (valueQuantity), which FHIRPath
// does not use.
func unknownElement(t fhir.Type, name string) string {
	if el, _, ok := t.ElementOfKey(name); ok && el.IsChoice() {
		return fmt.Sprintf("%s has no element %q: choice elements are named by their stem; use %s.ofType(%s)",
			t.Name(), name, el.Name(), strings.TrimPrefix(name, el.Name()))
	}
	return fmt.Sprintf("%s has no element %q", t.Name(), name)
}

func (c *compiler) index(e *expr, focus static) (node, static, error) {
	src, st, err := c.compile(e.x, focus)
	if err != nil {
		return nil, static{}, err
	}
	if st.unordered {
		return nil, static{}, c.errorf(e.pos, "indexer on a collection without defined order (from children() or descendants())")
	}
	i, _, err := c.compileArg(e.args[0], c.this)
	if err != nil {
		return nil, static{}, err
	}
	return &indexNode{pos: e.pos, src: src, i: i}, static{t: st.t}, nil
}

// compileArg compiles a function or indexer argument, whose focus is $this
// of static type this.
func (c *compiler) compileArg(e *expr, this static) (node, static, error) {
	saved := c.this
	c.this = this
	defer func() { c.this = saved }()
	return c.compile(e, this)
}

func (c *compiler) typeOp(e *expr, focus static) (node, static, error) {
	x, _, err := c.compile(e.x, focus)
	if err != nil {
		return nil, static{}, err
	}
	t, err := c.resolveType(e.name, e.pos)
	if err != nil {
		return nil, static{}, err
	}
	if e.kind == exIs {
		return &isNode{pos: e.pos, x: x, t: t}, static{}, nil
	}
	return &asNode{pos: e.pos, x: x, t: t}, static{t: t.ft}, nil
}

// env compiles %name: the variables FHIRPath and FHIR define are resolved
// here, others at evaluation from Options.Vars.
func (c *compiler) env(e *expr) (node, static, error) {
	switch e.name {
	case "resource", "rootResource":
		return rootNode{}, static{}, nil
	case "context":
		return contextNode{}, static{}, nil
	case "ucum":
		return literalNode{collection(stringItem(ucumSystem))}, static{}, nil
	case "sct":
		return literalNode{collection(stringItem("http://snomed.info/sct"))}, static{}, nil
	case "loinc":
		return literalNode{collection(stringItem("http://loinc.org"))}, static{}, nil
	}
	if name, ok := strings.CutPrefix(e.name, "vs-"); ok {
		return literalNode{collection(stringItem("http://hl7.org/fhir/ValueSet/" + name))}, static{}, nil
	}
	if name, ok := strings.CutPrefix(e.name, "ext-"); ok {
		return literalNode{collection(stringItem("http://hl7.org/fhir/StructureDefinition/" + name))}, static{}, nil
	}
	return varNode{pos: e.pos, name: e.name}, static{}, nil
}

// typeRef is a type named in an expression, resolved at compile time.
type typeRef struct {
	name string    // as written, for type() and messages
	ft   fhir.Type // a FHIR type, or
	st   sysType   // a System type; neither: a System type that does not exist
}

// resolveType resolves a type name. An unqualified name is looked up in
// the FHIR model first (boolean, Patient, Quantity), then among the System
// types (Boolean, Integer, ...).
func (c *compiler) resolveType(name string, pos int) (typeRef, error) {
	ns, local, qualified := strings.Cut(name, ".")
	if !qualified {
		ns, local = "", name
	}
	if ns == "" || ns == "FHIR" {
		if t := fhir.TypeOf(local); t != 0 {
			return typeRef{name: local, ft: t}, nil
		}
	}
	if ns == "" || ns == "System" {
		if st := systemType(local); st != sysNone {
			return typeRef{name: local, st: st}, nil
		}
	}
	if ns == "System" {
		return typeRef{name: name}, nil // is() is false for it
	}
	return typeRef{}, c.errorf(pos, "unknown type %q", name)
}

func systemType(name string) sysType {
	for st, n := range sysTypeNames {
		if n == name && st != int(sysNone) && st != int(sysTypeInfo) {
			return sysType(st)
		}
	}
	return sysNone
}

// matches reports whether it is of type t or a type derived from it.
func (t typeRef) matches(it Item) bool {
	switch {
	case t.ft != 0:
		if it.st == sysNone {
			return it.ft != 0 && it.ft.Is(t.ft)
		}
		return t.ft == typeQuantity && it.st == sysQuantity
	case t.st != sysNone:
		if it.st == sysNone && it.ft == 0 {
			return it.kind() == t.st
		}
		return it.st == t.st
	}
	return false
}

// compileRegexp compiles a regular expression argument given as a literal,
// so that evaluation need not.
func (c *compiler) compileRegexp(e *expr, full bool) (*regexp.Regexp, error) {
	if e.kind != exLiteral || e.lit.st != sysString {
		return nil, nil
	}
	re, err := compilePattern(e.lit.v.(string), full)
	if err != nil {
		return nil, c.errorf(e.pos, "invalid regular expression: %v", err)
	}
	return re, nil
}

// compilePattern compiles a FHIRPath regular expression: . matches new
// lines too, and a full match anchors the pattern at both ends.
func compilePattern(pattern string, full bool) (*regexp.Regexp, error) {
	if full {
		pattern = "^(?:" + pattern + ")$"
	}
	return regexp.Compile("(?s)" + pattern)
}

// typeName returns the type a type argument (is(), as(), ofType()) names:
// an identifier or a qualified one (FHIR.Patient).
func typeName(e *expr) (string, bool) {
	switch e.kind {
	case exIdent:
		return e.name, true
	case exMember:
		if e.x.kind == exIdent {
			return e.x.name + "." + e.name, true
		}
	}
	return "", false
}
