package fhirpath

import (
	"slices"
	"sort"
)

// Limits on what one evaluation builds, so that a hostile resource or
// expression cannot make it run away (aggregate($total.combine($total))
// doubles its collection on every item).
const (
	maxItems     = 100000  // items in one collection
	maxRepeat    = 10000   // items repeat() collects: it compares each new one with all before
	maxStringLen = 1 << 20 // bytes in a computed string
)

// checkSize fails when a function would build more than maxItems items.
func (c *evalCtx) checkSize(pos int, n int) error {
	if n > maxItems {
		return c.errorf(pos, "result of more than %d items", maxItems)
	}
	return nil
}

// checkString fails when a function would build a string longer than maxStringLen.
func (c *evalCtx) checkString(pos int, n int) error {
	if n > maxStringLen {
		return c.errorf(pos, "string result longer than %d bytes", maxStringLen)
	}
	return nil
}

func fnEmpty(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	return boolColl(len(in) == 0), nil
}

func fnExists(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	if len(n.args) == 0 {
		return boolColl(len(in) > 0), nil
	}
	for k := range in {
		v, err := n.argFor(c, 0, in, k)
		if err != nil {
			return nil, err
		}
		if b, known, err := truth(c, n.pos, v); err != nil {
			return nil, err
		} else if known && b {
			return trueColl, nil
		}
	}
	return falseColl, nil
}

func fnAll(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	for k := range in {
		v, err := n.argFor(c, 0, in, k)
		if err != nil {
			return nil, err
		}
		b, known, err := truth(c, n.pos, v)
		if err != nil {
			return nil, err
		}
		if !known || !b {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

// boolsOf returns the input of allTrue() and its kin, which must be Booleans.
func boolsOf(c *evalCtx, n *callNode, in Collection) ([]bool, error) {
	out := make([]bool, 0, len(in))
	for _, it := range in {
		b, ok := boolOf(it)
		if !ok {
			return nil, c.errorf(n.pos, "%s: expected Booleans, got %s", n.name, kindName(it))
		}
		out = append(out, b)
	}
	return out, nil
}

// quantifier returns allTrue (all, want true), anyTrue, allFalse, anyFalse.
func quantifier(all, want bool) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		bs, err := boolsOf(c, n, in)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if all && b != want {
				return falseColl, nil
			}
			if !all && b == want {
				return trueColl, nil
			}
		}
		return boolColl(all), nil
	}
}

var (
	fnAllTrue  = quantifier(true, true)
	fnAnyTrue  = quantifier(false, true)
	fnAllFalse = quantifier(true, false)
	fnAnyFalse = quantifier(false, false)
)

func fnSubsetOf(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	other, err := n.arg(c, 0)
	if err != nil {
		return nil, err
	}
	return boolColl(subset(in, other)), nil
}

func fnSupersetOf(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	other, err := n.arg(c, 0)
	if err != nil {
		return nil, err
	}
	return boolColl(subset(other, in)), nil
}

func subset(a, b Collection) bool {
	for _, it := range a {
		if !contains(b, it) {
			return false
		}
	}
	return true
}

func fnCount(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	return collection(intItem(int64(len(in)))), nil
}

func fnDistinct(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	return distinct(in), nil
}

func fnIsDistinct(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	return boolColl(len(distinct(in)) == len(in)), nil
}

func fnWhere(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	var out Collection
	for k := range in {
		v, err := n.argFor(c, 0, in, k)
		if err != nil {
			return nil, err
		}
		b, known, err := truth(c, n.pos, v)
		if err != nil {
			return nil, err
		}
		if known && b {
			if out == nil {
				out = make(Collection, 0, len(in)-k)
			}
			out = append(out, in[k])
		}
	}
	return out, nil
}

