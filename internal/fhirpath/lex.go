package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a syntax or semantic error in an expression, found by Compile,
// or an error raised while evaluating it. Pos is the byte offset in the
// expression where the problem is, -1 if none applies.
type Error struct {
	Expr string
	Pos  int
	Msg  string
}

// Error formats the error with its line and column: "fhirpath: 1:7: ...".
func (e *Error) Error() string {
	if e.Pos < 0 {
		return "fhirpath: " + e.Msg
	}
	line, col := 1, 1
	for i, r := range e.Expr {
		if i >= e.Pos {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("fhirpath: %d:%d: %s", line, col, e.Msg)
}

// tokenKind classifies tokens.
type tokenKind uint8

const (
	tokEOF     tokenKind = iota
	tokIdent             // name, or a keyword: the parser decides by context
	tokDelim             // `delimited identifier`, text unescaped
	tokString            // 'string', text unescaped
	tokNumber            // 12 or 1.5
	tokDate              // @2015-02-04: text after @; kind says Date, DateTime or Time
	tokSpecial           // $this, $index, $total: text without $
	tokEnv               // %name or %`name` or %'name': text without %
	tokOp                // punctuation and operators
)

type token struct {
	kind tokenKind
	text string
	pos  int
	dt   sysType // tokDate: sysDate, sysDateTime or sysTime
}

// lexer turns an expression into tokens.
type lexer struct {
	src string
	i   int
}

func (l *lexer) errorf(pos int, format string, args ...any) error {
	return &Error{Expr: l.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// skip passes whitespace and comments.
func (l *lexer) skip() error {
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			l.i++
		case strings.HasPrefix(l.src[l.i:], "//"):
			end := strings.IndexByte(l.src[l.i:], '\n')
			if end < 0 {
				l.i = len(l.src)
			} else {
				l.i += end + 1
			}
		case strings.HasPrefix(l.src[l.i:], "/*"):
			end := strings.Index(l.src[l.i+2:], "*/")
			if end < 0 {
				return l.errorf(l.i, "unterminated comment")
			}
			l.i += end + 4
		default:
			return nil
		}
	}
	return nil
}

// operators lists the punctuation tokens, longest first.
var operators = []string{"<=", ">=", "!=", "!~", "(", ")", "[", "]", "{", "}", ".", ",", "+", "-", "*", "/", "|", "&", "=", "~", "<", ">"}

func (l *lexer) next() (token, error) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	start := l.i
	if l.i >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.i]
	switch {
	case isIdentStart(c):
		for l.i < len(l.src) && isIdentPart(l.src[l.i]) {
			l.i++
		}
		return token{kind: tokIdent, text: l.src[start:l.i], pos: start}, nil
	case c >= '0' && c <= '9':
		return l.number(), nil
	case c == '\'' || c == '`':
		text, err := l.quoted(c)
		kind := tokString
		if c == '`' {
			kind = tokDelim
		}
		return token{kind: kind, text: text, pos: start}, err
	case c == '@':
		return l.date()
	case c == '$':
		l.i++
		for l.i < len(l.src) && isIdentPart(l.src[l.i]) {
			l.i++
		}
		return token{kind: tokSpecial, text: l.src[start+1 : l.i], pos: start}, nil
	case c == '%':
		return l.env()
	}
	for _, op := range operators {
		if strings.HasPrefix(l.src[l.i:], op) {
			l.i += len(op)
			return token{kind: tokOp, text: op, pos: start}, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.i:])
	return token{}, l.errorf(start, "unexpected character %q", r)
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// number reads digits with an optional fraction; a dot not followed by a
// digit is left for the invocation that follows (1.toString()).
func (l *lexer) number() token {
	start := l.i
	for l.i < len(l.src) && l.src[l.i] >= '0' && l.src[l.i] <= '9' {
		l.i++
	}
	if l.i+1 < len(l.src) && l.src[l.i] == '.' && l.src[l.i+1] >= '0' && l.src[l.i+1] <= '9' {
		l.i++
		for l.i < len(l.src) && l.src[l.i] >= '0' && l.src[l.i] <= '9' {
			l.i++
		}
	}
	return token{kind: tokNumber, text: l.src[start:l.i], pos: start}
}

// quoted reads a string or delimited identifier and decodes its escapes.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.i
	l.i++
	var b strings.Builder
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch c {
		case q:
			l.i++
			return b.String(), nil
		case '\\':
			if err := l.escape(&b); err != nil {
				return "", err
			}
			continue
		}
		b.WriteByte(c)
		l.i++
	}
	return "", l.errorf(start, "unterminated %s", map[byte]string{'\'': "string", '`': "identifier"}[q])
}

