package fhirpath

import (
	"regexp"
	"strconv"
	"strings"
)

// converter converts one item; ok is false when it does not convert.
type converter func(it Item) (Item, bool)

// conversion returns toX() or, with test, convertsToX(): on an empty
// input both are empty, and more than one item is an error.
func conversion(conv converter, test bool) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		it, ok, err := n.input(c, in)
		if err != nil || !ok {
			return nil, err
		}
		r, ok := conv(it)
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return collection(r), nil
	}
}

func toBoolean(it Item) (Item, bool) {
	switch it.kind() {
	case sysBoolean:
		b, ok := boolOf(it)
		return boolItem(b), ok
	case sysInteger, sysDecimal:
		d, ok := decimalOf(it)
		switch {
		case !ok:
			return Item{}, false
		case d.cmp(decFromInt(1)) == 0:
			return boolItem(true), true
		case d.sign() == 0:
			return boolItem(false), true
		}
	case sysString:
		s, _ := stringOf(it)
		switch strings.ToLower(s) {
		case "true", "t", "yes", "y", "1", "1.0":
			return boolItem(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return boolItem(false), true
		}
	}
	return Item{}, false
}

var (
	integerText = regexp.MustCompile(`^[+-]?[0-9]+$`)
	decimalText = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)
)

func toInteger(it Item) (Item, bool) {
	switch it.kind() {
	case sysInteger:
		n, ok := intOf(it)
		return intItem(n), ok
	case sysBoolean:
		b, ok := boolOf(it)
		if b {
			return intItem(1), ok
		}
		return intItem(0), ok
	case sysString:
		s, _ := stringOf(it)
		if integerText.MatchString(s) {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return intItem(n), true
			}
		}
	}
	return Item{}, false
}

func toDecimal(it Item) (Item, bool) {
	switch it.kind() {
	case sysInteger, sysDecimal:
		d, ok := decimalOf(it)
		return decimalItem(d), ok
	case sysBoolean:
		b, ok := boolOf(it)
		if b {
			return decimalItem(decimal{m: bigOne, scale: 0}.rescale(1)), ok
		}
		return decimalItem(decFromInt(0).rescale(1)), ok
	case sysString:
		s, _ := stringOf(it)
		if decimalText.MatchString(s) {
			d, ok := parseDecimal(strings.TrimPrefix(s, "+"))
			return decimalItem(d), ok
		}
	}
	return Item{}, false
}

func toStringItem(it Item) (Item, bool) {
	s, ok := itemString(it)
	return stringItem(s), ok
}

func toDate(it Item) (Item, bool) {
	switch it.kind() {
	case sysDate, sysDateTime:
		d, ok := dateTimeOf(it)
		if !ok {
			return Item{}, false
		}
		return dateTimeItem(d.asDate()), true
	case sysString:
		s, _ := stringOf(it)
		if d, ok := parseDateTime(s, sysDate); ok {
			return dateTimeItem(d), true
		}
		if d, ok := parseDateTime(s, sysDateTime); ok {
			return dateTimeItem(d.asDate()), true
		}
	}
	return Item{}, false
}

// asDate returns the date part of a Date or DateTime.
func (d dateTime) asDate() dateTime {
	e := dateTime{kind: sysDate, prec: min(d.prec, precDay), year: d.year, month: d.month, day: d.day}
	e.truncate()
	return e
}

func toDateTime(it Item) (Item, bool) {
	switch it.kind() {
	case sysDate, sysDateTime:
		d, ok := dateTimeOf(it)
		d.kind = sysDateTime
		return dateTimeItem(d), ok
	case sysString:
		s, _ := stringOf(it)
		if d, ok := parseDateTime(s, sysDateTime); ok {
			return dateTimeItem(d), true
		}
	}
	return Item{}, false
}

func toTime(it Item) (Item, bool) {
	switch it.kind() {
	case sysTime:
		d, ok := dateTimeOf(it)
		return dateTimeItem(d), ok
	case sysString:
		s, _ := stringOf(it)
		if d, ok := parseDateTime(strings.TrimPrefix(s, "T"), sysTime); ok {
			return dateTimeItem(d), true
		}
	}
	return Item{}, false
}

// quantityText is a quantity written as a string: a number and optionally
// a quoted UCUM unit or a calendar keyword.
var quantityText = regexp.MustCompile(`^\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*(?:'([^']*)'|([A-Za-z]+))?\s*$`)

func toQuantity(it Item) (quantity, bool) {
	switch it.kind() {
	case sysQuantity, sysInteger, sysDecimal:
		return quantityOf(it)
	case sysBoolean:
		b, _ := boolOf(it)
		v := decFromInt(0).rescale(1)
		if b {
			v = decFromInt(1).rescale(1)
		}
		return quantity{v, "1"}, true
	case sysString:
		s, _ := stringOf(it)
		m := quantityText.FindStringSubmatch(s)
		if m == nil || (m[3] != "" && !isCalendarKeyword(m[3])) {
			return quantity{}, false
		}
		d, ok := parseDecimal(strings.TrimPrefix(m[1], "+"))
		unit := m[2] + m[3]
		if unit == "" {
			unit = "1"
		}
		return quantity{d, unit}, ok
	}
	return quantity{}, false
}

// fnToQuantity returns toQuantity([unit]) or convertsToQuantity([unit]).
func fnToQuantity(test bool) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		it, ok, err := n.input(c, in)
		if err != nil || !ok {
			return nil, err
		}
		q, ok := toQuantity(it)
		if ok && len(n.args) > 0 {
			unit, given, err := n.argString(c, 0)
			if err != nil {
				return nil, err
			}
			if given {
				q, ok = q.convert(unit)
			}
		}
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return collection(quantityItem(q)), nil
	}
}
