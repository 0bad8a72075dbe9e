package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// inputString returns the String that a string function is applied to;
// ok is false for an empty input, and anything but one String is an error.
func (n *callNode) inputString(c *evalCtx, in Collection) (string, bool, error) {
	it, ok, err := n.input(c, in)
	if err != nil || !ok || it.v == nil {
		return "", false, err
	}
	s, ok := stringOf(it)
	if !ok {
		return "", false, c.errorf(n.pos, "%s: input must be a String, got %s", n.name, kindName(it))
	}
	return s, true, nil
}

func fnIndexOf(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	sub, ok, err := n.argString(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	i := strings.Index(s, sub)
	if i >= 0 {
		i = utf8.RuneCountInString(s[:i])
	}
	return collection(intItem(int64(i))), nil
}

func fnSubstring(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	start, ok, err := n.argInt(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	runes := []rune(s)
	if start < 0 || start >= int64(len(runes)) {
		return nil, nil
	}
	end := int64(len(runes))
	if len(n.args) > 1 {
		length, ok, err := n.argInt(c, 1)
		if err != nil {
			return nil, err
		}
		if ok {
			end = min(end, start+max(length, 0))
		}
	}
	return collection(stringItem(string(runes[start:end]))), nil
}

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }

// stringTest returns startsWith(), endsWith() or contains().
func stringTest(test func(s, arg string) bool) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		s, ok, err := n.inputString(c, in)
		if err != nil || !ok {
			return nil, err
		}
		arg, ok, err := n.argString(c, 0)
		if err != nil || !ok {
			return nil, err
		}
		return boolColl(test(s, arg)), nil
	}
}

func upper(s string) string { return strings.ToUpper(s) }
func lower(s string) string { return strings.ToLower(s) }
func trim(s string) string  { return strings.TrimSpace(s) }

// stringMap returns upper(), lower() or trim().
func stringMap(f func(string) string) fnImpl {
	return func(c *evalCtx, n *callNode, in Collection) (Collection, error) {
		s, ok, err := n.inputString(c, in)
		if err != nil || !ok {
			return nil, err
		}
		return collection(stringItem(f(s))), nil
	}
}