func (l *lexer) escape(b *strings.Builder) error {
	at := l.i
	if l.i+1 >= len(l.src) {
		return l.errorf(at, "unterminated escape")
	}
	c := l.src[l.i+1]
	l.i += 2
	switch c {
	case '\'', '"', '`', '\\', '/':
		b.WriteByte(c)
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		if l.i+4 > len(l.src) {
			return l.errorf(at, "bad \\u escape")
		}
		n, err := strconv.ParseUint(l.src[l.i:l.i+4], 16, 32)
		if err != nil {
			return l.errorf(at, "bad \\u escape")
		}
		l.i += 4
		b.WriteRune(rune(n))
	default:
		return l.errorf(at, "unknown escape \\%c", c)
	}
	return nil
}

// date reads a date, dateTime or time literal: @2015-02-04T14:34:28Z,
// @2015T (a DateTime of year precision), @T14:34.
func (l *lexer) date() (token, error) {
	start := l.i
	l.i++
	if l.i < len(l.src) && l.src[l.i] == 'T' {
		l.i++
		text := l.scanClock()
		if _, ok := parseDateTime(text, sysTime); !ok || text == "" {
			return token{}, l.errorf(start, "invalid time literal")
		}
		return token{kind: tokDate, text: text, pos: start, dt: sysTime}, nil
	}
	dstart := l.i
	l.scanDigits(4)
	for _, n := range []int{2, 2} {
		if l.i+1 < len(l.src) && l.src[l.i] == '-' && isDigit(l.src[l.i+1]) {
			l.i++
			l.scanDigits(n)
		}
	}
	kind := sysDate
	if l.i < len(l.src) && l.src[l.i] == 'T' {
		kind = sysDateTime
		l.i++
		if l.i < len(l.src) && isDigit(l.src[l.i]) {
			l.scanClock()
			l.scanZone()
		}
	}
	text := l.src[dstart:l.i]
	if _, ok := parseDateTime(text, kind); !ok {
		return token{}, l.errorf(start, "invalid date literal @%s", text)
	}
	return token{kind: tokDate, text: strings.TrimSuffix(text, "T"), pos: start, dt: kind}, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) scanDigits(n int) {
	for ; n > 0 && l.i < len(l.src) && isDigit(l.src[l.i]); n-- {
		l.i++
	}
}

// scanClock passes hh(:mm(:ss(.fff)?)?)? and returns it.
func (l *lexer) scanClock() string {
	start := l.i
	l.scanDigits(2)
	for range 2 {
		if l.i+1 < len(l.src) && l.src[l.i] == ':' && isDigit(l.src[l.i+1]) {
			l.i++
			l.scanDigits(2)
		}
	}
	if l.i+1 < len(l.src) && l.src[l.i] == '.' && isDigit(l.src[l.i+1]) {
		l.i++
		for l.i < len(l.src) && isDigit(l.src[l.i]) {
			l.i++
		}
	}
	return l.src[start:l.i]
}

// scanZone passes Z or +hh:mm / -hh:mm right after a time.
func (l *lexer) scanZone() {
	if l.i >= len(l.src) {
		return
	}
	switch l.src[l.i] {
	case 'Z':
		l.i++
	case '+', '-':
		rest := l.src[l.i+1:]
		if len(rest) >= 5 && isDigit(rest[0]) && isDigit(rest[1]) && rest[2] == ':' && isDigit(rest[3]) && isDigit(rest[4]) {
			l.i += 6
		}
	}
}

// env reads %name, %`name` or %'name'.
func (l *lexer) env() (token, error) {
	start := l.i
	l.i++
	if l.i < len(l.src) && (l.src[l.i] == '`' || l.src[l.i] == '\'') {
		text, err := l.quoted(l.src[l.i])
		return token{kind: tokEnv, text: text, pos: start}, err
	}
	nameStart := l.i
	for l.i < len(l.src) && isIdentPart(l.src[l.i]) {
		l.i++
	}
	if l.i == nameStart {
		return token{}, l.errorf(start, "expected a variable name after %%")
	}
	return token{kind: tokEnv, text: l.src[nameStart:l.i], pos: start}, nil
}
