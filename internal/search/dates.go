package search

import (
	"fmt"
	"time"
)

// DateRange parses a FHIR date, dateTime or instant and returns the period
// it denotes at its precision: "2024" is all of 2024, "2024-03-05T10:00"
// one minute. A value without a time zone is taken as UTC.
func DateRange(s string) (start, end time.Time, err error) {
	layouts := []struct {
		layout string
		step   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05Z07:00", nil},
		{"2006-01-02T15:04:05", nil},
	}
	for _, l := range layouts {
		t, perr := time.Parse(l.layout, s)
		if perr != nil {
			continue
		}
		if l.step != nil {
			return t, l.step(t), nil
		}
		return t, t.Add(secondFraction(s)), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%q is not a FHIR date, dateTime or instant", s)
}

// secondFraction is the width of the last digit of the seconds in s: one
// second for "…:05", a millisecond for "…:05.123".
func secondFraction(s string) time.Duration {
	d := time.Second
	dot := false
	for _, c := range s {
		switch {
		case c == '.':
			dot = true
		case dot && c >= '0' && c <= '9':
			d /= 10
		case dot:
			return max(d, time.Nanosecond)
		}
	}
	return max(d, time.Nanosecond)
}
