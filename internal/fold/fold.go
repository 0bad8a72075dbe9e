package fold

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// String returns the folded form of s (see the package documentation).
// Text made of ASCII, kanji, kana and full-width ASCII takes a fast path of
// one pass over the bytes, and allocates nothing if it is already folded;
// other text is normalised in full.
func String(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return foldJapanese(s)
		case 'A' <= c && c <= 'Z':
			return foldASCII(s)
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return foldASCII(s)
			}
		case isASCIISpace(c):
			return foldASCII(s)
		}
	}
	return s
}

// HasPrefix reports whether the folded text begins with the folded prefix:
// the default match of a FHIR string search parameter.
func HasPrefix(text, prefix string) bool {
	return strings.HasPrefix(String(text), String(prefix))
}

// Contains reports whether the folded text contains the folded part: the
// :contains match of a FHIR string search parameter.
func Contains(text, part string) bool {
	return strings.Contains(String(text), String(part))
}

// isASCIISpace reports the ASCII runes that unicode.IsSpace accepts.
func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// foldASCII folds s, which may still hold non-ASCII bytes past the point
// where String stopped looking.
func foldASCII(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return foldJapanese(s)
		case isASCIISpace(c):
			space = len(b) > 0
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return string(b)
}

// foldUnicode folds any s. It decomposes s for compatibility (NFKD), maps
// rune by rune, and composes the result canonically, which amounts to NFKC
// of the mapped text: the voiced marks that decomposition split off kana
// join them again, on katakana now.
func foldUnicode(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var midBuf, outBuf [256]byte
	mid := midBuf[:0]
	space := false
	var it norm.Iter
	it.InitString(norm.NFKD, s)
	for !it.Done() {
		seg := it.Next()
		for len(seg) > 0 {
			r, n := utf8.DecodeRune(seg)
			seg = seg[n:]
			switch {
			case unicode.IsSpace(r):
				space = len(mid) > 0
				continue
			case isDiacritic(r):
				continue
			}
			if space {
				mid = append(mid, ' ')
				space = false
			}
			mid = appendFolded(mid, r)
		}
	}
	out := norm.NFC.Append(outBuf[:0], mid...)
	if string(out) == s { // compared without a copy
		return s
	}
	return string(out)
}

// isDiacritic reports the combining marks that String removes: those of
// the blocks of combining diacritics used with Latin, Greek and Cyrillic
// letters. The kana voiced marks U+3099 and U+309A are not among them.
func isDiacritic(r rune) bool {
	switch {
	case r < 0x300:
		return false
	case r <= 0x36F, // Combining Diacritical Marks
		0x1AB0 <= r && r <= 0x1AFF, // Combining Diacritical Marks Extended
		0x1DC0 <= r && r <= 0x1DFF, // Combining Diacritical Marks Supplement
		0x20D0 <= r && r <= 0x20FF, // Combining Diacritical Marks for Symbols
		0xFE20 <= r && r <= 0xFE2F: // Combining Half Marks
		return true
	}
	return false
}

// appendFolded appends the case-folded, katakana form of r.
func appendFolded(b []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(b, byte(r))
	case 'ぁ' <= r && r <= 'ゖ', r == 'ゝ' || r == 'ゞ':
		// Hiragana to katakana: the blocks are parallel, 0x60 apart.
		return utf8.AppendRune(b, r+('ア'-'あ'))
	case r == 'ß' || r == 'ẞ':
		return append(b, "ss"...)
	}
	// Simple case folding: mapping through upper case first makes the
	// variants of one letter (ς and σ, Cherokee small and capital) meet.
	return utf8.AppendRune(b, unicode.ToLower(unicode.ToUpper(r)))
}

// foldJapanese folds s quickly when it holds only runes whose folded form
// depends on no other rune: ASCII, kanji, full-width ASCII, kana (half-width
// kana with their voiced marks). Such text needs no general normalisation.
// Anything else goes to foldUnicode.
func foldJapanese(s string) string {
	var buf [256]byte
	b := buf[:0]
	same := true // b equals s so far
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case isASCIISpace(c):
				space, same = len(b) > 0, same && c == ' ' && !space && len(b) > 0
				i++
				continue
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
				same = false
			}
			b, space = appendSpace(b, space), false
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		var next rune // a following half-width voiced mark, if any
		if i+3 <= len(s) && s[i] == 0xEF && s[i+1] == 0xBE && (s[i+2] == 0x9E || s[i+2] == 0x9F) {
			next = 0xFF00 | rune(s[i+2])
		}
		f, joined, ok := simpleFold(r, next)
		switch {
		case !ok:
			return foldUnicode(s)
		case f == ' ':
			space, same = len(b) > 0, false
			continue
		case joined:
			i += 3 // the voiced mark joined the kana
		}
		if f != r {
			same = false
		}
		b, space = appendSpace(b, space), false
		b = utf8.AppendRune(b, f)
	}
	if same && !space {
		return s
	}
	return string(b)
}

func appendSpace(b []byte, space bool) []byte {
	if space {
		return append(b, ' ')
	}
	return b
}

// simpleFold returns the folded form of the non-ASCII rune r, or ok false
// if r needs the general path. next is a half-width voiced mark (U+FF9E or
// U+FF9F) that follows r, or 0; when r is half-width kana that the mark
// voices, the result is the voiced full-width kana, and joined is true.
func simpleFold(r, next rune) (f rune, joined, ok bool) {
	switch {
	case 0x4E00 <= r && r <= 0x9FFF, 0x3400 <= r && r <= 0x4DBF: // kanji
		return r, false, true
	case 0x30A1 <= r && r <= 0x30F6, 0x30FB <= r && r <= 0x30FE: // katakana, ・ー ヽヾ
		return r, false, true
	case 0x3041 <= r && r <= 0x3096, r == 0x309D || r == 0x309E: // hiragana
		return r + 0x60, false, true
	case r == 0x3000: // ideographic space
		return ' ', false, true
	case r == 0x3005 || r == 0x3006 || r == 0x3001 || r == 0x3002: // 々 〆 、 。
		return r, false, true
	case 0xFF01 <= r && r <= 0xFF5E: // full-width ASCII
		c := r - 0xFEE0
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c, false, true
	case 0xFF66 <= r && r <= 0xFF9D: // half-width katakana
		k := halfWidth[r-0xFF66]
		if next == 0 {
			return k, false, true
		}
		if v := voiced(k, next); v != 0 {
			return v, true, true
		}
	}
	return 0, false, false
}

// halfWidth maps U+FF66..U+FF9D to full-width katakana, as NFKC does.
var halfWidth = []rune("ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン")

// voiced returns the precomposed kana for k followed by the half-width
// voiced (U+FF9E) or semi-voiced (U+FF9F) mark, or 0 if there is none.
func voiced(k, mark rune) rune {
	switch {
	case mark == 0xFF9E && ('カ' <= k && k <= 'チ' && (k-'カ')%2 == 0 || k == 'ツ' || k == 'テ' || k == 'ト'):
		return k + 1
	case mark == 0xFF9E && 'ハ' <= k && k <= 'ホ' && (k-'ハ')%3 == 0:
		return k + 1
	case mark == 0xFF9F && 'ハ' <= k && k <= 'ホ' && (k-'ハ')%3 == 0:
		return k + 2
	case mark == 0xFF9E && k == 'ウ':
		return 'ヴ'
	}
	return 0
}
