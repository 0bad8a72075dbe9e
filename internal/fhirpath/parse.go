package fhirpath

import (
	"strconv"
	"strings"
)

// exprKind says what an AST node is.
type exprKind uint8

const (
	exIdent   exprKind = iota // name at the start of a path: an element, or a type
	exMember                  // x.name
	exCall                    // x.name(args), or name(args) with x nil
	exIndex                   // x[args[0]]
	exBinary                  // x op y
	exUnary                   // op x
	exIs                      // x is name
	exAs                      // x as name
	exLiteral                 // lit
	exEmpty                   // {}
	exEnv                     // %name
	exSpecial                 // $this, $index, $total
)

// expr is a node of the syntax tree that the parser builds and the
// compiler turns into an evaluable node tree.
type expr struct {
	kind exprKind
	pos  int
	op   string // exBinary, exUnary
	name string // identifier, function, variable, type ("FHIR.Patient")
	x, y *expr
	args []*expr
	lit  Item // exLiteral
}

// maxDepth bounds the nesting of an expression, so that hostile input
// cannot exhaust the stack; real expressions nest a few levels.
const maxDepth = 200

type parser struct {
	lex   lexer
	tok   token
	depth int
}

// parse parses src into a syntax tree.
func parse(src string) (*expr, error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, p.errorf(p.tok.pos, "empty expression")
	}
	e, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf(p.tok.pos, "unexpected %s", describe(p.tok))
	}
	return e, nil
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return p.lex.errorf(pos, format, args...)
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// describe names a token for an error message.
func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return "string " + strconv.Quote(t.text)
	case tokDate:
		return "date/time literal"
	case tokSpecial:
		return "$" + t.text
	case tokEnv:
		return "%" + t.text
	}
	return strconv.Quote(t.text)
}

func (p *parser) isOp(text string) bool { return p.tok.kind == tokOp && p.tok.text == text }

func (p *parser) expect(text string) error {
	if !p.isOp(text) {
		return p.errorf(p.tok.pos, "expected %q, found %s", text, describe(p.tok))
	}
	return p.advance()
}

// Binary operator precedences, loosest first, as in the FHIRPath grammar.
var precedence = map[string]int{
	"implies": 1,
	"or":      2, "xor": 2,
	"and": 3,
	"in":  4, "contains": 4,
	"=": 5, "~": 5, "!=": 5, "!~": 5,
	"<": 6, "<=": 6, ">": 6, ">=": 6,
	"|":  7,
	"is": 8, "as": 8,
	"+": 9, "-": 9, "&": 9,
	"*": 10, "/": 10, "div": 10, "mod": 10,
}

// binaryOp returns the operator at the current token and its precedence,
// or 0 if the token is none.
func (p *parser) binaryOp() (string, int) {
	switch p.tok.kind {
	case tokOp, tokIdent:
		if prec, ok := precedence[p.tok.text]; ok {
			return p.tok.text, prec
		}
	}
	return "", 0
}

// expression parses operators of at least precedence minPrec (precedence
// climbing; all binary operators are left-associative).
func (p *parser) expression(minPrec int) (*expr, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.errorf(p.tok.pos, "expression nests too deeply")
	}
	defer func() { p.depth-- }()
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op, prec := p.binaryOp()
		if prec == 0 || prec < minPrec {
			return left, nil
		}
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		if op == "is" || op == "as" {
			name, err := p.typeSpec()
			if err != nil {
				return nil, err
			}
			kind := exIs
			if op == "as" {
				kind = exAs
			}
			left = &expr{kind: kind, pos: pos, x: left, name: name}
			continue
		}
		right, err := p.expression(prec + 1)
		if err != nil {
			return nil, err
		}
		left = &expr{kind: exBinary, pos: pos, op: op, x: left, y: right}
	}
}

// typeSpec parses a type name, possibly qualified: Quantity, FHIR.Patient.
func (p *parser) typeSpec() (string, error) {
	name, err := p.identifier()
	if err != nil {
		return "", err
	}
	if p.isOp(".") {
		if err := p.advance(); err != nil {
			return "", err
		}
		second, err := p.identifier()
		if err != nil {
			return "", err
		}
		name += "." + second
	}
	return name, nil
}

// identifier parses a plain or delimited identifier; keywords are allowed,
// as after a dot.
func (p *parser) identifier() (string, error) {
	if p.tok.kind != tokIdent && p.tok.kind != tokDelim {
		return "", p.errorf(p.tok.pos, "expected an identifier, found %s", describe(p.tok))
	}
	name := p.tok.text
	return name, p.advance()
}

