// Package fold turns strings into the form that FHIR string search compares,
// suited to Japanese as well as to Latin text.
//
// FHIR string search matches regardless of case and accents. For Japanese
// names, the same person is also written in full-width or half-width
// katakana, or in hiragana, and with full-width or ideographic spaces.
// String maps all of these to one form:
//
//   - Unicode compatibility normalisation (NFKC): half-width katakana
//     ﾔﾏﾀﾞ becomes ヤマダ, full-width ＡＢＣ becomes ABC;
//   - case folding: ABC becomes abc;
//   - Latin, Greek and Cyrillic diacritics removed: José becomes jose, while
//     the Japanese voiced marks stay, so ダ still differs from タ;
//   - hiragana mapped to katakana: やまだ becomes ヤマダ; the long-vowel mark
//     and small kana stay as they are;
//   - runs of white space, the ideographic space U+3000 included, collapsed
//     to one ASCII space and trimmed at both ends.
//
// Kanji are left untouched. String is idempotent, and its result is always
// valid UTF-8 in Unicode normalisation form NFC.
package fold
