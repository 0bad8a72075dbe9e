package fhirpath

import (
	"math/big"
	"strconv"
	"strings"
	"sync"
)

// This file converts UCUM units (https://ucum.org) to a factor and powers
// of base units, so that quantities in different units compare and add:
// 4 'g' = 4000 'mg', 7 days = 1 'wk'. It covers the atoms clinical data
// uses (SI and its prefixes, time, volume, customary mass and length,
// pressure, energy, enzyme units), products, quotients, exponents,
// parentheses and annotations, and the offset units Cel and [degF] on their
// own. Units it does not know still compare with the very same unit.

// dims are the powers of the base units in the order of dimNames. dimCal
// is not UCUM: it measures the calendar durations year and month, which
// FHIRPath keeps apart from the UCUM year (a) and month (mo).
type dims [8]int8

const (
	dimM = iota
	dimS
	dimG
	dimRad
	dimK
	dimC
	dimCd
	dimCal
)

// unitValue is a unit as a factor times base units. special is the offset
// unit (Cel, [degF]) it is, if any; such a unit does not combine with others.
type unitValue struct {
	f       *big.Rat
	d       dims
	special string
}

func (u unitValue) mul(v unitValue, exp int) unitValue {
	f := new(big.Rat).Set(u.f)
	for range abs(exp) {
		if exp > 0 {
			f.Mul(f, v.f)
		} else {
			f.Quo(f, v.f)
		}
	}
	d := u.d
	for i := range d {
		d[i] += v.d[i] * int8(exp)
	}
	return unitValue{f: f, d: d}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// atomDef defines a UCUM atom as a multiple of a unit defined before it.
type atomDef struct {
	sym    string
	metric bool   // takes prefixes
	value  string // factor, a decimal or "1/n"
	unit   string // UCUM expression of earlier atoms, or "" for a base unit
}

var atomDefs = []atomDef{
	{"m", true, "1", ""}, {"s", true, "1", ""}, {"g", true, "1", ""},
	{"rad", true, "1", ""}, {"K", true, "1", ""}, {"C", true, "1", ""}, {"cd", true, "1", ""},
	{"10*", false, "10", "1"}, {"10^", false, "10", "1"},
	{"[pi]", false, "3.14159265358979323846264338327950288", "1"},
	{"%", false, "0.01", "1"}, {"[ppth]", false, "0.001", "1"},
	{"[ppm]", false, "0.000001", "1"}, {"[ppb]", false, "0.000000001", "1"},
	{"mol", true, "602213670000000000000000", "1"},
	{"sr", true, "1", "rad2"}, {"deg", false, "2", "[pi].rad/360"},
	{"Hz", true, "1", "s-1"}, {"N", true, "1", "kg.m/s2"}, {"Pa", true, "1", "N/m2"},
	{"J", true, "1", "N.m"}, {"W", true, "1", "J/s"}, {"A", true, "1", "C/s"},
	{"V", true, "1", "J/C"}, {"F", true, "1", "C/V"}, {"Ohm", true, "1", "V/A"},
	{"S", true, "1", "Ohm-1"}, {"Wb", true, "1", "V.s"}, {"T", true, "1", "Wb/m2"},
	{"H", true, "1", "Wb/A"}, {"lm", true, "1", "cd.sr"}, {"lx", true, "1", "lm/m2"},
	{"Bq", true, "1", "s-1"}, {"Gy", true, "1", "J/kg"}, {"Sv", true, "1", "J/kg"},
	{"l", true, "1", "dm3"}, {"L", true, "1", "l"}, {"ar", true, "100", "m2"},
	{"t", true, "1000", "kg"}, {"u", true, "0.0000000000000000000000016605402", "g"},
	{"bar", true, "100000", "Pa"}, {"atm", false, "101325", "Pa"},
	{"min", false, "60", "s"}, {"h", false, "60", "min"}, {"d", false, "24", "h"},
	{"wk", false, "7", "d"}, {"a_j", false, "365.25", "d"}, {"a_t", false, "365.24219", "d"},
	{"a_g", false, "365.2425", "d"}, {"a", false, "1", "a_j"}, {"mo_j", false, "1/12", "a_j"},
	{"mo_g", false, "1/12", "a_g"}, {"mo_s", false, "29.53059", "d"}, {"mo", false, "1", "mo_j"},
	{"[in_i]", false, "2.54", "cm"}, {"[ft_i]", false, "12", "[in_i]"},
	{"[yd_i]", false, "3", "[ft_i]"}, {"[mi_i]", false, "5280", "[ft_i]"},
	{"Ao", false, "0.1", "nm"},
	{"[gr]", false, "64.79891", "mg"}, {"[lb_av]", false, "7000", "[gr]"},
	{"[oz_av]", false, "1/16", "[lb_av]"}, {"[stone_av]", false, "14", "[lb_av]"},
	{"[gal_us]", false, "231", "[in_i]3"}, {"[qt_us]", false, "1/4", "[gal_us]"},
	{"[pt_us]", false, "1/2", "[qt_us]"}, {"[foz_us]", false, "1/16", "[pt_us]"},
	{"[tsp_us]", false, "1/6", "[foz_us]"}, {"[tbs_us]", false, "1/2", "[foz_us]"},
	{"[cup_us]", false, "16", "[tbs_us]"},
	{"m[Hg]", true, "133.322", "kPa"}, {"m[H2O]", true, "9.80665", "kPa"},
	{"cal", true, "4.184", "J"}, {"[Cal]", false, "1", "kcal"},
	{"eq", true, "1", "mol"}, {"osm", true, "1", "mol"},
	{"U", true, "1", "umol/min"}, {"kat", true, "1", "mol/s"},
	{"g%", true, "1", "g/dl"}, {"[g]", false, "9.80665", "m/s2"},
	{"[lbf_av]", false, "1", "[lb_av].[g]"}, {"[psi]", false, "1", "[lbf_av]/[in_i]2"},
	{"Cel", true, "1", "K"}, {"[degF]", false, "5/9", "K"},
}

var prefixes = map[string]string{
	"Y": "1e24", "Z": "1e21", "E": "1e18", "P": "1e15", "T": "1e12", "G": "1e9",
	"M": "1e6", "k": "1e3", "h": "1e2", "da": "1e1", "d": "1e-1", "c": "1e-2",
	"m": "1e-3", "u": "1e-6", "n": "1e-9", "p": "1e-12", "f": "1e-15",
	"a": "1e-18", "z": "1e-21", "y": "1e-24",
}

// atom is a defined atom with its value.
type atom struct {
	unitValue
	metric bool
}

// atoms holds the atoms once computed from atomDefs.
var atoms = sync.OnceValue(func() map[string]atom {
	table := make(map[string]atom, len(atomDefs))
	for i, def := range atomDefs {
		f, _ := new(big.Rat).SetString(def.value)
		var u unitValue
		if def.unit == "" {
			u = unitValue{f: f}
			u.d[i] = 1 // base units come first, in dims order
		} else {
			base, err := parseUnitWith(def.unit, table)
			if err != nil {
				panic("ucum: bad definition of " + def.sym + ": " + err.Error())
			}
			u = unitValue{f: f.Mul(f, base.f), d: base.d}
		}
		if def.sym == "Cel" || def.sym == "[degF]" {
			u.special = def.sym
		}
		table[def.sym] = atom{u, def.metric}
	}
	return table
})

// unitError reports a unit string that is not UCUM as far as this parser knows.
type unitError string

func (e unitError) Error() string { return "unknown unit " + strconv.Quote(string(e)) }

// parseUnit parses a UCUM unit expression. The unit "" is taken as "1".
func parseUnit(s string) (unitValue, error) {
	return parseUnitWith(s, atoms())
}

func parseUnitWith(s string, table map[string]atom) (unitValue, error) {
	if s == "" || s == "1" {
		return unitValue{f: big.NewRat(1, 1)}, nil
	}
	p := unitParser{s: s, atoms: table}
	u, err := p.main()
	if err != nil {
		return unitValue{}, err
	}
	if p.i != len(s) {
		return unitValue{}, unitError(s)
	}
	return u, nil
}

type unitParser struct {
	s     string
	i     int
	atoms map[string]atom
	depth int
}

func (p *unitParser) main() (unitValue, error) {
	one := unitValue{f: big.NewRat(1, 1)}
	if p.i < len(p.s) && p.s[p.i] == '/' {
		p.i++
		c, err := p.component()
		if err != nil {
			return unitValue{}, err
		}
		return p.rest(one.mul(c, -1))
	}
	c, err := p.component()
	if err != nil {
		return unitValue{}, err
	}
	return p.rest(c)
}

// rest reads the (.|/) component sequence after the first component.
func (p *unitParser) rest(u unitValue) (unitValue, error) {
	for p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == '/') {
		op := p.s[p.i]
		p.i++
		c, err := p.component()
		if err != nil {
			return unitValue{}, err
		}
		if u.special != "" || c.special != "" {
			return unitValue{}, unitError(p.s)
		}
		if op == '.' {
			u = u.mul(c, 1)
		} else {
			u = u.mul(c, -1)
		}
	}
	return u, nil
}

