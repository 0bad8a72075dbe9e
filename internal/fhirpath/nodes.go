package fhirpath

import (
	"slices"

	"kartehub/internal/fhir"
)

// literalNode is a constant: a literal, {}, or a variable known at compile time.
type literalNode struct{ c Collection }

func (n literalNode) eval(*evalCtx, Collection) (Collection, error) { return n.c, nil }

type thisNode struct{}

func (thisNode) eval(c *evalCtx, _ Collection) (Collection, error) { return c.this, nil }

type indexVarNode struct{}

func (indexVarNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	return collection(intItem(int64(c.index))), nil
}

type totalNode struct{}

func (totalNode) eval(c *evalCtx, _ Collection) (Collection, error) { return c.total, nil }

// rootNode is %resource and %rootResource: the evaluation's resource.
type rootNode struct{}

func (rootNode) eval(c *evalCtx, _ Collection) (Collection, error) { return c.root, nil }

// contextNode is %context: the evaluation's input.
type contextNode struct{}

func (contextNode) eval(c *evalCtx, _ Collection) (Collection, error) { return c.context, nil }

// varNode is a variable from Options.Vars.
type varNode struct {
	pos  int
	name string
}

func (n varNode) eval(c *evalCtx, _ Collection) (Collection, error) {
	v, ok := c.opts.Vars[n.name]
	if !ok {
		return nil, c.errorf(n.pos, "undefined variable %%%s", n.name)
	}
	return v, nil
}

// typeFilterNode is a type name at the start of a path (Patient.name): it
// keeps the items of the focus of that type.
type typeFilterNode struct{ t fhir.Type }

func (n typeFilterNode) eval(_ *evalCtx, in Collection) (Collection, error) {
	for i := range in {
		if !n.matches(&in[i]) {
			return n.filter(in, i), nil
		}
	}
	return in, nil // the common case: the root is of the type
}

func (n typeFilterNode) matches(it *Item) bool {
	return it.st == sysNone && it.ft != 0 && it.ft.Is(n.t)
}

func (n typeFilterNode) filter(in Collection, from int) Collection {
	out := slices.Clone(in[:from])
	for i := from; i < len(in); i++ {
		if n.matches(&in[i]) {
			out = append(out, in[i])
		}
	}
	return out
}

// memberNode navigates to an element of each item of its input: src's
// value, or the focus if src is nil. pred and predElem are the type the
// compiler expects the items to have and its element, if known.
type memberNode struct {
	pos      int
	name     string
	extKey   string // "_" + name
	src      node
	pred     fhir.Type
	predElem fhir.Element
	lenient  bool // the input mixes types (children()): no error for a type without the element
}

func (n *memberNode) eval(c *evalCtx, in Collection) (Collection, error) {
	if n.src != nil {
		var err error
		if in, err = n.src.eval(c, in); err != nil {
			return nil, err
		}
	}
	var out Collection
	var missing fhir.Type // a type of an item that lacks the element
	found := false        // an item's type has the element
	for i := range in {
		var has bool
		out, has = n.step(&in[i], out)
		if has {
			found = true
		} else if missing == 0 {
			missing = in[i].ft
		}
	}
	// Naming an element that no item's type has is an error, like a typo
	// the compiler would catch had it known the type.
	if missing != 0 && !found && !n.lenient {
		return nil, c.errorf(n.pos, "%s", unknownElement(missing, n.name))
	}
	return out, nil
}

// step appends the values of the element of one item. has is false if the
// item has a FHIR type that does not define the element.
func (n *memberNode) step(it *Item, out Collection) (_ Collection, has bool) {
	if it.st == sysQuantity {
		if q, ok := it.v.(Quantity); ok {
			return n.quantityField(q, out), true
		}
	}
	if it.st != sysNone || it.ft == 0 || (it.ft.IsResource() && it.ft.IsAbstract()) {
		if obj, ok := it.v.(*fhir.Object); ok {
			return n.untyped(obj, out), true
		}
		if it.ext != nil {
			return n.untyped(it.ext, out), true
		}
		return out, true
	}
	el, ok := n.element(it.ft)
	if !ok {
		return out, false
	}
	switch v := it.v.(type) {
	case *fhir.Object:
		if el.IsChoice() {
			return n.choice(v, el, out), true
		}
		return n.plain(v, el, out), true
	}
	if it.ext != nil { // a primitive: its id and extensions are in its _name object
		return n.plain(it.ext, el, out), true
	}
	return out, true
}

// quantityField navigates to the value or unit of a System.Quantity.
func (n *memberNode) quantityField(q Quantity, out Collection) Collection {
	switch n.name {
	case "value":
		return append(out, Item{v: q.Value, st: sysDecimal})
	case "unit":
		return append(out, stringItem(q.Unit))
	}
	return out
}

func (n *memberNode) element(t fhir.Type) (fhir.Element, bool) {
	if t == n.pred {
		return n.predElem, true
	}
	return t.Element(n.name)
}

