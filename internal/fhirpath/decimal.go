package fhirpath

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// decimal is an exact decimal number: m × 10^-scale. FHIRPath decimals keep
// their precision ("1.50" has scale 2), which equivalence, toString and the
// boundary functions depend on, so floats will not do. Values are immutable:
// operations return new ones.
type decimal struct {
	m     *big.Int
	scale int
}

// divScale is the number of decimal places of a quotient that does not
// terminate sooner: FHIRPath asks for at least 8.
const divScale = 8

// maxDecimalScale bounds the scale of parsed and computed decimals, so that
// a hostile exponent ("1e999999999") cannot make the engine build huge numbers.
const maxDecimalScale = 1000

var (
	bigOne = big.NewInt(1)
	bigTen = big.NewInt(10)
)

func decFromInt(n int64) decimal { return decimal{m: big.NewInt(n)} }

// parseDecimal parses a FHIRPath or JSON number: -?digits(.digits)?(e[+-]?digits)?.
func parseDecimal(s string) (decimal, bool) {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxDecimalScale || e < -maxDecimalScale {
			return decimal{}, false
		}
		mant, exp = s[:i], e
	}
	digits := mant
	neg := strings.HasPrefix(digits, "-")
	if neg || strings.HasPrefix(digits, "+") {
		digits = digits[1:]
	}
	intPart, frac, hasPoint := strings.Cut(digits, ".")
	if intPart == "" || (hasPoint && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return decimal{}, false
	}
	m, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return decimal{}, false
	}
	if neg {
		m.Neg(m)
	}
	d := decimal{m: m, scale: len(frac) - exp}
	if d.scale < 0 {
		d = decimal{m: m.Mul(m, pow10(-d.scale)), scale: 0}
	}
	if d.scale > maxDecimalScale {
		return decimal{}, false
	}
	return d, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pow10 returns 10^n for n >= 0.
func pow10(n int) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// String formats d with exactly its scale of decimal places.
func (d decimal) String() string {
	s := new(big.Int).Abs(d.m).String()
	if d.scale > 0 {
		if len(s) <= d.scale {
			s = strings.Repeat("0", d.scale-len(s)+1) + s
		}
		s = s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
	}
	if d.m.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// rescale returns d with the given scale, which must not be smaller.
func (d decimal) rescale(scale int) decimal {
	if scale == d.scale {
		return d
	}
	return decimal{m: new(big.Int).Mul(d.m, pow10(scale-d.scale)), scale: scale}
}

// align returns the mantissas of a and b at their common scale.
func align(a, b decimal) (*big.Int, *big.Int, int) {
	s := max(a.scale, b.scale)
	return a.rescale(s).m, b.rescale(s).m, s
}

func (d decimal) add(e decimal) decimal {
	x, y, s := align(d, e)
	return decimal{m: new(big.Int).Add(x, y), scale: s}
}

func (d decimal) sub(e decimal) decimal {
	x, y, s := align(d, e)
	return decimal{m: new(big.Int).Sub(x, y), scale: s}
}

// mul multiplies exactly, but rounds beyond maxDecimalScale places, so
// that repeated products cannot grow without bound.
func (d decimal) mul(e decimal) decimal {
	p := decimal{m: new(big.Int).Mul(d.m, e.m), scale: d.scale + e.scale}
	if p.scale > maxDecimalScale {
		return p.round(maxDecimalScale)
	}
	return p
}

func (d decimal) neg() decimal { return decimal{m: new(big.Int).Neg(d.m), scale: d.scale} }

func (d decimal) sign() int { return d.m.Sign() }

// quo divides d by e, which must not be zero, to divScale places (or the
// operands' scale if larger), rounding half away from zero, then drops the
// trailing zeros beyond the operands' scale: 1 / 2 is 0.5, 1.2 / 1.8 is
// 0.66666667.
func (d decimal) quo(e decimal) decimal {
	scale := max(divScale, d.scale, e.scale)
	r := new(big.Rat).SetFrac(d.m, e.m)
	r.Mul(r, new(big.Rat).SetFrac(pow10(e.scale), pow10(d.scale)))
	q := ratToDecimal(r, scale)
	return q.trim(max(d.scale, e.scale))
}

// trim drops trailing fractional zeros down to minScale places.
func (d decimal) trim(minScale int) decimal {
	m, s := new(big.Int).Set(d.m), d.scale
	rem := new(big.Int)
	for s > minScale {
		q, r := new(big.Int).QuoRem(m, bigTen, rem)
		if r.Sign() != 0 {
			break
		}
		m, s = q, s-1
	}
	return decimal{m: m, scale: s}
}

// ratToDecimal rounds r half away from zero to scale places.
func ratToDecimal(r *big.Rat, scale int) decimal {
	num := new(big.Int).Mul(r.Num(), pow10(scale))
	den := r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	rem.Abs(rem).Lsh(rem, 1)
	if rem.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, bigOne)
		} else {
			q.Add(q, bigOne)
		}
	}
	return decimal{m: q, scale: scale}
}

