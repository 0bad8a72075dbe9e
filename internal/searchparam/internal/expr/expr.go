// Package expr splits the FHIRPath expressions of SearchParameter resources
// by base type. It is shared by package searchparam and its generator, so
// that built-in and custom parameters are cut the same way.
//
// A SearchParameter with several bases has one expression for all of them,
// a union such as "AllergyIntolerance.code | Condition.code". ForBase keeps
// the parts of that union that apply to one base. It reads only as much
// FHIRPath as that takes: string literals, delimited identifiers and
// brackets, so that a "|" inside them is not taken for the union operator.
package expr

import (
	"slices"
	"strings"
)

// Split returns the top-level operands of the union operator "|" in expr,
// trimmed of surrounding white space. A part of an unbalanced or otherwise
// malformed expression is returned as it stands; compiling it is the
// caller's business.
func Split(expr string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		case '\'', '`':
			i = skipQuoted(expr, i, c)
		case '|':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(expr[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(expr[start:]))
}

// skipQuoted returns the index of the quote closing the literal that opens
// at expr[i], or the last index if it is not closed. A backslash escapes the
// next character, as in FHIRPath strings and delimited identifiers.
func skipQuoted(expr string, i int, quote byte) int {
	for i++; i < len(expr); i++ {
		switch expr[i] {
		case '\\':
			i++
		case quote:
			return i
		}
	}
	return len(expr) - 1
}

// Head returns the identifier a part of an expression starts with, after any
// opening parentheses, and the offset of that identifier in part. For
// "(Observation.value as Quantity)" it returns "Observation", 1. It returns
// "" if part starts with anything else (a literal, %variable, $this, an
// operator).
func Head(part string) (string, int) {
	i := 0
	for i < len(part) && (part[i] == '(' || part[i] == ' ' || part[i] == '\t' || part[i] == '\n' || part[i] == '\r') {
		i++
	}
	j := i
	for j < len(part) && isIdentByte(part[j], j == i) {
		j++
	}
	return part[i:j], i
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// IsTypeName reports whether an identifier heading a part names a type
// (FHIR type names start with an upper-case letter) rather than an element
// or function of the context (which start with a lower-case one).
func IsTypeName(ident string) bool {
	return ident != "" && 'A' <= ident[0] && ident[0] <= 'Z'
}

// IsDomainResource reports whether the resource type name inherits from
// DomainResource, as all R4 resource types do but Binary, Bundle and
// Parameters (which inherit from Resource directly). name is assumed to be
// a resource type.
func IsDomainResource(name string) bool {
	switch name {
	case "Binary", "Bundle", "Parameters", "Resource":
		return false
	}
	return true
}

// ForBase returns the parts of expr that apply to the resource type base,
// joined again by " | ": parts that start with base itself, or with
// Resource or (unless base is Binary, Bundle or Parameters) DomainResource,
// which base inherits from.
// Parts that start with an element or function name rather than a type
// ("name | alias") apply to every base; ForBase prefixes them with "base.",
// so that every expression of a registry starts with its type. Parts that
// start with another type are dropped; so are parts ForBase cannot read
// (not starting with an identifier), unless expr has just one part, which
// is then kept as it stands. The second result reports whether a relative
// part was prefixed.
func ForBase(expr, base string) (string, bool) {
	domain := IsDomainResource(base)
	parts := Split(expr)
	kept := parts[:0:0]
	prefixed := false
	for _, p := range parts {
		h, at := Head(p)
		switch {
		case h == base || h == "Resource" || domain && h == "DomainResource":
			kept = append(kept, p)
		case h != "" && !IsTypeName(h):
			kept = append(kept, p[:at]+base+"."+p[at:])
			prefixed = true
		case h == "" && len(parts) == 1:
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " | "), prefixed
}

// ResolveTarget returns X if part ends in ".where(resolve() is X)", the R4
// idiom that restricts a reference parameter to one target type.
func ResolveTarget(part string) (string, bool) {
	const prefix, suffix = ".where(resolve() is ", ")"
	p := strings.TrimSuffix(part, suffix)
	if len(p) == len(part) {
		return "", false
	}
	i := strings.LastIndex(p, prefix)
	if i < 0 {
		return "", false
	}
	t := p[i+len(prefix):]
	if !IsTypeName(t) {
		return "", false
	}
	for j := 0; j < len(t); j++ {
		if !isIdentByte(t[j], j == 0) {
			return "", false
		}
	}
	return t, true
}

// NarrowTargets returns the targets of a reference parameter whose
// expression (for one base) is e: targets sorted, narrowed to the types
// named by ".where(resolve() is X)" if every part of e ends so and names
// one of targets. The second result reports whether they were narrowed.
func NarrowTargets(targets []string, e string) ([]string, bool) {
	targets = slices.Sorted(slices.Values(targets))
	if len(targets) == 0 || e == "" {
		return targets, false
	}
	var named []string
	for _, part := range Split(e) {
		t, ok := ResolveTarget(part)
		if !ok {
			return targets, false
		}
		named = append(named, t)
	}
	var narrowed []string
	for _, t := range targets {
		if slices.Contains(named, t) {
			narrowed = append(narrowed, t)
		}
	}
	if len(narrowed) == 0 || len(narrowed) == len(targets) {
		return targets, false
	}
	return narrowed, true
}
