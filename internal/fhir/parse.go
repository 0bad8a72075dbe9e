package fhir

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays that Parse accepts.
// Real resources nest a few dozen levels at most; the limit keeps hostile
// input from costing unbounded stack in the recursive parser.
const MaxDepth = 512

// SyntaxError reports JSON that Parse rejects, with the position of the
// offending byte so that an OperationOutcome can point the client at it.
type SyntaxError struct {
	Offset int64  // byte offset from the start of the input, BOM included
	Line   int    // 1-based line of Offset
	Column int    // 1-based column of Offset, counted in characters
	Msg    string // what is wrong, without the position
}

// Error formats the error as "line L, column C: Msg".
func (e *SyntaxError) Error() string {
	return "line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Msg
}

// Parse parses data as exactly one JSON value (RFC 8259) into a Value tree.
//
// It is strict, because what it accepts is stored and served again: input
// must be valid UTF-8, objects must not repeat a key (FHIR forbids it),
// nesting is limited to MaxDepth, and only whitespace may surround the value.
// One leniency: a UTF-8 byte order mark at the start is skipped, since some
// senders write one.
//
// String escapes are decoded. A \u escape of a lone UTF-16 surrogate, which
// cannot be represented in UTF-8, decodes to U+FFFD as encoding/json does, so
// such input is accepted rather than rejected. Numbers are checked against
// the JSON grammar and kept as Number with their exact text.
//
// To allocate little, the tree is carved out of a few large blocks: strings
// are slices of one copy of data, and objects, members and elements come
// from shared arrays. A subtree kept after the rest is dropped keeps those
// blocks alive; slices in the tree have no spare capacity, so appending to
// one copies it rather than touching its neighbours. Any error is a
// *SyntaxError.
func Parse(data []byte) (Value, error) {
	p := newParseState(data)
	defer p.release()
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, p.invalidChar("after top-level value")
	}
	return v, nil
}