func fnReplace(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	pattern, ok, err := n.argString(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	subst, ok, err := n.argString(c, 1)
	if err != nil || !ok {
		return nil, err
	}
	count := strings.Count(s, pattern)
	if err := c.checkString(n.pos, len(s)+count*(len(subst)-len(pattern))); err != nil {
		return nil, err
	}
	return collection(stringItem(strings.ReplaceAll(s, pattern, subst))), nil
}

// pattern returns the regular expression argument, compiled at compile
// time when it was a literal.
func (n *callNode) pattern(c *evalCtx) (*regexp.Regexp, bool, error) {
	if n.re != nil {
		return n.re, true, nil
	}
	p, ok, err := n.argString(c, 0)
	if err != nil || !ok {
		return nil, false, err
	}
	re, err := compilePattern(p, n.name == "matchesFull")
	if err != nil {
		return nil, false, c.errorf(n.pos, "%s: invalid regular expression: %v", n.name, err)
	}
	return re, true, nil
}

func fnMatches(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	re, ok, err := n.pattern(c)
	if err != nil || !ok {
		return nil, err
	}
	return boolColl(re.MatchString(s)), nil
}

func fnReplaceMatches(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	re, ok, err := n.pattern(c)
	if err != nil || !ok {
		return nil, err
	}
	subst, ok, err := n.argString(c, 1)
	if err != nil || !ok {
		return nil, err
	}
	if re.String() == "(?s)" {
		return collection(stringItem(s)), nil // an empty pattern replaces nothing
	}
	matches := len(re.FindAllStringIndex(s, -1))
	if err := c.checkString(n.pos, len(s)+matches*len(subst)*2); err != nil {
		return nil, err
	}
	return collection(stringItem(re.ReplaceAllString(s, subst))), nil
}

func fnLength(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	return collection(intItem(int64(utf8.RuneCountInString(s)))), nil
}

func fnToChars(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, r := range s {
		out = append(out, stringItem(string(r)))
	}
	return out, nil
}

func fnSplit(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	sep, ok, err := n.argString(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	parts := strings.Split(s, sep)
	out := make(Collection, len(parts))
	for i, p := range parts {
		out[i] = stringItem(p)
	}
	return out, nil
}

func fnJoin(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	sep := ""
	if len(n.args) > 0 {
		s, ok, err := n.argString(c, 0)
		if err != nil {
			return nil, err
		}
		if ok {
			sep = s
		}
	}
	parts := make([]string, 0, len(in))
	for _, it := range in {
		s, ok := stringOf(it)
		if !ok {
			return nil, c.errorf(n.pos, "join: expected Strings, got %s", kindName(it))
		}
		parts = append(parts, s)
	}
	if err := c.checkString(n.pos, stringsSize(parts, sep)); err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return collection(stringItem(strings.Join(parts, sep))), nil
}

func stringsSize(parts []string, sep string) int {
	n := len(sep) * len(parts)
	for _, p := range parts {
		n += len(p)
	}
	return n
}

// codec applies encode(), decode(), escape() or unescape() with the format
// named by the argument.
func codec(c *evalCtx, n *callNode, in Collection, formats map[string]func(string) (string, bool)) (Collection, error) {
	s, ok, err := n.inputString(c, in)
	if err != nil || !ok {
		return nil, err
	}
	format, ok, err := n.argString(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	f, known := formats[format]
	if !known {
		return nil, c.errorf(n.pos, "%s: unknown format %q", n.name, format)
	}
	if err := c.checkString(n.pos, 6*len(s)); err != nil {
		return nil, err
	}
	r, ok := f(s)
	if !ok {
		return nil, nil
	}
	return collection(stringItem(r)), nil
}

var encoders = map[string]func(string) (string, bool){
	"base64":    func(s string) (string, bool) { return base64.StdEncoding.EncodeToString([]byte(s)), true },
	"urlbase64": func(s string) (string, bool) { return base64.URLEncoding.EncodeToString([]byte(s)), true },
	"hex":       func(s string) (string, bool) { return hex.EncodeToString([]byte(s)), true },
}

var decoders = map[string]func(string) (string, bool){
	"base64":    decodeWith(base64.StdEncoding.DecodeString),
	"urlbase64": decodeWith(base64.URLEncoding.DecodeString),
	"hex":       decodeWith(hex.DecodeString),
}

func decodeWith(dec func(string) ([]byte, error)) func(string) (string, bool) {
	return func(s string) (string, bool) {
		b, err := dec(s)
		return string(b), err == nil
	}
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

var escapers = map[string]func(string) (string, bool){
	"html": func(s string) (string, bool) { return htmlEscaper.Replace(s), true },
	"json": func(s string) (string, bool) {
		q := strconv.Quote(s)
		return q[1 : len(q)-1], true
	},
}

var unescapers = map[string]func(string) (string, bool){
	"html": func(s string) (string, bool) { return html.UnescapeString(s), true },
	"json": func(s string) (string, bool) { return unescapeJSON(s), true },
}

// unescapeJSON decodes the escapes of a JSON string body, leaving
// anything that is not an escape as it is.
func unescapeJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if n, err := strconv.ParseUint(s[i+1:min(i+5, len(s))], 16, 32); err == nil && i+5 <= len(s) {
				b.WriteRune(rune(n))
				i += 4
				continue
			}
			b.WriteString("\\u")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func fnEncode(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	return codec(c, n, in, encoders)
}

func fnDecode(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	return codec(c, n, in, decoders)
}

func fnEscape(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	return codec(c, n, in, escapers)
}

func fnUnescape(c *evalCtx, n *callNode, in Collection) (Collection, error) {
	return codec(c, n, in, unescapers)
}
