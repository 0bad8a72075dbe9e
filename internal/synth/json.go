package synth

import "strconv"

// enc appends compact JSON to b. It keeps track of where a comma is due, so
// that resources read as a sequence of members. Building bytes directly
// rather than a tree is what lets the generator write hundreds of
// thousands of resources a second; tests parse every kind back with the
// fhir package and validate it.
type enc struct {
	b     []byte
	comma bool // a value was just written: the next member or element needs a comma
}

func (e *enc) reset() { e.b, e.comma = e.b[:0], false }

func (e *enc) sep() {
	if e.comma {
		e.b = append(e.b, ',')
	}
}

// key starts the member k.
func (e *enc) key(k string) {
	e.sep()
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
	e.comma = false
}

// open starts an object: a resource, an array element, or after key.
func (e *enc) open() {
	e.sep()
	e.b = append(e.b, '{')
	e.comma = false
}

func (e *enc) close() {
	e.b = append(e.b, '}')
	e.comma = true
}

// obj starts the object member k; close ends it.
func (e *enc) obj(k string) {
	e.key(k)
	e.open()
}

// arr starts the array member k; end ends it.
func (e *enc) arr(k string) {
	e.key(k)
	e.b = append(e.b, '[')
	e.comma = false
}

func (e *enc) end() {
	e.b = append(e.b, ']')
	e.comma = true
}

// str writes the string member k.
func (e *enc) str(k, v string) {
	e.key(k)
	e.quote(v)
}

// strs writes the string array member k.
func (e *enc) strs(k string, vs ...string) {
	e.arr(k)
	for _, v := range vs {
		e.sep()
		e.quote(v)
	}
	e.end()
}

// raw writes the member k with v, already JSON.
func (e *enc) raw(k, v string) {
	e.key(k)
	e.b = append(e.b, v...)
	e.comma = true
}

func (e *enc) boolean(k string, v bool) {
	e.key(k)
	e.b = strconv.AppendBool(e.b, v)
	e.comma = true
}

func (e *enc) integer(k string, v int) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, int64(v), 10)
	e.comma = true
}

// decimal writes v with prec digits after the point.
func (e *enc) decimal(k string, v float64, prec int) {
	e.key(k)
	e.b = strconv.AppendFloat(e.b, v, 'f', prec, 64)
	e.comma = true
}

// quote writes s as a JSON string. The generator's text is its own, so
// escaping is rare; it is still done, as encoding/json does it.
func (e *enc) quote(s string) {
	e.b = append(e.b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		e.b = append(e.b, s[start:i]...)
		switch c {
		case '"', '\\':
			e.b = append(e.b, '\\', c)
		case '\n':
			e.b = append(e.b, '\\', 'n')
		default:
			e.b = append(e.b, `\u00`...)
			e.b = append(e.b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		}
		start = i + 1
	}
	e.b = append(e.b, s[start:]...)
	e.b = append(e.b, '"')
	e.comma = true
}

// A coding is a FHIR Coding.
type coding struct {
	system, code, display string
}

// codings writes the member "coding", unless cs has no code.
func (e *enc) codings(cs ...coding) {
	if len(cs) == 0 || cs[0].code == "" {
		return
	}
	e.arr("coding")
	for _, c := range cs {
		e.open()
		e.str("system", c.system)
		e.str("code", c.code)
		if c.display != "" {
			e.str("display", c.display)
		}
		e.close()
	}
	e.end()
}

// concept writes the CodeableConcept member k.
func (e *enc) concept(k, text string, cs ...coding) {
	e.obj(k)
	e.codings(cs...)
	if text != "" {
		e.str("text", text)
	}
	e.close()
}

// concepts writes the member k as an array of one CodeableConcept.
func (e *enc) concepts(k, text string, cs ...coding) {
	e.arr(k)
	e.open()
	e.codings(cs...)
	if text != "" {
		e.str("text", text)
	}
	e.close()
	e.end()
}

// textConcept writes the CodeableConcept member k that has only text.
func (e *enc) textConcept(k, text string) {
	e.obj(k)
	e.str("text", text)
	e.close()
}

// ref writes the Reference member k.
func (e *enc) ref(k, ref, display string) {
	e.obj(k)
	e.str("reference", ref)
	if display != "" {
		e.str("display", display)
	}
	e.close()
}

// refs writes the member k as an array of one Reference.
func (e *enc) refs(k, ref string) {
	e.arr(k)
	e.open()
	e.str("reference", ref)
	e.close()
	e.end()
}

// quantity writes the UCUM Quantity member k.
func (e *enc) quantity(k string, v float64, prec int, unit, code string) {
	e.obj(k)
	e.decimal("value", v, prec)
	e.str("unit", unit)
	e.str("system", ucum)
	e.str("code", code)
	e.close()
}

// appendPadded appends n in decimal with at least width digits.
func appendPadded(b []byte, n, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