// ParseObject parses data like Parse and returns an error unless the value
// is an object, as a FHIR resource must be.
func ParseObject(data []byte) (*Object, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if obj, ok := v.(*Object); ok {
		return obj, nil
	}
	// Point at the value, past any BOM and whitespace.
	off := 0
	if bytes.HasPrefix(data, utf8BOM) {
		off = len(utf8BOM)
	}
	for data[off] == ' ' || data[off] == '\n' || data[off] == '\r' || data[off] == '\t' {
		off++
	}
	return nil, syntaxError(data, off, "top-level value is "+valueKindName(v)+", not an object")
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// valueKindName names the JSON kind of v for error messages.
func valueKindName(v Value) string {
	switch v.(type) {
	case []Value:
		return "an array"
	case string:
		return "a string"
	case Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an object"
}

// parseState is the state of one Parse call.
type parseState struct {
	data []byte
	text string // copy of data that unescaped strings are sliced from
	pos  int
	*parseScratch

	block      int // number of members or elements per new block
	objBlock   []Object
	memBlock   []Member
	valueBlock []Value
}

// parseScratch is the working memory of Parse. Its stacks hold the members
// and elements of the containers being parsed; when a container closes
// they are copied, at their exact size, into the blocks and cleared, so
// nothing in a tree points into it and it can be pooled across calls.
type parseScratch struct {
	members []Member
	values  []Value
	buf     []byte // for strings with escapes
}

var parseScratchPool = sync.Pool{New: func() any { return new(parseScratch) }}

// maxPooledScratch bounds the scratch kept in the pool, so that one huge
// document does not pin its working memory for good.
const maxPooledScratch = 1 << 14

// newParseState prepares to parse data, past any BOM.
func newParseState(data []byte) *parseState {
	p := &parseState{data: data, text: string(data), parseScratch: parseScratchPool.Get().(*parseScratch)}
	if bytes.HasPrefix(data, utf8BOM) {
		p.pos = len(utf8BOM)
	}
	// FHIR JSON has about one member per 20 bytes; blocks of about a
	// quarter of that bound the waste of small documents and the
	// number of allocations for large ones.
	p.block = min(max(len(data)/64, 4), 1024)
	return p
}

// release returns the scratch to the pool. After an error the stacks still
// hold the containers that were open; they are cleared here.
func (p *parseState) release() {
	s := p.parseScratch
	p.parseScratch = nil
	if cap(s.members) > maxPooledScratch || cap(s.values) > maxPooledScratch || cap(s.buf) > maxPooledScratch {
		return
	}
	clear(s.members)
	clear(s.values)
	s.members, s.values = s.members[:0], s.values[:0]
	parseScratchPool.Put(s)
}

// newObject returns an Object from the current block.
func (p *parseState) newObject(members []Member) *Object {
	if len(p.objBlock) == 0 {
		p.objBlock = make([]Object, max(p.block/4, 1))
	}
	obj := &p.objBlock[0]
	p.objBlock = p.objBlock[1:]
	obj.Members = members
	return obj
}

// popMembers moves the scratch members from base on into a block.
func (p *parseState) popMembers(base int) []Member {
	n := len(p.members) - base
	if n > len(p.memBlock) {
		p.memBlock = make([]Member, max(n, p.block))
	}
	ms := p.memBlock[:n:n]
	p.memBlock = p.memBlock[n:]
	copy(ms, p.members[base:])
	clear(p.members[base:])
	p.members = p.members[:base]
	return ms
}

// popValues moves the scratch elements from base on into a block.
func (p *parseState) popValues(base int) []Value {
	n := len(p.values) - base
	if n > len(p.valueBlock) {
		p.valueBlock = make([]Value, max(n, p.block))
	}
	vs := p.valueBlock[:n:n]
	p.valueBlock = p.valueBlock[n:]
	copy(vs, p.values[base:])
	clear(p.values[base:])
	p.values = p.values[:base]
	return vs
}

// skipSpace advances past JSON whitespace. Its fast path is inlined, since
// in compact JSON there is none to skip.
func (p *parseState) skipSpace() {
	if p.pos < len(p.data) && p.data[p.pos] > ' ' {
		return
	}
	p.skipSpaceSlow()
}

// skipSpaceSlow is the loop of skipSpace.
func (p *parseState) skipSpaceSlow() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\n', '\r', '\t':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at p.pos, which is inside depth containers.
func (p *parseState) value(depth int) (Value, error) {
	if p.pos >= len(p.data) {
		return nil, p.eof()
	}
	switch c := p.data[p.pos]; c {
	case '{':
		obj, err := p.object(depth + 1)
		if err != nil {
			return nil, err
		}
		return obj, nil
	case '[':
		return p.array(depth + 1)
	case '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return nil, p.literal("null")
	default:
		if c == '-' || c-'0' < 10 {
			return p.number()
		}
		return nil, p.invalidChar("looking for beginning of value")
	}
}

// literal consumes the keyword lit, which starts at p.pos.
func (p *parseState) literal(lit string) error {
	for i := 1; i < len(lit); i++ {
		at := p.pos + i
		if at >= len(p.data) {
			return p.eof()
		}
		if p.data[at] != lit[i] {
			p.pos = at
			return p.invalidChar("in literal " + lit + " (expecting '" + lit[i:i+1] + "')")
		}
	}
	p.pos += len(lit)
	return nil
}

// object parses the object at p.pos.
func (p *parseState) object(depth int) (*Object, error) {
	if depth > MaxDepth {
		return nil, p.errorAt(p.pos, "exceeded maximum nesting depth of "+strconv.Itoa(MaxDepth))
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return p.newObject(nil), nil
	}
	base := len(p.members)
	var seen map[string]struct{} // only for large objects, see checkKey
	for {
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		if p.data[p.pos] != '"' {
			return nil, p.invalidChar("in object key (expecting '\"')")
		}
		keyAt := p.pos
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		if seen, err = p.checkKey(base, key, keyAt, seen); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		if p.data[p.pos] != ':' {
			return nil, p.invalidChar("after object key (expecting ':')")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, Member{Key: key, Value: v})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return p.newObject(p.popMembers(base)), nil
		default:
			return nil, p.invalidChar("after object key:value pair (expecting ',' or '}')")
		}
	}
}

// smallObject is the member count up to which duplicate keys are found by
// a linear scan, which beats a map for the small objects FHIR is made of.
const smallObject = 16

// checkKey reports an error if key is already a member of the object whose
// members start at base. Past smallObject members it switches to the set
// seen, so that hostile objects with many keys stay linear.
func (p *parseState) checkKey(base int, key string, keyAt int, seen map[string]struct{}) (map[string]struct{}, error) {
	dup := false
	if seen != nil {
		_, dup = seen[key]
		seen[key] = struct{}{}
	} else {
		ms := p.members[base:]
		for i := range ms {
			if ms[i].Key == key {
				dup = true
				break
			}
		}
		if !dup && len(ms) >= smallObject {
			seen = make(map[string]struct{}, 2*len(ms))
			for i := range ms {
				seen[ms[i].Key] = struct{}{}
			}
			seen[key] = struct{}{}
		}
	}
	if dup {
		return nil, p.errorAt(keyAt, "duplicate key "+quoteForError(key)+" in object")
	}
	return seen, nil
}

// array parses the array at p.pos.
func (p *parseState) array(depth int) (Value, error) {
	if depth > MaxDepth {
		return nil, p.errorAt(p.pos, "exceeded maximum nesting depth of "+strconv.Itoa(MaxDepth))
	}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return []Value{}, nil
	}
	base := len(p.values)
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.values = append(p.values, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return p.popValues(base), nil
		default:
			return nil, p.invalidChar("after array element (expecting ',' or ']')")
		}
	}
}

