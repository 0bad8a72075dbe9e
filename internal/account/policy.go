package account

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"kartehub/internal/karte"
)

// Policy is the password rule of the MHLW guideline (6.0): at least 13
// characters mixing letters, digits and symbols, or at least 8 for an
// account that has a second factor. kartehub reads "mixing" as at least 3
// of the 4 kinds (upper-case letters, lower-case letters, digits, symbols)
// and asks it of both lengths.
type Policy struct {
	MinLength    int // without a second factor
	MinLengthMFA int // with a confirmed second factor (TOTP)
	MinKinds     int // of the 4 kinds of character
	MaxLength    int // a bound against abuse, far above any real password
}

// DefaultPolicy is the guideline's rule.
var DefaultPolicy = Policy{MinLength: 13, MinLengthMFA: 8, MinKinds: 3, MaxLength: 256}

// The kinds of character, as error messages name them. Letters without
// case (kanji, kana) and everything else count as symbols.
var kindNames = [4]string{"upper-case letters", "lower-case letters", "digits", "symbols"}

func kindOf(r rune) int {
	switch {
	case unicode.IsUpper(r):
		return 0
	case unicode.IsLower(r):
		return 1
	case unicode.IsDigit(r):
		return 2
	}
	return 3
}

// Check returns nil if password may be the password of the account with
// the given login name, and otherwise an *karte.Error of Kind
// Unprocessable whose message lists everything that is missing, with one
// Issue per problem. secondFactor says whether the account has a confirmed
// second factor.
func (p Policy) Check(login, password string, secondFactor bool) error {
	var problems []string
	n := utf8.RuneCountInString(password)
	if !utf8.ValidString(password) {
		problems = append(problems, "it is not valid UTF-8 text")
	}
	switch {
	case secondFactor && n < p.MinLengthMFA:
		problems = append(problems, fmt.Sprintf("it has %d characters, at least %d are needed", n, p.MinLengthMFA))
	case !secondFactor && n < p.MinLength:
		problems = append(problems, fmt.Sprintf("it has %d characters, at least %d are needed (%d once a second factor is enrolled)",
			n, p.MinLength, p.MinLengthMFA))
	case n > p.MaxLength:
		problems = append(problems, fmt.Sprintf("it has %d characters, at most %d are allowed", n, p.MaxLength))
	}
	var has [4]bool
	for _, r := range password {
		has[kindOf(r)] = true
	}
	var have, lack []string
	for k, ok := range has {
		if ok {
			have = append(have, kindNames[k])
		} else {
			lack = append(lack, kindNames[k])
		}
	}
	if len(have) < p.MinKinds {
		what := "none"
		if len(have) > 0 {
			what = "only " + strings.Join(have, " and ")
		}
		problems = append(problems, fmt.Sprintf("it mixes %d kinds of character (%s), at least %d are needed: add %s",
			len(have), what, p.MinKinds, orList(lack, p.MinKinds-len(have))))
	}
	if login != "" && strings.Contains(strings.ToLower(password), strings.ToLower(login)) {
		if strings.EqualFold(password, login) {
			problems = append(problems, "it is the login name")
		} else {
			problems = append(problems, "it contains the login name")
		}
	}
	if len(problems) == 0 {
		return nil
	}
	e := &karte.Error{Kind: karte.Unprocessable, Message: "password refused: " + strings.Join(problems, "; ")}
	for _, pr := range problems {
		e.Issues = append(e.Issues, karte.Issue{Severity: "error", Code: "business-rule", Diagnostics: "password: " + pr})
	}
	return e
}

// orList says which of the kinds missing would do: "symbols", or "any 2 of
// upper-case letters, digits and symbols".
func orList(lack []string, need int) string {
	if len(lack) == 1 || need >= len(lack) {
		return strings.Join(lack, " and ")
	}
	if need == 1 {
		return strings.Join(lack[:len(lack)-1], ", ") + " or " + lack[len(lack)-1]
	}
	return fmt.Sprintf("any %d of %s and %s", need, strings.Join(lack[:len(lack)-1], ", "), lack[len(lack)-1])
}
