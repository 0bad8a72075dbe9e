package fhir

// SubsettedSystem is the code system of the SUBSETTED tag, which marks a
// resource that a server returns with elements left out (meta.tag).
const SubsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

// IsSummary reports whether the element is marked isSummary in R4: part of
// the subset that _summary=true returns.
func (e Element) IsSummary() bool { return e.def().flags&elemSummary != 0 }

// Summarize returns a copy of res in its summary form, as _summary=true asks
// for: resourceType, id and meta, and then only the elements R4 marks
// isSummary or mandatory (min >= 1), with the SUBSETTED tag added to
// meta.tag. res is not changed, and shares nothing with the copy.
//
// Kept complex and backbone elements are summarised the same way, by the
// flags of their own type (HumanName keeps all its elements, Reference
// drops its id and extensions). A type that marks none of its own elements
// isSummary is kept whole: Extension (in a kept modifierExtension, whose url
// and value go together), Narrative, the id and extensions of a primitive
// (_birthDate), and backbone elements such as
// EffectEvidenceSynthesis.effectEstimate. Nested resources
// (Bundle.entry.resource) are summarised and tagged in turn. Elements left
// without content are dropped, or kept whole if mandatory, so that a valid
// resource stays valid. Members R4 does not define are dropped; meta is
// kept as it is.
func Summarize(res *Object) *Object {
	if res == nil {
		return nil
	}
	return summarizeResource(res)
}

// summarizeResource summarises a resource object, of whatever type its
// resourceType names.
func summarizeResource(res *Object) *Object {
	out := &Object{}
	t, known := lookupType(res.String("resourceType"))
	known = known && typeDefs[t].kind == resourceKind
	for _, m := range res.Members {
		switch m.Key {
		case "resourceType", "id", "meta":
			out.Members = append(out.Members, Member{m.Key, copyValue(m.Value)})
			continue
		}
		if !known {
			continue
		}
		if v, ok := summarizeMember(&typeDefs[t], m); ok {
			out.Members = append(out.Members, Member{m.Key, v})
		}
	}
	markSubsetted(out)
	return out
}

// summarizeMember returns the summary of one member of an object of type
// td, and false if the member is left out.
func summarizeMember(td *typeDef, m Member) (Value, bool) {
	name := m.Key
	if len(name) > 1 && name[0] == '_' {
		name = name[1:]
	}
	ei, typ, res := td.element(name)
	if res != elemFound {
		return nil, false
	}
	required := td.required>>(ei-int(td.elems))&1 != 0
	if elemDefs[ei].flags&elemSummary == 0 && !required {
		return nil, false
	}
	if v, ok := summarizeValue(m.Value, typ); ok {
		return v, true
	}
	if required {
		return copyValue(m.Value), true
	}
	return nil, false
}

// summarizeValue summarises the JSON value of an element of type t: one
// item or an array of them. It reports false if nothing is left.
func summarizeValue(v Value, t typeID) (Value, bool) {
	switch v := v.(type) {
	case *Object:
		if o := summarizeObject(v, t); o != nil {
			return o, true
		}
		return nil, false
	case []Value:
		out := make([]Value, 0, len(v))
		for _, it := range v {
			if it == nil {
				// A null of a primitive array, aligned with its _name
				// array, which is kept whole.
				out = append(out, nil)
				continue
			}
			if s, ok := summarizeValue(it, t); ok {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			return nil, false
		}
		return out, true
	case nil:
		return nil, false
	}
	return v, true // a primitive value: string, Number or bool
}

// summarizeObject summarises an object of type t, returning nil if none of
// its members is kept.
func summarizeObject(obj *Object, t typeID) *Object {
	td := &typeDefs[t]
	if td.kind == resourceKind {
		return summarizeResource(obj)
	}
	if !td.marksSummary() {
		return copyValue(obj).(*Object)
	}
	out := &Object{}
	for _, m := range obj.Members {
		if v, ok := summarizeMember(td, m); ok {
			out.Members = append(out.Members, Member{m.Key, v})
		}
	}
	if len(out.Members) == 0 {
		return nil
	}
	return out
}

// marksSummary reports whether the type marks any of its own elements
// isSummary. The modifierExtension every backbone element inherits from
// BackboneElement does not count.
func (td *typeDef) marksSummary() bool {
	for _, e := range elemDefs[td.elems : int(td.elems)+int(td.nplain)+int(td.nchoice)] {
		if e.flags&elemSummary != 0 && e.name != "modifierExtension" {
			return true
		}
	}
	return false
}

// markSubsetted adds the SUBSETTED tag to the meta of res, unless it is
// there already; res must own its meta.
func markSubsetted(res *Object) {
	meta := res.Object("meta")
	if meta == nil {
		meta = &Object{}
		after := "id"
		if _, ok := res.Get("id"); !ok {
			after = "resourceType"
		}
		res.SetAfter(after, "meta", meta)
	}
	tags, _ := meta.Get("tag")
	list, _ := tags.([]Value)
	for _, t := range list {
		if c, ok := t.(*Object); ok && c.String("system") == SubsettedSystem && c.String("code") == "SUBSETTED" {
			return
		}
	}
	tag := &Object{Members: []Member{{"system", SubsettedSystem}, {"code", "SUBSETTED"}}}
	meta.Set("tag", append(list, tag))
}

// copyValue returns a deep copy of a JSON value.
func copyValue(v Value) Value {
	switch v := v.(type) {
	case *Object:
		if v == nil {
			return v
		}
		out := &Object{Members: make([]Member, len(v.Members))}
		for i, m := range v.Members {
			out.Members[i] = Member{m.Key, copyValue(m.Value)}
		}
		return out
	case []Value:
		out := make([]Value, len(v))
		for i, it := range v {
			out[i] = copyValue(it)
		}
		return out
	}
	return v
}