// plainByte[c] is true for the ASCII bytes a string literal holds as is.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringStops returns, for the eight bytes in x, a mask with the high bit
// set in each byte that ends a plain run of a string literal: '"', '\\',
// a control character or a non-ASCII byte. This lets string skip eight
// plain bytes per step. A subtraction can only borrow out of a byte that is
// itself a stop, so the lowest flagged byte is always a true stop.
func stringStops(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	lt := x - 0x20*ones
	quote := (x ^ '"'*ones) - ones
	backslash := (x ^ '\\'*ones) - ones
	return ((lt|quote|backslash)&^x | x) & highs
}

// string parses the string literal at p.pos. Without escapes the result is
// a slice of p.text and costs no allocation.
func (p *parseState) string() (string, error) {
	data := p.data
	start := p.pos + 1
	i := start
	for {
		for i+8 <= len(data) {
			if m := stringStops(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(data) && plainByte[data[i]] {
			i++
		}
		if i >= len(data) {
			return "", p.eof()
		}
		switch c := data[i]; {
		case c == '"':
			p.pos = i + 1
			return p.text[start:i], nil
		case c == '\\':
			return p.escapedString(start, i)
		case c < 0x20:
			p.pos = i
			return "", p.invalidChar("in string literal")
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorAt(i, "invalid UTF-8 in string literal")
			}
			i += size
		}
	}
}

// escapedString finishes a string literal that starts at start and has its
// first backslash at i, decoding into p.buf.
func (p *parseState) escapedString(start, i int) (string, error) {
	data := p.data
	buf := append(p.buf[:0], data[start:i]...)
	for {
		if i >= len(data) {
			return "", p.eof()
		}
		c := data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = buf
			return string(buf), nil
		case c == '\\':
			var err error
			if buf, i, err = p.escape(buf, i); err != nil {
				return "", err
			}
		case c < 0x20:
			p.pos = i
			return "", p.invalidChar("in string literal")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorAt(i, "invalid UTF-8 in string literal")
			}
			buf = append(buf, data[i:i+size]...)
			i += size
		}
	}
}

// escape decodes the escape sequence at i (a backslash), appends it to buf
// and returns the index after it.
func (p *parseState) escape(buf []byte, i int) ([]byte, int, error) {
	data := p.data
	if i+1 >= len(data) {
		return nil, 0, p.eof()
	}
	c := data[i+1]
	switch c {
	case '"', '\\', '/':
		return append(buf, c), i + 2, nil
	case 'b':
		return append(buf, '\b'), i + 2, nil
	case 'f':
		return append(buf, '\f'), i + 2, nil
	case 'n':
		return append(buf, '\n'), i + 2, nil
	case 'r':
		return append(buf, '\r'), i + 2, nil
	case 't':
		return append(buf, '\t'), i + 2, nil
	case 'u':
		r, err := p.hex4(i + 2)
		if err != nil {
			return nil, 0, err
		}
		i += 6
		if utf16IsHigh(r) {
			// A high surrogate must be followed by an escaped low one;
			// if it is not, the next escape is decoded on its own.
			if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
				if r2, err := p.hex4(i + 2); err == nil && utf16IsLow(r2) {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					return utf8.AppendRune(buf, r), i + 6, nil
				}
			}
			r = utf8.RuneError
		} else if utf16IsLow(r) {
			r = utf8.RuneError
		}
		return utf8.AppendRune(buf, r), i, nil
	}
	p.pos = i + 1
	return nil, 0, p.invalidChar("in string escape code")
}