func fnSelect(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	if len(in) == 1 {
		return n.argFor(c, 0, in, 0)
	}
	var out Collection
	for k := range in {
		v, err := n.argFor(c, 0, in, k)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
		if err := c.checkSize(n.pos, len(out)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func fnRepeat(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	var out Collection
	for queue := in; len(queue) > 0; {
		var next Collection
		for k := range queue {
			v, err := n.argFor(c, 0, queue, k)
			if err != nil {
				return nil, err
			}
			for _, it := range v {
				if !contains(out, it) {
					out = append(out, it)
					next = append(next, it)
				}
			}
			if len(out) > maxRepeat {
				return nil, c.errorf(n.pos, "repeat: more than %d items", maxRepeat)
			}
		}
		queue = next
	}
	return out, nil
}

func fnOfType(_ *evalCtx, n *callNode, in Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		if n.typ.matches(it) {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnAggregate(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	var total Collection
	if len(n.args) > 1 {
		var err error
		if total, err = n.arg(c, 1); err != nil {
			return nil, err
		}
	}
	saved := c.total
	defer func() { c.total = saved }()
	for k := range in {
		c.total = total
		v, err := n.argFor(c, 0, in, k)
		if err != nil {
			return nil, err
		}
		total = v
	}
	return total, nil
}

// fnSort sorts by the natural order of the items, or by keys; an item
// whose key is empty sorts first.
func fnSort(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	keys := make([][]Collection, len(in))
	for k := range in {
		keys[k] = make([]Collection, len(n.args))
		for i := range n.args {
			v, err := n.argFor(c, i, in, k)
			if err != nil {
				return nil, err
			}
			if len(v) > 1 {
				return nil, c.errorf(n.pos, "sort: key %d gives %d items", i+1, len(v))
			}
			keys[k][i] = v
		}
	}
	idx := make([]int, len(in))
	for i := range idx {
		idx[i] = i
	}
	var sortErr error
	sort.SliceStable(idx, func(x, y int) bool {
		cmp, err := compareKeys(in, keys, idx[x], idx[y], n.desc)
		if err != nil && sortErr == nil {
			sortErr = c.errorf(n.pos, "sort: %v", err)
		}
		return cmp < 0
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make(Collection, len(in))
	for i, j := range idx {
		out[i] = in[j]
	}
	return out, nil
}

type sortError string

func (e sortError) Error() string { return string(e) }

// compareKeys orders items a and b of a sort by their keys, or by
// themselves when there are none.
func compareKeys(in Collection, keys [][]Collection, a, b int, desc []bool) (int, error) {
	if len(desc) == 0 {
		return compareSortValues(collection(in[a]), collection(in[b]))
	}
	for i := range desc {
		cmp, err := compareSortValues(keys[a][i], keys[b][i])
		if err != nil {
			return 0, err
		}
		if cmp != 0 {
			if desc[i] && len(keys[a][i]) > 0 && len(keys[b][i]) > 0 {
				cmp = -cmp
			}
			return cmp, nil
		}
	}
	return 0, nil
}

func compareSortValues(x, y Collection) (int, error) {
	switch {
	case len(x) == 0 && len(y) == 0:
		return 0, nil
	case len(x) == 0:
		return -1, nil
	case len(y) == 0:
		return 1, nil
	}
	cmp, _, ok := compareItems(x[0], y[0])
	if !ok {
		return 0, sortError("cannot compare " + kindName(x[0]) + " with " + kindName(y[0]))
	}
	return cmp, nil
}

func fnSingle(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	if len(in) > 1 {
		return nil, c.errorf(n.pos, "single: expected at most one item, got %d", len(in))
	}
	return in, nil
}

func fnFirst(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return in[:1:1], nil
}

func fnLast(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return in[len(in)-1 : len(in) : len(in)], nil
}

func fnTail(_ *evalCtx, _ *callNode, in Collection) (Collection, error) {
	if len(in) < 2 {
		return nil, nil
	}
	return in[1:len(in):len(in)], nil
}

func fnSkip(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	k, ok, err := n.argInt(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	switch {
	case k <= 0:
		return in, nil
	case k >= int64(len(in)):
		return nil, nil
	}
	return in[k:len(in):len(in)], nil
}

func fnTake(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	k, ok, err := n.argInt(c, 0)
	if err != nil || !ok || k <= 0 {
		return nil, err
	}
	if k >= int64(len(in)) {
		return in, nil
	}
	return in[:k:k], nil
}

func fnIntersect(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	other, err := n.arg(c, 0)
	if err != nil {
		return nil, err
	}
	var out Collection
	for _, it := range in {
		if contains(other, it) && !contains(out, it) {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnExclude(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	other, err := n.arg(c, 0)
	if err != nil {
		return nil, err
	}
	var out Collection
	for _, it := range in {
		if !contains(other, it) {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnUnion(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	other, err := n.arg(c, 0)
	if err != nil {
		return nil, err
	}
	if err := c.checkSize(n.pos, len(in)+len(other)); err != nil {
		return nil, err
	}
	return union(in, other), nil
}

func fnCombine(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	other, err := n.arg(c, 0)
	if err != nil {
		return nil, err
	}
	if len(other) == 0 {
		return in, nil
	}
	if err := c.checkSize(n.pos, len(in)+len(other)); err != nil {
		return nil, err
	}
	return append(slices.Clip(in), other...), nil
}

// fnIif evaluates its criterion with the input (at most one item) as $this
// and focus, then only the branch it selects.
func fnIif(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	if len(in) > 1 {
		return nil, c.errorf(n.pos, "iif: expected at most one input item, got %d", len(in))
	}
	saved := c.this
	c.this = in[:len(in):len(in)]
	defer func() { c.this = saved }()
	crit, err := n.args[0].eval(c, c.this)
	if err != nil {
		return nil, err
	}
	b, known, err := strictTruth(c, n.pos, crit)
	if err != nil {
		return nil, err
	}
	switch {
	case known && b:
		return n.args[1].eval(c, c.this)
	case len(n.args) > 2:
		return n.args[2].eval(c, c.this)
	}
	return nil, nil
}

func fnNot(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	b, known, err := truth(c, n.pos, in)
	if err != nil || !known {
		return nil, err
	}
	return boolColl(!b), nil
}

func fnTrace(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	name, _, err := n.argString(c, 0)
	if err != nil {
		return nil, err
	}
	if c.opts.Trace == nil {
		return in, nil
	}
	logged := in
	if len(n.args) > 1 {
		logged = nil
		for k := range in {
			v, err := n.argFor(c, 1, in, k)
			if err != nil {
				return nil, err
			}
			logged = append(logged, v...)
		}
	}
	c.opts.Trace(name, logged)
	return in, nil
}
