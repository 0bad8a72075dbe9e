package fhirpath

import (
	"strings"
	"time"

	"kartehub/internal/fhir"
)

// children appends the child nodes of an item: the values of its
// elements, typed by the model, and for a primitive its extensions.
func children(out Collection, it Item) Collection {
	obj, ok := it.v.(*fhir.Object)
	if !ok {
		if it.ext != nil {
			ext, _ := it.ext.Get("extension")
			return appendValues(out, ext, nil, typeExtension, sysNone)
		}
		return out
	}
	typed := it.st == sysNone && it.ft != 0 && !(it.ft.IsResource() && it.ft.IsAbstract())
	for i := range obj.Members {
		m := &obj.Members[i]
		key := m.Key
		if key == "resourceType" || key == "" {
			continue
		}
		if key[0] == '_' {
			if _, paired := obj.Get(key[1:]); paired {
				continue // taken with its value
			}
			key = key[1:]
		}
		var t fhir.Type
		sys := sysNone
		if typed {
			el, et, ok := it.ft.ElementOfKey(key)
			if ok {
				t = et
				if el.IsSystem() {
					sys = sysString
				}
			}
		}
		val, _ := obj.Get(key)
		var ext fhir.Value
		if t == 0 || t.IsPrimitive() {
			ext, _ = obj.Get("_" + key)
		}
		out = appendValues(out, val, ext, t, sys)
	}
	return out
}

func fnChildren(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		out = children(out, it)
	}
	return out, nil
}

func fnDescendants(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	var out Collection
	for level := in; len(level) > 0; {
		start := len(out)
		for _, it := range level {
			out = children(out, it)
		}
		if err := c.checkSize(n.pos, len(out)); err != nil {
			return nil, err
		}
		level = out[start:len(out):len(out)]
	}
	return out, nil
}

func fnNow(c *evalCtx, _ *callNode, _ Collection) (Collection, error) {
	return collection(dateTimeItem(timeValue(c.clock(), sysDateTime))), nil
}

func fnToday(c *evalCtx, _ *callNode, _ Collection) (Collection, error) {
	return collection(dateTimeItem(timeValue(c.clock(), sysDate))), nil
}

func fnTimeOfDay(c *evalCtx, _ *callNode, _ Collection) (Collection, error) {
	return collection(dateTimeItem(timeValue(c.clock(), sysTime))), nil
}

// timeValue returns t as a Date, DateTime (to the millisecond, with its
// offset) or Time.
func timeValue(t time.Time, kind sysType) dateTime {
	_, off := t.Zone()
	d := dateTime{
		kind: kind, prec: precMilli,
		year: t.Year(), month: int(t.Month()), day: t.Day(),
		hour: t.Hour(), minute: t.Minute(), sec: t.Second(), milli: t.Nanosecond() / 1e6,
	}
	switch kind {
	case sysDateTime:
		d.tz, d.offset, d.zulu = true, off/60, off == 0
	case sysDate:
		d.prec = precDay
	}
	d.truncate()
	return d
}

func fnIs(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok {
		return nil, err
	}
	return boolColl(n.typ.matches(it)), nil
}

func fnAs(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok || !n.typ.matches(it) {
		return nil, err
	}
	return in, nil
}

// fnType returns the type of each item as an object with namespace and name.
func fnType(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	out := make(Collection, 0, len(in))
	for _, it := range in {
		ns, name := "FHIR", it.ft.Name()
		if k := it.kind(); it.st != sysNone || it.ft == 0 {
			ns, name = "System", sysTypeNames[k]
			if k == sysNone {
				name = "Any"
			}
		}
		info := &fhir.Object{Members: []fhir.Member{{Key: "namespace", Value: ns}, {Key: "name", Value: name}}}
		out = append(out, Item{v: info, st: sysTypeInfo})
	}
	return out, nil
}