// plain appends the values of a non-choice element, each with its _name
// sibling if the element is a primitive.
func (n *memberNode) plain(obj *fhir.Object, el fhir.Element, out Collection) Collection {
	t := el.Type()
	withExt := t.IsPrimitive() && !el.IsSystem()
	var val, ext fhir.Value
	for i := range obj.Members {
		m := &obj.Members[i]
		if m.Key == n.name {
			val = m.Value
		} else if withExt && m.Key == n.extKey {
			ext = m.Value
		}
	}
	sys := sysNone
	if el.IsSystem() {
		sys = sysString
	}
	return appendValues(out, val, ext, t, sys)
}

// appendValues appends a JSON value (or array of values) and its _name
// extension objects as items of type t (or System type sys).
func appendValues(out Collection, val, ext fhir.Value, t fhir.Type, sys sysType) Collection {
	arr, isArr := val.([]fhir.Value)
	exts, extArr := ext.([]fhir.Value)
	if !isArr && !extArr {
		x, _ := ext.(*fhir.Object)
		return appendValue(out, val, x, t, sys)
	}
	count := max(len(arr), len(exts))
	out = slices.Grow(out, count)
	for i := range count {
		var v fhir.Value
		if i < len(arr) {
			v = arr[i]
		}
		var x *fhir.Object
		if i < len(exts) {
			x, _ = exts[i].(*fhir.Object)
		}
		out = appendValue(out, v, x, t, sys)
	}
	return out
}

func appendValue(out Collection, v fhir.Value, ext *fhir.Object, t fhir.Type, sys sysType) Collection {
	switch v := v.(type) {
	case nil:
		if ext == nil {
			return out
		}
	case *fhir.Object:
		return append(out, objectItem(v, t))
	}
	if sys != sysNone {
		return append(out, Item{v: v, st: sys})
	}
	if t == 0 && v != nil {
		// JSON outside the model: its primitives read as System values.
		it := jsonItem(v)
		if it.v == nil {
			return out // a nested array: not FHIR
		}
		it.ext = ext
		return append(out, it)
	}
	return append(out, Item{v: v, ext: ext, ft: t})
}

// choice appends the value of a choice element: the member whose key is the
// element's stem and a type suffix, typed by the suffix.
func (n *memberNode) choice(obj *fhir.Object, el fhir.Element, out Collection) Collection {
	for i := range obj.Members {
		key := obj.Members[i].Key
		if len(key) <= len(n.name) || key[:len(n.name)] != n.name {
			continue
		}
		t := el.ChoiceType(key[len(n.name):])
		if t == 0 {
			continue
		}
		var ext fhir.Value
		if t.IsPrimitive() {
			for j := range obj.Members {
				k := obj.Members[j].Key
				if len(k) == len(key)+1 && k[0] == '_' && k[1:] == key {
					ext = obj.Members[j].Value
				}
			}
		}
		out = appendValues(out, obj.Members[i].Value, ext, t, sysNone)
	}
	return out
}

// untyped navigates JSON the model does not describe, by member name.
func (n *memberNode) untyped(obj *fhir.Object, out Collection) Collection {
	val, _ := obj.Get(n.name)
	ext, _ := obj.Get(n.extKey)
	return appendValues(out, val, ext, 0, sysNone)
}

// indexNode is src[i].
type indexNode struct {
	pos int
	src node
	i   node
}

func (n *indexNode) eval(c *evalCtx, in Collection) (Collection, error) {
	src, err := n.src.eval(c, in)
	if err != nil {
		return nil, err
	}
	idx, err := n.i.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	i, ok, err := singletonInt(c, n.pos, idx)
	if err != nil || !ok {
		return nil, err
	}
	if i < 0 || i >= int64(len(src)) {
		return nil, nil
	}
	return src[i : i+1 : i+1], nil
}

// isNode is x is T.
type isNode struct {
	pos int
	x   node
	t   typeRef
}

func (n *isNode) eval(c *evalCtx, in Collection) (Collection, error) {
	x, err := n.x.eval(c, in)
	if err != nil || len(x) == 0 {
		return nil, err
	}
	if len(x) > 1 {
		return nil, c.errorf(n.pos, "is: expected at most one item, got %d", len(x))
	}
	return boolColl(n.t.matches(x[0])), nil
}

// asNode is x as T. Unlike the as() function, it filters a collection of
// several items like ofType() rather than failing: R4 search parameters
// depend on it (Observation.component.value as Quantity).
type asNode struct {
	pos int
	x   node
	t   typeRef
}

func (n *asNode) eval(c *evalCtx, in Collection) (Collection, error) {
	x, err := n.x.eval(c, in)
	if err != nil || len(x) == 0 {
		return nil, err
	}
	if len(x) == 1 {
		if n.t.matches(x[0]) {
			return x, nil
		}
		return nil, nil
	}
	var out Collection
	for _, it := range x {
		if n.t.matches(it) {
			out = append(out, it)
		}
	}
	return out, nil
}
