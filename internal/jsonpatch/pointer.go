package jsonpatch

import (
	"errors"
	"strconv"
	"strings"
)

// parsePointer splits a JSON Pointer (RFC 6901) into its reference tokens,
// with ~1 and ~0 decoded. The empty pointer, the whole document, has none.
func parsePointer(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != '/' {
		return nil, errors.New("JSON Pointer must be empty or start with '/'")
	}
	tokens := strings.Split(s[1:], "/")
	for i, tok := range tokens {
		if strings.IndexByte(tok, '~') < 0 {
			continue
		}
		var err error
		if tokens[i], err = unescapeToken(tok); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// unescapeToken decodes ~1 to '/' and ~0 to '~' in one pass, so that "~01"
// is "~1" and not "/".
func unescapeToken(tok string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '~' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1') {
			return "", errors.New("JSON Pointer has '~' not followed by 0 or 1")
		}
		i++
		if tok[i] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
	}
	return b.String(), nil
}

// arrayIndex resolves the reference token tok against an array of length n.
// Only add may name the position after the last element, either as n or
// as "-".
func arrayIndex(tok string, n int, forAdd bool) (int, error) {
	if tok == "-" {
		if forAdd {
			return n, nil
		}
		return 0, errors.New(`array index "-" names no element; only add may use it`)
	}
	if !isIndex(tok) {
		return 0, errors.New("invalid array index " + strconv.Quote(tok))
	}
	i, err := strconv.Atoi(tok)
	limit := n
	if forAdd {
		limit = n + 1
	}
	if err != nil || i >= limit {
		return 0, errors.New("array index " + tok + " out of range (length " + strconv.Itoa(n) + ")")
	}
	return i, nil
}

// isIndex reports whether tok is an array index as RFC 6901 spells it:
// "0", or digits without a leading zero.
func isIndex(tok string) bool {
	if tok == "" || (tok[0] == '0' && len(tok) > 1) {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}

// isProperPrefix reports whether pointer tokens a are a proper prefix of b,
// that is, whether b is inside the value that a names.
func isProperPrefix(a, b []string) bool {
	if len(a) >= len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
