package fhirpath

import (
	"strconv"

	"kartehub/internal/fhir"
)

// Accessors of item values, for items of a System type and for FHIR
// primitives alike: a FHIR date and a System.Date are both text.

func stringOf(it Item) (string, bool) {
	if it.kind() != sysString {
		return "", false
	}
	s, ok := it.v.(string)
	return s, ok
}

func boolOf(it Item) (bool, bool) {
	if it.kind() != sysBoolean {
		return false, false
	}
	b, ok := it.v.(bool)
	return b, ok
}

func intOf(it Item) (int64, bool) {
	if it.kind() != sysInteger {
		return 0, false
	}
	switch v := it.v.(type) {
	case int64:
		return v, true
	case fhir.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// decimalOf returns a Decimal or an Integer as a decimal.
func decimalOf(it Item) (decimal, bool) {
	switch it.kind() {
	case sysInteger:
		if n, ok := it.v.(int64); ok {
			return decFromInt(n), true
		}
	case sysDecimal:
	default:
		return decimal{}, false
	}
	if n, ok := it.v.(fhir.Number); ok {
		return parseDecimal(string(n))
	}
	return decimal{}, false
}

// dateTimeOf returns a Date, DateTime or Time.
func dateTimeOf(it Item) (dateTime, bool) {
	k := it.kind()
	if k != sysDate && k != sysDateTime && k != sysTime {
		return dateTime{}, false
	}
	s, ok := it.v.(string)
	if !ok {
		return dateTime{}, false
	}
	return parseDateTime(s, k)
}

// itemString converts a primitive item to a string as toString() does.
func itemString(it Item) (string, bool) {
	switch it.kind() {
	case sysString, sysDate, sysDateTime, sysTime:
		s, ok := it.v.(string)
		return s, ok
	case sysBoolean:
		b, ok := it.v.(bool)
		return strconv.FormatBool(b), ok
	case sysInteger:
		n, ok := intOf(it)
		return strconv.FormatInt(n, 10), ok
	case sysDecimal:
		d, ok := decimalOf(it)
		if !ok {
			return "", false
		}
		return d.String(), true
	case sysQuantity:
		q, ok := quantityOf(it)
		if !ok {
			return "", false
		}
		return q.String(), true
	}
	return "", false
}

// kindName names the type of an item for error messages.
func kindName(it Item) string {
	if t := it.Type(); t != "" {
		return t
	}
	if k := it.kind(); k != sysNone {
		return "System." + sysTypeNames[k]
	}
	return "object"
}

// singleton returns the one item of a collection; ok is false if it is
// empty, and more than one item is an error.
func singleton(c *evalCtx, pos int, what string, coll Collection) (Item, bool, error) {
	switch len(coll) {
	case 0:
		return Item{}, false, nil
	case 1:
		return coll[0], true, nil
	}
	return Item{}, false, c.errorf(pos, "%s: expected at most one item, got %d", what, len(coll))
}

// singletonInt returns the Integer in a collection of at most one item.
func singletonInt(c *evalCtx, pos int, coll Collection) (int64, bool, error) {
	it, ok, err := singleton(c, pos, "index", coll)
	if err != nil || !ok {
		return 0, false, err
	}
	n, ok := intOf(it)
	if !ok {
		return 0, false, c.errorf(pos, "expected an Integer, got %s", kindName(it))
	}
	return n, true, nil
}

// truth converts a collection in a Boolean context: empty is unknown, one
// Boolean is itself, one item of another type is true (it exists), and
// more than one item is an error.
func truth(c *evalCtx, pos int, coll Collection) (val, known bool, err error) {
	switch len(coll) {
	case 0:
		return false, false, nil
	case 1:
		if b, ok := boolOf(coll[0]); ok {
			return b, true, nil
		}
		if coll[0].v == nil && coll[0].kind() == sysBoolean {
			return false, false, nil // a boolean with only extensions
		}
		return true, true, nil
	}
	return false, false, c.errorf(pos, "expected a single Boolean, got %d items", len(coll))
}

// strictTruth is truth for contexts that require a Boolean (iif).
func strictTruth(c *evalCtx, pos int, coll Collection) (val, known bool, err error) {
	it, ok, err := singleton(c, pos, "criterion", coll)
	if err != nil || !ok {
		return false, false, err
	}
	b, ok := boolOf(it)
	if !ok {
		return false, false, c.errorf(pos, "expected a Boolean, got %s", kindName(it))
	}
	return b, true, nil
}