// unary parses a polarity operator, which binds looser than invocation
// (-1.abs() is -(1.abs())) and tighter than multiplication.
func (p *parser) unary() (*expr, error) {
	if p.isOp("-") || p.isOp("+") {
		if p.depth++; p.depth > maxDepth {
			return nil, p.errorf(p.tok.pos, "expression nests too deeply")
		}
		defer func() { p.depth-- }()
		op, pos := p.tok.text, p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &expr{kind: exUnary, pos: pos, op: op, x: x}, nil
	}
	t, err := p.term()
	if err != nil {
		return nil, err
	}
	return p.postfix(t)
}

// postfix parses invocations and indexers after a term.
func (p *parser) postfix(x *expr) (*expr, error) {
	for {
		switch {
		case p.isOp("."):
			if err := p.advance(); err != nil {
				return nil, err
			}
			pos := p.tok.pos
			name, err := p.identifier()
			if err != nil {
				return nil, err
			}
			if p.isOp("(") {
				args, err := p.arguments()
				if err != nil {
					return nil, err
				}
				x = &expr{kind: exCall, pos: pos, name: name, x: x, args: args}
				continue
			}
			x = &expr{kind: exMember, pos: pos, name: name, x: x}
		case p.isOp("["):
			pos := p.tok.pos
			if err := p.advance(); err != nil {
				return nil, err
			}
			i, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			x = &expr{kind: exIndex, pos: pos, x: x, args: []*expr{i}}
		default:
			return x, nil
		}
	}
}

// arguments parses a parenthesised argument list.
func (p *parser) arguments() ([]*expr, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var args []*expr
	if p.isOp(")") {
		return args, p.advance()
	}
	for {
		a, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.isOp(")") {
			return args, p.advance()
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
}

func (p *parser) term() (*expr, error) {
	t := p.tok
	switch t.kind {
	case tokOp:
		switch t.text {
		case "(":
			if err := p.advance(); err != nil {
				return nil, err
			}
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		case "{":
			if err := p.advance(); err != nil {
				return nil, err
			}
			return &expr{kind: exEmpty, pos: t.pos}, p.expect("}")
		}
	case tokString:
		return p.literal(stringItem(t.text))
	case tokNumber:
		return p.number()
	case tokDate:
		return p.literal(Item{v: t.text, st: t.dt})
	case tokSpecial:
		if t.text != "this" && t.text != "index" && t.text != "total" {
			return nil, p.errorf(t.pos, "unknown special variable $%s", t.text)
		}
		return &expr{kind: exSpecial, pos: t.pos, name: t.text}, p.advance()
	case tokEnv:
		return &expr{kind: exEnv, pos: t.pos, name: t.text}, p.advance()
	case tokIdent, tokDelim:
		if t.kind == tokIdent && (t.text == "true" || t.text == "false") {
			return p.literal(boolItem(t.text == "true"))
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.isOp("(") {
			args, err := p.arguments()
			if err != nil {
				return nil, err
			}
			return &expr{kind: exCall, pos: t.pos, name: t.text, args: args}, nil
		}
		return &expr{kind: exIdent, pos: t.pos, name: t.text}, nil
	}
	return nil, p.errorf(t.pos, "unexpected %s", describe(t))
}

func (p *parser) literal(it Item) (*expr, error) {
	e := &expr{kind: exLiteral, pos: p.tok.pos, lit: it}
	return e, p.advance()
}

// number parses a number literal, and the unit that makes it a quantity:
// a UCUM string or a calendar duration keyword (4 'mg', 2 weeks).
func (p *parser) number() (*expr, error) {
	t := p.tok
	if err := p.advance(); err != nil {
		return nil, err
	}
	var it Item
	if strings.Contains(t.text, ".") {
		d, ok := parseDecimal(t.text)
		if !ok {
			return nil, p.errorf(t.pos, "invalid number %s", t.text)
		}
		it = decimalItem(d)
	} else {
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorf(t.pos, "integer %s out of range", t.text)
		}
		it = intItem(n)
	}
	unit, ok := "", false
	switch {
	case p.tok.kind == tokString:
		unit, ok = p.tok.text, true
	case p.tok.kind == tokIdent && isCalendarKeyword(p.tok.text):
		unit, ok = p.tok.text, true
	}
	if ok {
		d, _ := parseDecimal(t.text)
		it = quantityItem(quantity{d, unit})
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return &expr{kind: exLiteral, pos: t.pos, lit: it}, nil
}
