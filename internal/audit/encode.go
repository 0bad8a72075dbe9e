package audit

import (
	"strconv"
	"unicode/utf8"
)

// The AuditEvent is written by hand rather than by encoding/json, whose
// reflection cost as much as the rest of recording an event. The bytes are
// those that encoding/json writes for the same structs with HTML escaping
// off (event_internal_test.go holds the two to that): fields in struct
// order, omitempty where the struct tags say so.

// appendJSON appends the AuditEvent as JSON.
func (ae *auditEvent) appendJSON(b []byte) []byte {
	b = append(b, `{"resourceType":`...)
	b = appendString(b, ae.ResourceType)
	b = append(b, `,"type":`...)
	b = ae.Type.appendJSON(b)
	if len(ae.Subtype) > 0 {
		b = append(b, `,"subtype":`...)
		b = appendCodings(b, ae.Subtype)
	}
	b = appendField(b, "action", ae.Action)
	b = append(b, `,"recorded":`...)
	b = appendString(b, ae.Recorded)
	b = appendField(b, "outcome", ae.Outcome)
	b = appendField(b, "outcomeDesc", ae.OutcomeDesc)
	b = append(b, `,"agent":`...)
	if ae.Agent == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range ae.Agent {
			if i > 0 {
				b = append(b, ',')
			}
			b = ae.Agent[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"source":`...)
	b = ae.Source.appendJSON(b)
	if len(ae.Entity) > 0 {
		b = append(b, `,"entity":[`...)
		for i := range ae.Entity {
			if i > 0 {
				b = append(b, ',')
			}
			b = ae.Entity[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// object starts or continues an object's members: it writes the comma
// before every member but the first and the member's name.
type object struct{ started bool }

func (o *object) key(b []byte, name string) []byte {
	if o.started {
		b = append(b, ',')
	}
	o.started = true
	b = append(b, '"')
	b = append(b, name...)
	return append(b, `":`...)
}

// str writes a string member unless it is empty (omitempty).
func (o *object) str(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(o.key(b, name), v)
}

// appendField writes a string member after others unless it is empty.
func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":`...)
	return appendString(b, v)
}

func (c *coding) appendJSON(b []byte) []byte {
	var o object
	b = append(b, '{')
	b = o.str(b, "system", c.System)
	b = o.str(b, "code", c.Code)
	b = o.str(b, "display", c.Display)
	return append(b, '}')
}

func appendCodings(b []byte, cs []coding) []byte {
	b = append(b, '[')
	for i := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = cs[i].appendJSON(b)
	}
	return append(b, ']')
}

func (c *codeableConcept) appendJSON(b []byte) []byte {
	var o object
	b = append(b, '{')
	if len(c.Coding) > 0 {
		b = appendCodings(o.key(b, "coding"), c.Coding)
	}
	b = o.str(b, "text", c.Text)
	return append(b, '}')
}

func appendConcepts(b []byte, cs []codeableConcept) []byte {
	b = append(b, '[')
	for i := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = cs[i].appendJSON(b)
	}
	return append(b, ']')
}

func (r *reference) appendJSON(b []byte) []byte {
	var o object
	b = append(b, '{')
	b = o.str(b, "reference", r.Reference)
	b = o.str(b, "type", r.Type)
	if id := r.Identifier; id != nil {
		var oi object
		b = append(o.key(b, "identifier"), '{')
		b = oi.str(b, "system", id.System)
		b = oi.str(b, "value", id.Value)
		b = append(b, '}')
	}
	b = o.str(b, "display", r.Display)
	return append(b, '}')
}

func (a *agent) appendJSON(b []byte) []byte {
	var o object
	b = append(b, '{')
	if a.Type != nil {
		b = a.Type.appendJSON(o.key(b, "type"))
	}
	if len(a.Role) > 0 {
		b = appendConcepts(o.key(b, "role"), a.Role)
	}
	if a.Who != nil {
		b = a.Who.appendJSON(o.key(b, "who"))
	}
	b = o.str(b, "altId", a.AltID)
	b = o.str(b, "name", a.Name)
	b = strconv.AppendBool(o.key(b, "requestor"), a.Requestor)
	if a.Location != nil {
		b = a.Location.appendJSON(o.key(b, "location"))
	}
	if n := a.Network; n != nil {
		var on object
		b = append(o.key(b, "network"), '{')
		b = on.str(b, "address", n.Address)
		b = on.str(b, "type", n.Type)
		b = append(b, '}')
	}
	if len(a.PurposeOfUse) > 0 {
		b = appendConcepts(o.key(b, "purposeOfUse"), a.PurposeOfUse)
	}
	return append(b, '}')
}

func (s *source) appendJSON(b []byte) []byte {
	var o object
	b = append(b, '{')
	b = o.str(b, "site", s.Site)
	b = s.Observer.appendJSON(o.key(b, "observer"))
	if len(s.Type) > 0 {
		b = appendCodings(o.key(b, "type"), s.Type)
	}
	return append(b, '}')
}

func (e *entity) appendJSON(b []byte) []byte {
	var o object
	b = append(b, '{')
	if e.What != nil {
		b = e.What.appendJSON(o.key(b, "what"))
	}
	if e.Type != nil {
		b = e.Type.appendJSON(o.key(b, "type"))
	}
	if e.Role != nil {
		b = e.Role.appendJSON(o.key(b, "role"))
	}
	b = o.str(b, "query", e.Query)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping off: quote and backslash, control
// characters (as \b, \f, \n, \r, \t or \u00XX), invalid UTF-8 (as
// \ufffd), and U+2028 and U+2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}