// exactDecimal returns r as a decimal if it has at most maxScale places:
// if its denominator has no prime factors but 2 and 5.
func exactDecimal(r *big.Rat, maxScale int) (decimal, bool) {
	den := new(big.Int).Set(r.Denom())
	twos := int(den.TrailingZeroBits())
	den.Rsh(den, uint(twos))
	fives := 0
	five, rem := big.NewInt(5), new(big.Int)
	for den.Cmp(bigOne) != 0 {
		q, m := new(big.Int).QuoRem(den, five, rem)
		if m.Sign() != 0 {
			return decimal{}, false
		}
		den, fives = q, fives+1
		if fives > maxScale {
			return decimal{}, false
		}
	}
	scale := max(twos, fives)
	if scale > maxScale {
		return decimal{}, false
	}
	n := new(big.Int).Mul(r.Num(), pow10(scale))
	return decimal{m: n.Quo(n, r.Denom()), scale: scale}, true
}

func (d decimal) rat() *big.Rat { return new(big.Rat).SetFrac(d.m, pow10(d.scale)) }

func (d decimal) cmp(e decimal) int {
	x, y, _ := align(d, e)
	return x.Cmp(y)
}

// round rounds half away from zero to n places (n <= d.scale leaves it).
func (d decimal) round(n int) decimal {
	if n >= d.scale {
		return d
	}
	return ratToDecimal(d.rat(), n)
}

// truncTo drops digits beyond n places, toward zero.
func (d decimal) truncTo(n int) decimal {
	if n >= d.scale {
		return d
	}
	return decimal{m: new(big.Int).Quo(d.m, pow10(d.scale-n)), scale: n}
}

// floorTo rounds toward negative infinity to n places.
func (d decimal) floorTo(n int) decimal {
	t := d.truncTo(n)
	if d.sign() < 0 && t.rescale(d.scale).m.Cmp(d.m) != 0 {
		t.m.Sub(t.m, bigOne)
	}
	return t
}

// ceilTo rounds toward positive infinity to n places.
func (d decimal) ceilTo(n int) decimal {
	t := d.truncTo(n)
	if d.sign() > 0 && t.rescale(d.scale).m.Cmp(d.m) != 0 {
		t.m.Add(t.m, bigOne)
	}
	return t
}

// int64 returns d as an integer if it is one that fits.
func (d decimal) int64() (int64, bool) {
	t := d.truncTo(0)
	if t.rescale(d.scale).m.Cmp(d.m) != 0 || !t.m.IsInt64() {
		return 0, false
	}
	return t.m.Int64(), true
}

func (d decimal) float() float64 {
	f, _ := d.rat().Float64()
	return f
}

// decFromFloat converts the result of a math function; NaN and infinities
// have no decimal.
func decFromFloat(f float64) (decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal{}, false
	}
	return parseDecimal(strconv.FormatFloat(f, 'f', -1, 64))
}
