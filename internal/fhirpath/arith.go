package fhirpath

import "math"

// opArith evaluates +, -, *, /, div and mod: on Integers and Decimals, on
// Quantities (converting units), on Strings (+ concatenates), and on
// date/times plus or minus a time-valued Quantity.
func opArith(c *evalCtx, n *binaryNode, x, y Collection) (Collection, error) {
	a, oka, err := singleton(c, n.pos, n.op, x)
	if err != nil {
		return nil, err
	}
	b, okb, err := singleton(c, n.pos, n.op, y)
	if err != nil || !oka || !okb {
		return nil, err
	}
	ka, kb := a.kind(), b.kind()
	if a.v == nil || b.v == nil {
		return nil, nil
	}
	switch {
	case ka == sysInteger && kb == sysInteger:
		return intArith(c, n, a, b)
	case isNumber(ka) && isNumber(kb):
		da, _ := decimalOf(a)
		db, _ := decimalOf(b)
		return decimalArith(c, n, da, db)
	case ka == sysString && kb == sysString && n.op == "+":
		sa, _ := stringOf(a)
		sb, _ := stringOf(b)
		if err := c.checkString(n.pos, len(sa)+len(sb)); err != nil {
			return nil, err
		}
		return collection(stringItem(sa + sb)), nil
	case isDateKind(ka) && kb == sysQuantity && (n.op == "+" || n.op == "-"):
		return dateArith(c, n, a, b)
	case (ka == sysQuantity || isNumber(ka)) && (kb == sysQuantity || isNumber(kb)):
		return quantityArith(c, n, a, b)
	}
	return nil, c.errorf(n.pos, "cannot apply %s to %s and %s", n.op, kindName(a), kindName(b))
}

func intArith(c *evalCtx, n *binaryNode, a, b Item) (Collection, error) {
	x, _ := intOf(a)
	y, _ := intOf(b)
	var r int64
	switch n.op {
	case "+":
		r = x + y
		if (r > x) != (y > 0) {
			return nil, nil // overflow
		}
	case "-":
		r = x - y
		if (r < x) != (y > 0) {
			return nil, nil
		}
	case "*":
		if x != 0 && y != 0 {
			r = x * y
			if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return nil, nil
			}
		}
	case "/":
		return decimalArith(c, n, decFromInt(x), decFromInt(y))
	case "div", "mod":
		if y == 0 || (x == math.MinInt64 && y == -1) {
			return nil, nil
		}
		if n.op == "div" {
			r = x / y
		} else {
			r = x % y
		}
	}
	return collection(intItem(r)), nil
}

// maxDecimalBits bounds the mantissa of computed decimals (about 1200
// digits): beyond it, arithmetic gives empty, as integer overflow does.
const maxDecimalBits = 4096

func decimalResult(d decimal) Collection {
	if d.m.BitLen() > maxDecimalBits {
		return nil
	}
	return collection(decimalItem(d))
}

func decimalArith(c *evalCtx, n *binaryNode, x, y decimal) (Collection, error) {
	switch n.op {
	case "+":
		return decimalResult(x.add(y)), nil
	case "-":
		return decimalResult(x.sub(y)), nil
	case "*":
		return decimalResult(x.mul(y)), nil
	}
	if y.sign() == 0 {
		return nil, nil
	}
	switch n.op {
	case "/":
		return decimalResult(x.quo(y)), nil
	case "div":
		q, ok := x.quo(y).truncTo(0).int64()
		if !ok {
			return nil, nil
		}
		return collection(intItem(q)), nil
	}
	// mod: x - y * trunc(x / y), exact.
	q := x.quo(y).truncTo(0)
	return decimalResult(x.sub(y.mul(q))), nil
}

func quantityArith(c *evalCtx, n *binaryNode, a, b Item) (Collection, error) {
	qa, oka := quantityOf(a)
	qb, okb := quantityOf(b)
	if !oka || !okb || qa.v.m.BitLen() > maxDecimalBits || qb.v.m.BitLen() > maxDecimalBits {
		return nil, nil
	}
	switch n.op {
	case "+", "-":
		r, ok := addQuantities(qa, qb, n.op == "-")
		if !ok {
			return nil, c.errorf(n.pos, "cannot %s %s and %s: units not comparable", map[string]string{"+": "add", "-": "subtract"}[n.op], qa, qb)
		}
		return collection(quantityItem(r)), nil
	case "*":
		return collection(quantityItem(quantity{qa.v.mul(qb.v), productUnit(qa.unit, qb.unit, false)})), nil
	case "/":
		if qb.v.sign() == 0 {
			return nil, nil
		}
		return collection(quantityItem(quantity{qa.v.quo(qb.v), productUnit(qa.unit, qb.unit, true)})), nil
	}
	return nil, c.errorf(n.pos, "cannot apply %s to quantities", n.op)
}

// dateArith adds a time-valued quantity to a date/time. The decimal part
// of the amount is dropped (7.7 days is 7 days), as FHIRPath specifies.
func dateArith(c *evalCtx, n *binaryNode, a, b Item) (Collection, error) {
	d, ok := dateTimeOf(a)
	if !ok {
		return nil, nil
	}
	q, ok := quantityOf(b)
	if !ok {
		return nil, nil
	}
	unit, ok := calendarUnits[q.unit]
	if !ok {
		return nil, c.errorf(n.pos, "cannot add %s to a date/time: not a calendar duration (UCUM a and mo are not)", q)
	}
	amount, ok := q.v.truncTo(0).int64()
	if !ok {
		return nil, c.errorf(n.pos, "duration %s out of range", q)
	}
	if n.op == "-" {
		amount = -amount
	}
	r, ok := d.addDuration(amount, unit)
	if !ok {
		return nil, c.errorf(n.pos, "cannot add %s to %s", q, d)
	}
	return collection(dateTimeItem(r)), nil
}
