package fhirpath

// opFunc evaluates a binary operator on its evaluated operands.
type opFunc func(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error)

// binaryNode is x op y. Both operands are evaluated with the same focus,
// except that and, or and implies skip y when x decides the result.
type binaryNode struct {
	pos  int
	op   string
	x, y node
	fn   opFunc
}

var binaryOps = map[string]opFunc{
	"=": opEqual, "!=": opNotEqual, "~": opEquivalent, "!~": opNotEquivalent,
	"<": opCompare, "<=": opCompare, ">": opCompare, ">=": opCompare,
	"|": opUnion, "in": opIn, "contains": opContains,
	"+": opArith, "-": opArith, "*": opArith, "/": opArith, "div": opArith, "mod": opArith,
	"&": opConcat, "xor": opXor,
}

func (c *compiler) binary(e *expr, focus static) (node, static, error) {
	x, sx, err := c.compile(e.x, focus)
	if err != nil {
		return nil, static{}, err
	}
	y, sy, err := c.compile(e.y, focus)
	if err != nil {
		return nil, static{}, err
	}
	n := &binaryNode{pos: e.pos, op: e.op, x: x, y: y, fn: binaryOps[e.op]}
	switch e.op {
	case "and", "or", "implies":
		return &logicNode{binaryNode: *n}, static{}, nil
	case "|":
		if sx.t == sy.t {
			return n, static{t: sx.t}, nil
		}
	}
	return n, static{}, nil
}

func (n *binaryNode) eval(c *evalCtx, in Collection) (Collection, error) {
	x, err := n.x.eval(c, in)
	if err != nil {
		return nil, err
	}
	y, err := n.y.eval(c, in)
	if err != nil {
		return nil, err
	}
	return n.fn(c, n, x, y)
}

func opEqual(_ *evalCtx, _ *binaryNode, x, y Collection) (Collection, error) {
	eq, known := equalCollections(x, y)
	if !known {
		return nil, nil
	}
	return boolColl(eq), nil
}

func opNotEqual(_ *evalCtx, _ *binaryNode, x, y Collection) (Collection, error) {
	eq, known := equalCollections(x, y)
	if !known {
		return nil, nil
	}
	return boolColl(!eq), nil
}

func opEquivalent(_ *evalCtx, _ *binaryNode, x, y Collection) (Collection, error) {
	return boolColl(equivalentCollections(x, y)), nil
}

func opNotEquivalent(_ *evalCtx, _ *binaryNode, x, y Collection) (Collection, error) {
	return boolColl(!equivalentCollections(x, y)), nil
}

func opCompare(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	a, oka, err := singleton(c, n.pos, n.op, x)
	if err != nil {
		return nil, err
	}
	b, okb, err := singleton(c, n.pos, n.op, y)
	if err != nil || !oka || !okb {
		return nil, err
	}
	cmp, known, ok := compareItems(a, b)
	if !ok {
		return nil, c.errorf(n.pos, "cannot compare %s with %s", kindName(a), kindName(b))
	}
	if !known {
		return nil, nil
	}
	switch n.op {
	case "<":
		return boolColl(cmp < 0), nil
	case "<=":
		return boolColl(cmp <= 0), nil
	case ">":
		return boolColl(cmp > 0), nil
	}
	return boolColl(cmp >= 0), nil
}

func opUnion(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	if err := c.checkSize(n.pos, len(x)+len(y)); err != nil {
		return nil, err
	}
	return union(x, y), nil
}