func (p *unitParser) component() (unitValue, error) {
	if p.i >= len(p.s) {
		return unitValue{}, unitError(p.s)
	}
	switch c := p.s[p.i]; {
	case c == '(':
		if p.depth > 10 {
			return unitValue{}, unitError(p.s)
		}
		p.i++
		p.depth++
		u, err := p.main()
		p.depth--
		if err != nil {
			return unitValue{}, err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return unitValue{}, unitError(p.s)
		}
		p.i++
		return p.exponent(u)
	case c == '{':
		if err := p.annotation(); err != nil {
			return unitValue{}, err
		}
		return unitValue{f: big.NewRat(1, 1)}, nil
	case c >= '0' && c <= '9':
		return p.factor()
	}
	u, err := p.simpleUnit()
	if err != nil {
		return unitValue{}, err
	}
	u, err = p.exponent(u)
	if err != nil {
		return unitValue{}, err
	}
	if p.i < len(p.s) && p.s[p.i] == '{' {
		return u, p.annotation()
	}
	return u, nil
}

func (p *unitParser) annotation() error {
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 {
		return unitError(p.s)
	}
	p.i += end + 1
	return nil
}

// factor reads an integer factor, or the atom 10* (10^) with its exponent.
func (p *unitParser) factor() (unitValue, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	digits := p.s[start:p.i]
	if p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '^') && digits == "10" {
		p.i++
		return p.exponent(p.atoms["10*"].unitValue)
	}
	f, ok := new(big.Rat).SetString(digits)
	if !ok || len(digits) > 30 || f.Sign() == 0 {
		return unitValue{}, unitError(p.s)
	}
	return unitValue{f: f}, nil
}

