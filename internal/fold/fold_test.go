package fold_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"kartehub/internal/fold"
)

func TestString(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"Empty", "", ""},
		{"FoldedASCII", "yamada taro", "yamada taro"},
		{"UpperASCII", "YAMADA", "yamada"},
		{"Spaces", "  Yamada\u3000Taro ", "yamada taro"},
		{"ASCIISpaceRuns", "a \t\r\n b", "a b"},
		{"OnlySpaces", " \u3000\t", ""},
		{"Hiragana", "やまだ", "ヤマダ"},
		{"Katakana", "ヤマダ", "ヤマダ"},
		{"HalfWidthKatakana", "ﾔﾏﾀﾞ", "ヤマダ"},
		{"HalfWidthSemiVoiced", "ﾊﾟﾝ", "パン"},
		{"HiraganaVoiced", "だいご", "ダイゴ"},
		{"VoicedStaysDistinct", "タ", "タ"},
		{"MinusSignNotLongVowel", "ら−めん", "ラ−メン"},
		{"LongVowelMark", "すーぱー", "スーパー"},
		{"HalfWidthLongVowel", "ｽｰﾊﾟｰ", "スーパー"},
		{"SmallKanaKept", "きょうこ", "キョウコ"},
		{"SmallKatakanaKept", "ｷｮｳｺ", "キョウコ"},
		{"IterationMark", "いすゞ", "イスヾ"},
		{"Kanji", "山田", "山田"},
		{"KanjiAndSpace", "山田　太郎", "山田 太郎"},
		{"FullWidthLatin", "ＡＢＣ", "abc"},
		{"FullWidthDigits", "０１２", "012"},
		{"Accent", "José", "jose"},
		{"Accents", "Ærø Crème Brûlée", "ærø creme brulee"},
		{"Decomposed", "Jose\u0301", "jose"},
		{"SharpS", "Straße", "strasse"},
		{"FinalSigma", "ΟΔΟΣ οδος", "οδοσ οδοσ"},
		{"GreekAccent", "Ἀθῆναι", "αθηναι"},
		{"Cyrillic", "Йошкар", "иошкар"},
		{"Kelvin", "\u212A", "k"},
		{"CircledDigit", "①", "1"},
		{"SquareUnit", "㌔", "キロ"},
		{"InvalidUTF8", "a\xffb", "a\uFFFDb"},
		{"Mixed", " ﾔﾏﾀﾞ　Taro　やまだ ", "ヤマダ taro ヤマダ"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fold.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSameName(t *testing.T) {
	want := fold.String("ヤマダ")
	for _, s := range []string{"やまだ", "ﾔﾏﾀﾞ", "ヤマダ", " やまだ ", "ヤ\u30DE\u30BF\u3099"} {
		if got := fold.String(s); got != want {
			t.Errorf("String(%q) = %q, want %q", s, got, want)
		}
	}
	if fold.String("ヤマタ") == want {
		t.Error("ヤマタ folds like ヤマダ: voiced marks must stay")
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		text, part string
		prefix     bool
		contains   bool
	}{
		{"山田 太郎", "山田", true, true},
		{"ヤマダ タロウ", "やまだ", true, true},
		{"ﾔﾏﾀﾞ ﾀﾛｳ", "たろう", false, true},
		{"José García", "jose", true, true},
		{"José García", "GARCIA", false, true},
		{"ダイゴ", "タ", false, false},
		{"Yamada", "", true, true},
	} {
		t.Run(tt.text+"/"+tt.part, func(t *testing.T) {
			if got := fold.HasPrefix(tt.text, tt.part); got != tt.prefix {
				t.Errorf("HasPrefix(%q, %q) = %v, want %v", tt.text, tt.part, got, tt.prefix)
			}
			if got := fold.Contains(tt.text, tt.part); got != tt.contains {
				t.Errorf("Contains(%q, %q) = %v, want %v", tt.text, tt.part, got, tt.contains)
			}
		})
	}
}

func TestNoAllocationWhenFolded(t *testing.T) {
	for _, s := range []string{"yamada taro", "ヤマダ タロウ", "山田 太郎", "jose"} {
		if n := testing.AllocsPerRun(100, func() { fold.String(s) }); n != 0 {
			t.Errorf("String(%q) allocates %v times, want 0", s, n)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "Yamada Taro", "  Yamada　Taro ", "やまだ", "ﾔﾏﾀﾞ", "山田", "José",
		"Straße", "ΟΔΟΣ", "ゞ゛゜ﾞ", "\u3099a", "İ", "ǅ", "ﬁ", "\xff\xfe", "㍿", "ｶﾞｷﾞｸﾞ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := fold.String(s)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q) = %q: not valid UTF-8", s, got)
		}
		if again := fold.String(got); again != got {
			t.Fatalf("not idempotent: String(%q) = %q, String(%q) = %q", s, got, got, again)
		}
		if !norm.NFC.IsNormalString(got) {
			t.Fatalf("String(%q) = %q: not NFC", s, got)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("String(%q) = %q: white space not collapsed", s, got)
		}
	})
}

func BenchmarkString(b *testing.B) {
	for _, bb := range []struct{ name, in string }{
		{"FoldedASCII", "yamada taro"},
		{"ASCII", "Yamada Taro"},
		{"FoldedKatakana", "ヤマダ タロウ"},
		{"Kanji", "山田 太郎"},
		{"Hiragana", "やまだ たろう"},
		{"HalfWidth", "ﾔﾏﾀﾞ ﾀﾛｳ"},
		{"Latin", "José García"},
		{"Address", "北海道札幌市中央区北１条西２丁目１－１"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.in)))
			for b.Loop() {
				fold.String(bb.in)
			}
		})
	}
}
