package fhirpath

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// precision is how much of a date or time a value gives.
type precision uint8

const (
	precYear precision = iota + 1
	precMonth
	precDay
	precHour
	precMinute
	precSecond
	precMilli
)

// dateTime is a parsed Date, DateTime or Time (kind tells which). Fields
// beyond prec are zero. FHIRPath compares them field by field down to the
// coarser precision, so they are kept as fields rather than as an instant.
type dateTime struct {
	kind                                sysType // sysDate, sysDateTime or sysTime
	prec                                precision
	year, month, day, hour, minute, sec int
	milli                               int
	tz                                  bool // an offset is given (DateTime only)
	zulu                                bool // and was written Z
	offset                              int  // minutes east of UTC
}

// parseDateTime parses a date, dateTime or time as FHIR writes it and as
// FHIRPath literals do after the @ (for times, after the T): "2015",
// "2015-02-04T14:34:28.123+10:00", "14:34". A DateTime may stop at any
// precision, as FHIRPath allows and partial FHIR dateTimes do.
func parseDateTime(s string, kind sysType) (dateTime, bool) {
	d := dateTime{kind: kind}
	p := dtParser{s: s}
	if kind == sysTime {
		if !p.clock(&d) || p.i != len(s) {
			return dateTime{}, false
		}
		return d, true
	}
	if !p.date(&d) {
		return dateTime{}, false
	}
	if p.i < len(s) && s[p.i] == 'T' && kind == sysDateTime {
		p.i++
		if p.i < len(s) && d.prec == precDay {
			if !p.clock(&d) || !p.zone(&d) {
				return dateTime{}, false
			}
		}
	}
	if p.i != len(s) {
		return dateTime{}, false
	}
	return d, true
}

// dtParser reads the fields of a date or time from s at i.
type dtParser struct {
	s string
	i int
}

// num reads exactly n digits.
func (p *dtParser) num(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

// sep consumes c if it is next and followed by a digit.
func (p *dtParser) sep(c byte) bool {
	if p.i+1 < len(p.s) && p.s[p.i] == c && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' {
		p.i++
		return true
	}
	return false
}

func (p *dtParser) date(d *dateTime) bool {
	var ok bool
	if d.year, ok = p.num(4); !ok {
		return false
	}
	d.prec = precYear
	if !p.sep('-') {
		return true
	}
	if d.month, ok = p.num(2); !ok || d.month < 1 || d.month > 12 {
		return false
	}
	d.prec = precMonth
	if !p.sep('-') {
		return true
	}
	if d.day, ok = p.num(2); !ok || d.day < 1 || d.day > daysIn(d.year, d.month) {
		return false
	}
	d.prec = precDay
	return true
}