// simpleUnit reads an atom, possibly with a prefix.
func (p *unitParser) simpleUnit() (unitValue, error) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '[' {
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return unitValue{}, unitError(p.s)
			}
			p.i += end + 1
			continue
		}
		if strings.IndexByte("./(){}", c) >= 0 || c >= '0' && c <= '9' ||
			(c == '+' || c == '-') && p.i+1 < len(p.s) && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' {
			break
		}
		p.i++
	}
	sym := p.s[start:p.i]
	if a, ok := p.atoms[sym]; ok {
		return a.unitValue, nil
	}
	for _, n := range []int{2, 1} {
		if len(sym) <= n {
			continue
		}
		pf, ok := prefixes[sym[:n]]
		if !ok {
			continue
		}
		if a, ok := p.atoms[sym[n:]]; ok && a.metric {
			f, _ := new(big.Rat).SetString(pf)
			return unitValue{f: f.Mul(f, a.f), d: a.d, special: a.special}, nil
		}
	}
	return unitValue{}, unitError(sym)
}

// exponent reads an optional signed integer exponent and applies it.
func (p *unitParser) exponent(u unitValue) (unitValue, error) {
	start := p.i
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		p.i++
	}
	digits := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		p.i = start
		return u, nil
	}
	e, err := strconv.Atoi(p.s[start:p.i])
	if err != nil || e > 24 || e < -24 {
		return unitValue{}, unitError(p.s)
	}
	if u.special != "" {
		return unitValue{}, unitError(p.s)
	}
	return unitValue{f: big.NewRat(1, 1)}.mul(u, e), nil
}
