package fhirpath

import "strings"

// maxBoundaryPrecision is the largest precision lowBoundary() and
// highBoundary() accept for decimals.
const maxBoundaryPrecision = 28

// fnBoundary returns lowBoundary() or, with high, highBoundary(): the
// least or greatest value the input may stand for given its precision,
// to the precision asked (decimal places; digits of a date/time).
func fnBoundary(high bool) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		it, ok, err := n.input(c, in)
		if err != nil || !ok || it.v == nil {
			return nil, err
		}
		prec, hasPrec := int64(-1), false
		if len(n.args) > 0 {
			p, ok, err := n.argInt(c, 0)
			if err != nil {
				return nil, err
			}
			prec, hasPrec = p, ok
		}
		switch k := it.kind(); {
		case isNumber(k):
			d, _ := decimalOf(it)
			r, ok := decimalBoundary(d, prec, hasPrec, high)
			if !ok {
				return nil, nil
			}
			return collection(decimalItem(r)), nil
		case k == sysQuantity:
			q, ok := quantityOf(it)
			if !ok {
				return nil, nil
			}
			if q.v, ok = decimalBoundary(q.v, prec, hasPrec, high); !ok {
				return nil, nil
			}
			return collection(quantityItem(q)), nil
		case isDateKind(k):
			d, _ := dateTimeOf(it)
			r, ok := dateBoundary(d, prec, hasPrec, high)
			if !ok {
				return nil, nil
			}
			return collection(dateTimeItem(r)), nil
		}
		return nil, c.errorf(n.pos, "%s: input must be a number, quantity or date/time, got %s", n.name, kindName(it))
	}
}

// decimalBoundary widens d by half a unit in its last place, then rounds
// outward to prec places (8 by default).
func decimalBoundary(d decimal, prec int64, hasPrec, high bool) (decimal, bool) {
	if !hasPrec {
		prec = divScale
	}
	if prec < 0 || prec > maxBoundaryPrecision {
		return decimal{}, false
	}
	half := decimal{m: decFromInt(5).m, scale: d.scale + 1}
	b := d.sub(half)
	if high {
		b = d.add(half)
	}
	p := int(prec)
	if p >= b.scale {
		return b.rescale(p), true
	}
	if high {
		return b.ceilTo(p), true
	}
	return b.floorTo(p), true
}

// dateDigits maps the precision of a date/time to its number of digits,
// the unit of lowBoundary() precision for them.
func dateDigits(kind sysType, p precision) int {
	if kind == sysTime {
		return [...]int{precHour: 2, precMinute: 4, precSecond: 6, precMilli: 9}[p]
	}
	return [...]int{precYear: 4, precMonth: 6, precDay: 8, precHour: 10, precMinute: 12, precSecond: 14, precMilli: 17}[p]
}

// precisionOfDigits is the inverse of dateDigits.
func precisionOfDigits(kind sysType, digits int) (precision, bool) {
	for p := precYear; p <= precMilli; p++ {
		if (kind == sysTime && p < precHour) || (kind == sysDate && p > precDay) {
			continue
		}
		if dateDigits(kind, p) == digits {
			return p, true
		}
	}
	return 0, false
}

// dateBoundary fills the fields of d beyond its precision with their least
// (or greatest) values, up to the precision asked; a DateTime with a time
// but no offset takes the extreme offset, +14:00 (or -12:00).
func dateBoundary(d dateTime, digits int64, hasPrec, high bool) (dateTime, bool) {
	target := precMilli
	if d.kind == sysDate {
		target = precDay
	}
	if hasPrec {
		p, ok := precisionOfDigits(d.kind, int(digits))
		if !ok {
			return dateTime{}, false
		}
		target = p
	}
	e := d
	for p := d.prec + 1; p <= target; p++ {
		e.fill(p, high)
	}
	e.prec = target
	e.truncate()
	if e.kind == sysDateTime && target >= precHour && !e.tz {
		e.tz, e.offset = true, 14*60
		if high {
			e.offset = -12 * 60
		}
	}
	return e, true
}

// fill sets field p to its least or greatest value.
func (d *dateTime) fill(p precision, high bool) {
	switch p {
	case precMonth:
		d.month = pick(high, 1, 12)
	case precDay:
		d.day = pick(high, 1, daysIn(d.year, max(d.month, 1)))
	case precHour:
		d.hour = pick(high, 0, 23)
	case precMinute:
		d.minute = pick(high, 0, 59)
	case precSecond:
		d.sec = pick(high, 0, 59)
	case precMilli:
		d.milli = pick(high, 0, 999)
	}
}

func pick(high bool, low, hi int) int {
	if high {
		return hi
	}
	return low
}

// fnPrecision returns the number of decimal places of a decimal, or of
// digits of a date/time.
func fnPrecision(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok || it.v == nil {
		return nil, err
	}
	switch k := it.kind(); {
	case isNumber(k):
		d, _ := decimalOf(it)
		return collection(intItem(int64(d.scale))), nil
	case isDateKind(k):
		d, _ := dateTimeOf(it)
		return collection(intItem(int64(dateDigits(d.kind, d.prec)))), nil
	}
	return nil, c.errorf(n.pos, "precision: input must be a decimal or date/time, got %s", kindName(it))
}

// fnComparable reports whether two quantities have comparable units.
func fnComparable(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok {
		return nil, err
	}
	other, ok, err := n.argItem(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	qa, oka := quantityOf(it)
	qb, okb := quantityOf(other)
	if !oka || !okb {
		return nil, c.errorf(n.pos, "comparable: expects quantities")
	}
	if qa.unit == qb.unit {
		return trueColl, nil
	}
	_, da, oka := qa.base()
	_, db, okb := qb.base()
	return boolColl(oka && okb && da == db && !strings.HasPrefix(qa.unit, "{")), nil
}