func (p *dtParser) clock(d *dateTime) bool {
	var ok bool
	if d.hour, ok = p.num(2); !ok || d.hour > 23 {
		return false
	}
	d.prec = precHour
	if !p.sep(':') {
		return true
	}
	if d.minute, ok = p.num(2); !ok || d.minute > 59 {
		return false
	}
	d.prec = precMinute
	if !p.sep(':') {
		return true
	}
	if d.sec, ok = p.num(2); !ok || d.sec > 59 {
		return false
	}
	d.prec = precSecond
	if !p.sep('.') {
		return true
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	frac := p.s[start:p.i] + "00"
	d.milli = int(frac[0]-'0')*100 + int(frac[1]-'0')*10 + int(frac[2]-'0')
	d.prec = precMilli
	return true
}

func (p *dtParser) zone(d *dateTime) bool {
	if p.i == len(p.s) {
		return true
	}
	switch p.s[p.i] {
	case 'Z':
		p.i++
		d.tz, d.zulu = true, true
		return true
	case '+', '-':
		sign := 1
		if p.s[p.i] == '-' {
			sign = -1
		}
		p.i++
		h, ok := p.num(2)
		if !ok || h > 14 || p.i >= len(p.s) || p.s[p.i] != ':' {
			return false
		}
		p.i++
		m, ok := p.num(2)
		if !ok || m > 59 {
			return false
		}
		d.tz, d.offset = true, sign*(h*60+m)
		return true
	}
	return false
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String formats d in FHIR syntax, to its precision.
func (d dateTime) String() string {
	var b strings.Builder
	if d.kind != sysTime {
		fmt.Fprintf(&b, "%04d", d.year)
		if d.prec >= precMonth {
			fmt.Fprintf(&b, "-%02d", d.month)
		}
		if d.prec >= precDay {
			fmt.Fprintf(&b, "-%02d", d.day)
		}
		if d.prec < precHour {
			return b.String()
		}
		b.WriteByte('T')
	}
	fmt.Fprintf(&b, "%02d", d.hour)
	if d.prec >= precMinute {
		fmt.Fprintf(&b, ":%02d", d.minute)
	}
	if d.prec >= precSecond {
		fmt.Fprintf(&b, ":%02d", d.sec)
	}
	if d.prec >= precMilli {
		fmt.Fprintf(&b, ".%03d", d.milli)
	}
	if d.tz {
		if d.zulu {
			b.WriteByte('Z')
		} else {
			off, sign := d.offset, '+'
			if off < 0 {
				off, sign = -off, '-'
			}
			fmt.Fprintf(&b, "%c%02d:%02d", sign, off/60, off%60)
		}
	}
	return b.String()
}

// zone returns the time zone of d's offset.
func (d dateTime) zone() *time.Location {
	if !d.tz || d.offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", d.offset*60)
}

// instant returns d as a time.Time, the fields beyond its precision zero.
func (d dateTime) instant() time.Time {
	y, mo, day := d.year, max(d.month, 1), max(d.day, 1)
	if d.kind == sysTime {
		y, mo, day = 2000, 1, 1
	}
	return time.Date(y, time.Month(mo), day, d.hour, d.minute, d.sec, d.milli*1e6, d.zone())
}

// withInstant returns d with its fields set from t, keeping kind, precision
// and time zone.
func (d dateTime) withInstant(t time.Time) dateTime {
	t = t.In(d.zone())
	e := d
	e.year, e.month, e.day = t.Year(), int(t.Month()), t.Day()
	e.hour, e.minute, e.sec, e.milli = t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6
	e.truncate()
	return e
}

// truncate zeroes the fields beyond d's precision.
func (d *dateTime) truncate() {
	if d.kind != sysTime {
		if d.prec < precMonth {
			d.month = 0
		}
		if d.prec < precDay {
			d.day = 0
		}
	}
	if d.prec < precHour {
		d.hour = 0
	}
	if d.prec < precMinute {
		d.minute = 0
	}
	if d.prec < precSecond {
		d.sec = 0
	}
	if d.prec < precMilli {
		d.milli = 0
	}
}

// utc returns d shifted to UTC, if it has a time and an offset.
func (d dateTime) utc() dateTime {
	if !d.tz || d.prec < precHour || d.kind == sysTime {
		return d
	}
	t := d.instant()
	e := d
	e.offset, e.zulu = 0, true
	return e.withInstant(t)
}

// fields returns the comparable fields of d coarsest first, the second and
// its fraction as one (FHIRPath compares them as one decimal precision), and
// how many of them d has.
func (d dateTime) fields() ([6]int, int) {
	f := [6]int{d.year, d.month, d.day, d.hour, d.minute, d.sec*1000 + d.milli}
	n := int(d.prec)
	if d.prec == precMilli {
		n = int(precSecond)
	}
	if d.kind == sysTime {
		f = [6]int{d.hour, d.minute, d.sec*1000 + d.milli}
		n -= int(precDay)
	}
	return f, n
}

// compareDateTimes orders a and b as FHIRPath does. ok is false when the
// result is unknown: the values agree as far as both go but one goes
// further ("@2012-04-15" against "@2012-04-15T10:00"), or one has a time
// zone and the other not and they lie within the spread of time zones
// (UTC-12 to UTC+14) of each other. comparable is false for a Time against
// a Date or DateTime.
func compareDateTimes(a, b dateTime) (c int, ok, comparable bool) {
	if (a.kind == sysTime) != (b.kind == sysTime) {
		return 0, false, false
	}
	if a.prec >= precHour && b.prec >= precHour && a.kind != sysTime {
		if a.tz != b.tz {
			return compareAcrossZones(a, b)
		}
		a, b = a.utc(), b.utc()
	}
	fa, na := a.fields()
	fb, nb := b.fields()
	for i := 0; i < min(na, nb); i++ {
		if fa[i] != fb[i] {
			if fa[i] < fb[i] {
				return -1, true, true
			}
			return 1, true, true
		}
	}
	if na != nb {
		return 0, false, true
	}
	return 0, true, true
}

// compareAcrossZones orders a DateTime with an offset and one without: the
// one without may be in any zone, so only values more than the spread of
// zones apart are ordered.
func compareAcrossZones(a, b dateTime) (int, bool, bool) {
	ta := a.instant()
	tb := b.instant()
	if !a.tz {
		ta = time.Date(ta.Year(), ta.Month(), ta.Day(), ta.Hour(), ta.Minute(), ta.Second(), ta.Nanosecond(), time.UTC)
	}
	if !b.tz {
		tb = time.Date(tb.Year(), tb.Month(), tb.Day(), tb.Hour(), tb.Minute(), tb.Second(), tb.Nanosecond(), time.UTC)
	}
	diff := ta.Sub(tb)
	if diff < 0 {
		diff = -diff
	}
	if diff <= 14*time.Hour {
		return 0, false, true
	}
	if ta.Before(tb) {
		return -1, true, true
	}
	return 1, true, true
}

// calendarUnit is a unit date/time arithmetic can add.
type calendarUnit uint8

const (
	calNone calendarUnit = iota
	calYear
	calMonth
	calWeek
	calDay
	calHour
	calMinute
	calSecond
	calMilli
)

// calendarUnits maps calendar duration keywords and the UCUM units of
// definite duration to calendar units. The UCUM year (a) and month (mo) are
// averages, not calendar durations, so date arithmetic refuses them.
var calendarUnits = map[string]calendarUnit{
	"year": calYear, "years": calYear, "month": calMonth, "months": calMonth,
	"week": calWeek, "weeks": calWeek, "day": calDay, "days": calDay,
	"hour": calHour, "hours": calHour, "minute": calMinute, "minutes": calMinute,
	"second": calSecond, "seconds": calSecond, "millisecond": calMilli, "milliseconds": calMilli,
	"wk": calWeek, "d": calDay, "h": calHour, "min": calMinute, "s": calSecond, "ms": calMilli,
}

// isCalendarKeyword reports whether unit is a calendar duration keyword
// (year, months, ...) rather than a UCUM code.
func isCalendarKeyword(unit string) bool {
	switch strings.TrimSuffix(unit, "s") {
	case "year", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return true
	}
	return false
}

// addDuration adds n units to d. Amounts finer than d's precision are first
// converted to it and truncated (a Date plus 25 hours is a day later), as
// FHIRPath specifies. It reports false for units a Time cannot take.
func (d dateTime) addDuration(n int64, unit calendarUnit) (dateTime, bool) {
	if d.kind == sysTime && unit <= calDay {
		return dateTime{}, false
	}
	n, unit = coarsen(n, unit, d.prec, d.kind)
	if unit == calNone {
		return d, true
	}
	switch unit {
	case calYear, calMonth:
		months := n
		if unit == calYear {
			months = n * 12
		}
		e := d
		total := int64(e.year)*12 + int64(max(e.month, 1)-1) + months
		if total < 0 || total/12 > 9999 {
			return dateTime{}, false
		}
		e.year = int(total / 12)
		if e.prec >= precMonth {
			e.month = int(total%12) + 1
		}
		if e.prec >= precDay {
			e.day = min(e.day, daysIn(e.year, e.month))
		}
		return e, true
	}
	var step time.Duration
	switch unit {
	case calWeek:
		step = 7 * 24 * time.Hour
	case calDay:
		step = 24 * time.Hour
	case calHour:
		step = time.Hour
	case calMinute:
		step = time.Minute
	case calSecond:
		step = time.Second
	default:
		step = time.Millisecond
	}
	if n > int64(math.MaxInt64/step) || n < -int64(math.MaxInt64/step) {
		return dateTime{}, false
	}
	t := d.instant().Add(time.Duration(n) * step)
	if d.kind != sysTime && (t.Year() < 1 || t.Year() > 9999) {
		return dateTime{}, false
	}
	return d.withInstant(t), true
}

// coarsen converts n units to the unit of precision p, truncating, when the
// unit is finer than p.
func coarsen(n int64, unit calendarUnit, p precision, kind sysType) (int64, calendarUnit) {
	finest := calMilli
	switch p {
	case precYear:
		finest = calYear
	case precMonth:
		finest = calMonth
	case precDay:
		finest = calDay
	case precHour:
		finest = calHour
	case precMinute:
		finest = calMinute
	case precSecond:
		finest = calSecond
	}
	if unit <= finest {
		return n, unit
	}
	ms := [...]int64{calWeek: 7 * 86400000, calDay: 86400000, calHour: 3600000, calMinute: 60000, calSecond: 1000, calMilli: 1}
	switch finest {
	case calYear, calMonth:
		if unit == calMonth {
			return n / 12, calYear
		}
		days := n * ms[unit] / ms[calDay]
		if finest == calYear {
			return days / 365, calYear
		}
		return days / 30, calMonth
	}
	return n * ms[unit] / ms[finest], finest
}
