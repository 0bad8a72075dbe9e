package fhir

import (
	"fmt"
	"unicode/utf8"
)

// Marshal returns the compact JSON encoding of v; see Append.
func Marshal(v Value) []byte {
	return Append(nil, v)
}

// Append appends the compact JSON encoding of v to dst and returns the
// extended slice. Members keep their order. Strings are escaped as
// encoding/json does without HTML escaping: '"', '\\', control characters,
// U+2028 and U+2029 are escaped, other text is written as UTF-8, and invalid
// UTF-8 becomes \ufffd so that the output is always valid JSON.
//
// A Number is written as its text, which must be a valid JSON number (every
// Number from Parse is); an empty Number is written as 0, as encoding/json
// does. A nil *Object is written as null and a nil []Value as []. Append
// panics if the tree holds a type that is not part of the Value model,
// since that is a programming error.
func Append(dst []byte, v Value) []byte {
	switch v := v.(type) {
	case *Object:
		if v == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '{')
		for i := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v.Members[i].Key)
			dst = append(dst, ':')
			dst = Append(dst, v.Members[i].Value)
		}
		return append(dst, '}')
	case []Value:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = Append(dst, e)
		}
		return append(dst, ']')
	}
	return appendScalar(dst, v)
}

// AppendIndent appends the JSON encoding of v to dst like Append, but with
// each member and element on its own line, indented by one copy of indent
// per level of nesting, as json.MarshalIndent with an empty prefix does.
func AppendIndent(dst []byte, v Value, indent string) []byte {
	return appendIndent(dst, v, indent, 0)
}

// appendIndent encodes v, which is inside depth containers.
func appendIndent(dst []byte, v Value, indent string, depth int) []byte {
	switch v := v.(type) {
	case *Object:
		if v == nil || len(v.Members) == 0 {
			return Append(dst, v)
		}
		dst = append(dst, '{')
		for i := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendNewline(dst, indent, depth+1)
			dst = appendString(dst, v.Members[i].Key)
			dst = append(dst, ':', ' ')
			dst = appendIndent(dst, v.Members[i].Value, indent, depth+1)
		}
		dst = appendNewline(dst, indent, depth)
		return append(dst, '}')
	case []Value:
		if len(v) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendNewline(dst, indent, depth+1)
			dst = appendIndent(dst, e, indent, depth+1)
		}
		dst = appendNewline(dst, indent, depth)
		return append(dst, ']')
	}
	return appendScalar(dst, v)
}

// appendNewline starts a new line indented depth times.
func appendNewline(dst []byte, indent string, depth int) []byte {
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}

// appendScalar encodes a value that is neither an object nor an array.
func appendScalar(dst []byte, v Value) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if v {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendString(dst, v)
	case Number:
		if v == "" {
			return append(dst, '0')
		}
		return append(dst, v...)
	}
	panic(fmt.Sprintf("fhir: cannot encode %T, which is not a Value", v))
}

// safeByte[c] is true for the ASCII bytes written unescaped in a string.
var safeByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexLower = "0123456789abcdef"

// appendString appends s as a JSON string literal, copying runs of bytes
// that need no escaping in one go.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeByte[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			// U+2028 and U+2029 are valid JSON but end lines in
			// JavaScript, so encoding/json escapes them; so do we.
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '2', '0', '2', hexLower[r&0xF])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscape appends the escape sequence of the ASCII byte c.
func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xF])
}

// Equal reports whether a and b are the same JSON value. Object members
// are compared regardless of order, and Numbers by their text, so 1.0 and 1
// differ, as FHIR decimal precision requires. A nil *Object equals nil, as
// Append writes both as null. Objects are taken to have unique keys, as
// Parse guarantees. Values outside the Value model are never equal.
func Equal(a, b Value) bool {
	if o, ok := a.(*Object); ok && o == nil {
		a = nil
	}
	if o, ok := b.(*Object); ok && o == nil {
		b = nil
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case string:
		b, ok := b.(string)
		return ok && a == b
	case Number:
		b, ok := b.(Number)
		return ok && a == b
	case []Value:
		b, ok := b.([]Value)
		return ok && arraysEqual(a, b)
	case *Object:
		b, ok := b.(*Object)
		return ok && objectsEqual(a, b)
	}
	return false
}

// arraysEqual compares arrays element by element.
func arraysEqual(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// objectsEqual compares objects member by member, looking each key of a up
// in b: by linear scan for small objects, through an index for large ones
// so that comparing big objects stays linear.
func objectsEqual(a, b *Object) bool {
	if len(a.Members) != len(b.Members) {
		return false
	}
	if len(b.Members) <= smallObject {
		for i := range a.Members {
			bv, ok := b.Get(a.Members[i].Key)
			if !ok || !Equal(a.Members[i].Value, bv) {
				return false
			}
		}
		return true
	}
	index := make(map[string]int, len(b.Members))
	for i := len(b.Members) - 1; i >= 0; i-- {
		index[b.Members[i].Key] = i // first occurrence wins, like Get
	}
	for i := range a.Members {
		j, ok := index[a.Members[i].Key]
		if !ok || !Equal(a.Members[i].Value, b.Members[j].Value) {
			return false
		}
	}
	return true
}