// union merges two collections without repeated items.
func union(x, y Collection) Collection {
	if len(y) == 0 {
		return distinct(x)
	}
	out := make(Collection, 0, len(x)+len(y))
	for _, it := range x {
		if !contains(out, it) {
			out = append(out, it)
		}
	}
	for _, it := range y {
		if !contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

func opIn(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	return membership(c, n, x, y)
}

func opContains(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	return membership(c, n, y, x)
}

// membership is item in coll.
func membership(c *evalCtx, n *binaryNode, item, coll Collection) (Collection, error) {
	it, ok, err := singleton(c, n.pos, n.op, item)
	if err != nil || !ok {
		return nil, err
	}
	return boolColl(contains(coll, it)), nil
}

func opConcat(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	a, err := concatOperand(c, n, x)
	if err != nil {
		return nil, err
	}
	b, err := concatOperand(c, n, y)
	if err != nil {
		return nil, err
	}
	if err := c.checkString(n.pos, len(a)+len(b)); err != nil {
		return nil, err
	}
	return collection(stringItem(a + b)), nil
}

// concatOperand returns an operand of &: empty counts as "".
func concatOperand(c *evalCtx, n *binaryNode, coll Collection) (string, error) {
	it, ok, err := singleton(c, n.pos, "&", coll)
	if err != nil || !ok {
		return "", err
	}
	s, ok := stringOf(it)
	if !ok {
		return "", c.errorf(n.pos, "&: expected a String, got %s", kindName(it))
	}
	return s, nil
}

// logicNode is and, or and implies, which can decide from x alone.
type logicNode struct{ binaryNode }

func (n *logicNode) eval(c *evalCtx, in Collection) (Collection, error) {
	x, err := n.x.eval(c, in)
	if err != nil {
		return nil, err
	}
	a, ka, err := truth(c, n.pos, x)
	if err != nil {
		return nil, err
	}
	switch {
	case n.op == "and" && ka && !a:
		return falseColl, nil
	case n.op == "or" && ka && a:
		return trueColl, nil
	case n.op == "implies" && ka && !a:
		return trueColl, nil
	}
	y, err := n.y.eval(c, in)
	if err != nil {
		return nil, err
	}
	b, kb, err := truth(c, n.pos, y)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and":
		if kb && !b {
			return falseColl, nil
		}
		if ka && kb {
			return trueColl, nil
		}
	case "or":
		if kb && b {
			return trueColl, nil
		}
		if ka && kb {
			return falseColl, nil
		}
	case "implies":
		if kb && b {
			return trueColl, nil
		}
		if ka && kb {
			return falseColl, nil
		}
	}
	return nil, nil
}

func opXor(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	a, ka, err := truth(c, n.pos, x)
	if err != nil {
		return nil, err
	}
	b, kb, err := truth(c, n.pos, y)
	if err != nil || !ka || !kb {
		return nil, err
	}
	return boolColl(a != b), nil
}

// unaryNode is -x or +x.
type unaryNode struct {
	pos int
	neg bool
	x   node
}

func (c *compiler) unary(e *expr, focus static) (node, static, error) {
	x, _, err := c.compile(e.x, focus)
	if err != nil {
		return nil, static{}, err
	}
	n := &unaryNode{pos: e.pos, neg: e.op == "-", x: x}
	if lit, ok := x.(literalNode); ok && len(lit.c) == 1 {
		// Fold -1 and -1.5 'mg' into literals.
		if v, err := n.apply(nil, lit.c); err == nil {
			return literalNode{v}, static{}, nil
		}
	}
	return n, static{}, nil
}

func (n *unaryNode) eval(c *evalCtx, in Collection) (Collection, error) {
	x, err := n.x.eval(c, in)
	if err != nil {
		return nil, err
	}
	return n.apply(c, x)
}

// apply negates (or, for +, checks) a number or quantity. c is nil when
// folding constants, which cannot fail but for the type.
func (n *unaryNode) apply(c *evalCtx, x Collection) (Collection, error) {
	if len(x) == 0 {
		return nil, nil
	}
	errorf := func(format string, args ...any) error {
		if c == nil {
			return &Error{Pos: n.pos, Msg: "constant"}
		}
		return c.errorf(n.pos, format, args...)
	}
	if len(x) > 1 {
		return nil, errorf("unary %s: expected at most one item, got %d", map[bool]string{true: "-", false: "+"}[n.neg], len(x))
	}
	it := x[0]
	switch it.kind() {
	case sysInteger:
		v, ok := intOf(it)
		if !ok {
			return nil, nil
		}
		if n.neg {
			v = -v
		}
		return collection(intItem(v)), nil
	case sysDecimal:
		d, ok := decimalOf(it)
		if !ok {
			return nil, nil
		}
		if n.neg {
			d = d.neg()
		}
		return collection(decimalItem(d)), nil
	case sysQuantity:
		q, ok := quantityOf(it)
		if !ok {
			return nil, nil
		}
		if n.neg {
			q.v = q.v.neg()
		}
		return collection(quantityItem(q)), nil
	}
	return nil, errorf("unary operator on %s", kindName(it))
}
