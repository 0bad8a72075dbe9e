package fhirpath

import (
	"math"
	"math/big"
)

// inputNumber returns the Integer or Decimal a math function applies to.
func (n *callNode) inputNumber(c *evalCtx, in Collection) (Item, bool, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok || it.v == nil {
		return Item{}, false, err
	}
	if k := it.kind(); !isNumber(k) {
		return Item{}, false, c.errorf(n.pos, "%s: input must be a number, got %s", n.name, kindName(it))
	}
	return it, true, nil
}

func fnAbs(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok {
		return nil, err
	}
	switch it.kind() {
	case sysInteger:
		v, _ := intOf(it)
		if v == math.MinInt64 {
			return nil, nil
		}
		return collection(intItem(max(v, -v))), nil
	case sysDecimal:
		d, _ := decimalOf(it)
		if d.sign() < 0 {
			d = d.neg()
		}
		return collection(decimalItem(d)), nil
	case sysQuantity:
		q, ok := quantityOf(it)
		if !ok {
			return nil, nil
		}
		if q.v.sign() < 0 {
			q.v = q.v.neg()
		}
		return collection(quantityItem(q)), nil
	}
	return nil, c.errorf(n.pos, "abs: input must be a number or quantity, got %s", kindName(it))
}

// mathInt returns ceiling(), floor() or truncate(), which give Integers.
func mathInt(f func(decimal, int) decimal) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		it, ok, err := n.inputNumber(c, in)
		if err != nil || !ok {
			return nil, err
		}
		if it.kind() == sysInteger {
			v, _ := intOf(it)
			return collection(intItem(v)), nil
		}
		d, _ := decimalOf(it)
		v, ok := f(d, 0).int64()
		if !ok {
			return nil, nil
		}
		return collection(intItem(v)), nil
	}
}

func fnRound(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.inputNumber(c, in)
	if err != nil || !ok {
		return nil, err
	}
	places := int64(0)
	if len(n.args) > 0 {
		p, ok, err := n.argInt(c, 0)
		if err != nil || !ok {
			return nil, err
		}
		if p < 0 || p > maxDecimalScale {
			return nil, c.errorf(n.pos, "round: precision must be between 0 and %d", maxDecimalScale)
		}
		places = p
	}
	d, _ := decimalOf(it)
	return collection(decimalItem(d.round(int(places)))), nil
}

func mathExp(x float64) float64  { return math.Exp(x) }
func mathLn(x float64) float64   { return math.Log(x) }
func mathSqrt(x float64) float64 { return math.Sqrt(x) }

// mathFloat returns exp(), ln() or sqrt(): Decimal results computed in
// floating point, empty where the function is undefined.
func mathFloat(f func(float64) float64) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		it, ok, err := n.inputNumber(c, in)
		if err != nil || !ok {
			return nil, err
		}
		d, _ := decimalOf(it)
		r, ok := decFromFloat(f(d.float()))
		if !ok {
			return nil, nil
		}
		return collection(decimalItem(r)), nil
	}
}

// numberArg evaluates argument i, which must be a number or empty.
func (n *callNode) numberArg(c *evalCtx, i int) (Item, bool, error) {
	it, ok, err := n.argItem(c, i)
	if err != nil || !ok {
		return Item{}, false, err
	}
	if !isNumber(it.kind()) {
		return Item{}, false, c.errorf(n.pos, "%s: argument must be a number, got %s", n.name, kindName(it))
	}
	return it, true, nil
}

func fnLog(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.inputNumber(c, in)
	if err != nil || !ok {
		return nil, err
	}
	base, ok, err := n.numberArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	x, _ := decimalOf(it)
	b, _ := decimalOf(base)
	r, ok := decFromFloat(math.Log(x.float()) / math.Log(b.float()))
	if !ok {
		return nil, nil
	}
	return collection(decimalItem(r)), nil
}

func fnPower(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.inputNumber(c, in)
	if err != nil || !ok {
		return nil, err
	}
	exp, ok, err := n.numberArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	if it.kind() == sysInteger && exp.kind() == sysInteger {
		x, _ := intOf(it)
		e, _ := intOf(exp)
		if e >= 0 && e <= 64 {
			r := new(big.Int).Exp(big.NewInt(x), big.NewInt(e), nil)
			if r.IsInt64() {
				return collection(intItem(r.Int64())), nil
			}
			return nil, nil
		}
	}
	x, _ := decimalOf(it)
	e, _ := decimalOf(exp)
	r, ok := decFromFloat(math.Pow(x.float(), e.float()))
	if !ok {
		return nil, nil
	}
	return collection(decimalItem(r)), nil
}

// fnSum adds numbers or quantities; the sum of nothing is empty.
func fnSum(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	total := in[:1:1]
	add := &binaryNode{pos: n.pos, op: "+"}
	for _, it := range in[1:] {
		var err error
		if total, err = opArith(c, add, total, collection(it)); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func fnAvg(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	sum, err := fnSum(c, n, in)
	if err != nil || len(sum) == 0 {
		return nil, err
	}
	div := &binaryNode{pos: n.pos, op: "/"}
	return opArith(c, div, sum, collection(intItem(int64(len(in)))))
}

// fnMinMax returns min() (sign -1) or max() (sign 1).
func fnMinMax(sign int) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		best := in[0]
		for _, it := range in[1:] {
			cmp, known, ok := compareItems(it, best)
			if !ok {
				return nil, c.errorf(n.pos, "%s: cannot compare %s with %s", n.name, kindName(it), kindName(best))
			}
			if !known {
				return nil, nil
			}
			if cmp*sign > 0 {
				best = it
			}
		}
		return collection(best), nil
	}
}