func utf16IsHigh(r rune) bool { return 0xD800 <= r && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return 0xDC00 <= r && r < 0xE000 }

// hex4 decodes the four hexadecimal digits of a \u escape at i.
func (p *parseState) hex4(i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(p.data) {
			return 0, p.eof()
		}
		c := p.data[j]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			p.pos = j
			return 0, p.invalidChar("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// number parses the number at p.pos against the RFC 8259 grammar:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func (p *parseState) number() (Value, error) {
	data := p.data
	start := p.pos
	i := start
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return nil, p.eof()
	case data[i] == '0':
		i++
		if i < len(data) && isDecimalDigit(data[i]) {
			return nil, p.errorAt(i, "invalid leading zero in numeric literal")
		}
	case isDecimalDigit(data[i]):
		i = skipDigits(data, i)
	default:
		p.pos = i
		return nil, p.invalidChar("in numeric literal")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) {
			return nil, p.eof()
		}
		if !isDecimalDigit(data[i]) {
			p.pos = i
			return nil, p.invalidChar("after decimal point in numeric literal")
		}
		i = skipDigits(data, i)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) {
			return nil, p.eof()
		}
		if !isDecimalDigit(data[i]) {
			p.pos = i
			return nil, p.invalidChar("in exponent of numeric literal")
		}
		i = skipDigits(data, i)
	}
	p.pos = i
	return Number(p.text[start:i]), nil
}

func isDecimalDigit(c byte) bool { return c-'0' < 10 }

// skipDigits returns the index of the first non-digit at or after i.
func skipDigits(data []byte, i int) int {
	for i < len(data) && isDecimalDigit(data[i]) {
		i++
	}
	return i
}

// eof reports input that ends inside a value.
func (p *parseState) eof() error {
	return p.errorAt(len(p.data), "unexpected end of JSON input")
}

// invalidChar reports the character at p.pos, which is wrong in context.
func (p *parseState) invalidChar(context string) error {
	return p.errorAt(p.pos, "invalid character "+describeChar(p.data[p.pos:])+" "+context)
}

// describeChar quotes the character that data starts with, or names its
// first byte if that is not valid UTF-8.
func describeChar(data []byte) string {
	r, size := utf8.DecodeRune(data)
	switch {
	case r == utf8.RuneError && size <= 1:
		return "byte 0x" + strconv.FormatUint(uint64(data[0]), 16) + " (invalid UTF-8)"
	case r == '\'':
		return `'\''`
	case r == '"':
		return `'"'`
	}
	q := strconv.Quote(string(r))
	return "'" + q[1:len(q)-1] + "'"
}

// quoteForError quotes s, shortened so that hostile input cannot make
// error messages huge.
func quoteForError(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// errorAt builds the *SyntaxError for offset off.
func (p *parseState) errorAt(off int, msg string) *SyntaxError {
	return syntaxError(p.data, off, msg)
}

// syntaxError builds the *SyntaxError for offset off in data, working out
// the line and column only now, since errors are rare and counting lines
// is not free.
func syntaxError(data []byte, off int, msg string) *SyntaxError {
	before := data[:off]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	if lineStart == 0 && bytes.HasPrefix(before, utf8BOM) {
		lineStart = len(utf8BOM) // the BOM is not a character of line 1
	}
	return &SyntaxError{
		Offset: int64(off),
		Line:   bytes.Count(before, []byte{'\n'}) + 1,
		Column: utf8.RuneCount(before[lineStart:]) + 1,
		Msg:    msg,
	}
}
