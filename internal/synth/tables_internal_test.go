package synth

import (
	"regexp"
	"testing"
)

func TestTables(t *testing.T) {
	if len(towns) != MaxFacilities {
		t.Errorf("%d towns, MaxFacilities is %d", len(towns), MaxFacilities)
	}
	seen := map[string]bool{}
	for _, tw := range towns {
		if seen[tw.name] {
			t.Errorf("town %s listed twice", tw.name)
		}
		seen[tw.name] = true
	}
	jlac := regexp.MustCompile(`^[0-9][A-Z0-9][0-9]{3}[0-9]{4}[0-9]{3}[0-9]{3}[0-9]{2}$`)
	for _, ts := range []*test{&testTC, &testTG, &testHDL, &testLDL, &testA1c, &testCre, &testBNP, &testNTp, &testTnT, &testTnI} {
		if !jlac.MatchString(ts.jlac10) {
			t.Errorf("%s: JLAC10 code %q is not 17 characters of the right shape", ts.key, ts.jlac10)
		}
	}
	hot := regexp.MustCompile(`^[0-9]{9}$`)
	for _, d := range drugs {
		if !hot.MatchString(d.hot9) {
			t.Errorf("%s: HOT9 code %q", d.key, d.hot9)
		}
	}
	icd := regexp.MustCompile(`^[A-Z][0-9]{2,3}$`)
	for _, c := range condOf {
		if !icd.MatchString(c.icd10) || len(c.exCode) != 4 {
			t.Errorf("%s: codes %q %q", c.key, c.icd10, c.exCode)
		}
	}
}

func TestDates(t *testing.T) {
	for _, tt := range []struct {
		y, m, d int
		want    string
		weekday int
	}{{1970, 1, 1, "1970-01-01", 4}, {2024, 2, 29, "2024-02-29", 4}, {1935, 12, 31, "1935-12-31", 2}, {2026, 3, 31, "2026-03-31", 2}} {
		d := date(tt.y, tt.m, tt.d)
		if got := string(appendDate(nil, d)); got != tt.want {
			t.Errorf("date(%d, %d, %d) formats as %s", tt.y, tt.m, tt.d, got)
		}
		if d.weekday() != tt.weekday {
			t.Errorf("%s: weekday %d, want %d", tt.want, d.weekday(), tt.weekday)
		}
	}
	if got := string(appendDateTime(nil, date(2023, 12, 31), 24*60+90)); got != "2024-01-01T01:30:00+09:00" {
		t.Errorf("a minute past midnight formats as %s", got)
	}
}