// fnExtension returns the extensions with the given url of each item,
// primitives included (their extensions are in their _name object).
func fnExtension(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	url := n.ext
	if url == "" {
		u, ok, err := n.argString(c, 0)
		if err != nil || !ok {
			return nil, err
		}
		url = u
	}
	var out Collection
	for _, it := range in {
		obj, ok := it.v.(*fhir.Object)
		if !ok || it.ext != nil {
			obj = it.ext
		}
		if obj == nil {
			continue
		}
		exts, _ := obj.Get("extension")
		arr, _ := exts.([]fhir.Value)
		for _, e := range arr {
			if eo, ok := e.(*fhir.Object); ok && eo.String("url") == url {
				out = append(out, Item{v: eo, ft: typeExtension})
			}
		}
	}
	return out, nil
}

func fnHasValue(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	if len(in) != 1 {
		return falseColl, nil
	}
	it := in[0]
	return boolColl(it.v != nil && it.st == sysNone && it.ft.IsPrimitive()), nil
}

// fnGetValue returns the value of a FHIR primitive as a System value.
func fnGetValue(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	if len(in) != 1 || in[0].v == nil || !in[0].ft.IsPrimitive() || in[0].st != sysNone {
		return nil, nil
	}
	it := in[0]
	k := it.kind()
	switch k {
	case sysInteger:
		v, ok := intOf(it)
		if !ok {
			return nil, nil
		}
		return collection(intItem(v)), nil
	case sysDecimal:
		return collection(Item{v: it.v, st: sysDecimal}), nil
	}
	return collection(Item{v: it.v, st: k}), nil
}

// fnResolve follows references: through Options.Resolve if given, else to
// a contained resource (#id), else, for Type/id, to an item of that
// resource type without content.
func fnResolve(c *evalCtx, _ *callNode, in Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		ref := referenceOf(it)
		if ref == "" {
			continue
		}
		if c.opts.Resolve != nil {
			if obj, ok := c.opts.Resolve(ref).(*fhir.Object); ok && obj != nil {
				out = append(out, objectItem(obj, 0))
				continue
			}
		}
		if r, ok := c.contained(ref); ok {
			out = append(out, r)
			continue
		}
		if t := referenceType(ref); t != 0 {
			out = append(out, Item{ft: t})
		}
	}
	return out, nil
}

// referenceOf returns the reference an item holds: Reference.reference, or
// the item itself if it is a string (canonical, uri).
func referenceOf(it Item) string {
	if obj, ok := it.v.(*fhir.Object); ok {
		return obj.String("reference")
	}
	s, _ := stringOf(it)
	return s
}

// contained finds #id among the contained resources of the root.
func (c *evalCtx) contained(ref string) (Item, bool) {
	id, ok := strings.CutPrefix(ref, "#")
	if !ok || len(c.root) == 0 {
		return Item{}, false
	}
	root, _ := c.root[0].v.(*fhir.Object)
	if root == nil {
		return Item{}, false
	}
	list, _ := root.Get("contained")
	arr, _ := list.([]fhir.Value)
	for _, v := range arr {
		if obj, ok := v.(*fhir.Object); ok && obj.String("id") == id {
			return objectItem(obj, 0), true
		}
	}
	return Item{}, false
}

// referenceType returns the resource type of a literal reference:
// Type/id, Type/id/_history/v, or an absolute URL ending so.
func referenceType(ref string) fhir.Type {
	ref, _, _ = strings.Cut(ref, "?")
	parts := strings.Split(ref, "/")
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		parts = parts[:len(parts)-2]
	}
	if len(parts) < 2 || parts[len(parts)-1] == "" {
		return 0
	}
	if t := fhir.TypeOf(parts[len(parts)-2]); t.IsResource() && !t.IsAbstract() {
		return t
	}
	return 0
}

// fnConformsTo checks conformance to the base profile of an R4 type, the
// only profiles the engine knows.
func fnConformsTo(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	url, ok, err := n.argString(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	name, ok := strings.CutPrefix(url, "http://hl7.org/fhir/StructureDefinition/")
	t := fhir.TypeOf(name)
	if !ok || t == 0 {
		return nil, c.errorf(n.pos, "conformsTo: unknown profile %q", url)
	}
	it, ok, err := n.input(c, in)
	if err != nil || !ok {
		return nil, err
	}
	return boolColl(it.st == sysNone && it.ft.Is(t)), nil
}

// fnHTMLChecks accepts any narrative: kartehub does not check XHTML rules.
func fnHTMLChecks(_ *evalCtx, _ *callNode, _ Collection) (Collection, error) {
	return trueColl, nil
}
