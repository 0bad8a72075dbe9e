package fold

import "testing"

// FuzzPaths checks that the fast paths of String give what the general
// path gives.
func FuzzPaths(f *testing.F) {
	for _, s := range []string{"Yamada Taro", "  Yamada　Taro ", "やまだ", "ﾔﾏﾀﾞ", "ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ｻﾞｼﾞｽﾞｾﾞｿﾞ",
		"ﾀﾞﾁﾞｯﾞﾂﾞﾃﾞﾄﾞ", "ﾊﾞﾋﾟﾌﾞﾍﾟﾎﾞ", "ｳﾞﾜﾞｦﾞｱﾞ", "カﾞ", "ﾞ", "山田　太郎", "１条西２丁目", "ＡＢＣ", "ゔゝゞ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := String(s), foldUnicode(s); got != want {
			t.Fatalf("String(%q) = %q, the general path gives %q", s, got, want)
		}
	})
}
