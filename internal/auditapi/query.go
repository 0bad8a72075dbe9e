package auditapi

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// Page sizes: _count defaults to DefaultCount, and a larger one than
// MaxCount is cut to it, as FHIR lets a server do.
const (
	DefaultCount = 50
	MaxCount     = 1000
)

// maxValues bounds the values of one search, over all its parameters: the
// engines pass each as a statement argument.
const maxValues = 1000

// Search is a parsed AuditEvent search.
type Search struct {
	// Query is the whole search (all its pages); its Limit is Count.
	Query karte.AuditQuery
	// Count is the page size (_count); 0 asks for the total only.
	Count int
	// Total asks for Bundle.total (_total=accurate, or _count=0).
	Total bool
	// Cursor is the seq the page continues after (_cursor): the last
	// record of the page before. 0 on the first page.
	Cursor int64
}

// param is how a search parameter becomes a filter.
type param struct {
	name string // the audit.Index* name
	rank int    // lower goes first: the engines drive the search from the first filter
	// value checks and normalises one value.
	value func(string) (string, error)
}

var params = map[string]param{
	"entity-id": {audit.IndexEntityID, 0, plain},
	"patient":   {audit.IndexPatient, 1, patientRef},
	"entity":    {audit.IndexEntity, 2, plain},
	"agent":     {audit.IndexAgent, 3, plain},
	"address":   {audit.IndexAddress, 4, plain},
	"purpose":   {audit.IndexPurpose, 5, token},
	"subtype":   {audit.IndexSubtype, 6, token},
	"type":      {audit.IndexType, 7, token},
	"action":    {audit.IndexAction, 8, code("http://hl7.org/fhir/audit-event-action", "C", "R", "U", "D", "E")},
	"outcome":   {audit.IndexOutcome, 9, code("http://hl7.org/fhir/audit-event-outcome", "0", "4", "8", "12")},
}

// Parse reads the parameters of an AuditEvent search: the filters (see
// params), date, _id, _count, _sort (date or -date, the default), _total,
// _cursor, and _format and _pretty, which the caller handles. loc is the
// time zone of dates and times given without one (FHIR: the server's).
// Repeated parameters must all match; the comma-separated values of one
// parameter are alternatives. Any other parameter, a modifier, or a value
// it cannot read is an *karte.Error of Kind Invalid.
func Parse(values url.Values, loc *time.Location) (*Search, error) {
	s := &Search{Count: DefaultCount}
	s.Query.Descending = true
	var since, until []time.Time
	nvalues := 0
	for _, key := range sortedKeys(values) {
		name, modifier, hasModifier := strings.Cut(key, ":")
		for _, raw := range values[key] {
			if hasModifier {
				return nil, invalid("%s: modifier %q is not supported", name, modifier)
			}
			if p, ok := params[name]; ok {
				f := karte.AuditFilter{Name: p.name}
				for _, v := range splitValues(raw) {
					if v == "" {
						return nil, invalid("%s: empty value", name)
					}
					nv, err := p.value(v)
					if err != nil {
						return nil, invalid("%s=%s: %v", name, v, err)
					}
					if !slices.Contains(f.Values, nv) {
						f.Values = append(f.Values, nv)
					}
				}
				if nvalues += len(f.Values); nvalues > maxValues {
					return nil, invalid("more than %d values in one search", maxValues)
				}
				s.Query.Filters = append(s.Query.Filters, f)
				continue
			}
			var err error
			switch name {
			case "date":
				var lo, hi time.Time
				if lo, hi, err = dateBounds(raw, loc); err == nil {
					since, until = appendIf(since, lo), appendIf(until, hi)
				}
			case "_id":
				var id int64
				if id, err = parseID(raw); err == nil {
					s.Query.After, s.Query.Before = max(s.Query.After, id-1), minBound(s.Query.Before, id+1)
				}
			case "_count":
				var n int
				if n, err = strconv.Atoi(raw); err != nil || n < 0 {
					err = errorf("want a whole number from 0")
				}
				s.Count = min(n, MaxCount)
			case "_sort":
				switch raw {
				case "date", "_lastUpdated":
					s.Query.Descending = false
				case "-date", "-_lastUpdated":
					s.Query.Descending = true
				default:
					err = errorf("only date and -date (the default) are supported")
				}
			case "_total":
				switch raw {
				case "accurate":
					s.Total = true
				case "none", "estimate":
				default:
					err = errorf("want none, estimate or accurate")
				}
			case "_cursor":
				s.Cursor, err = parseID(raw)
			case "_format", "_pretty":
			default:
				return nil, invalid("unknown search parameter %q: AuditEvent is searched by %s", name, known())
			}
			if err != nil {
				return nil, invalid("%s=%s: %v", name, raw, err)
			}
		}
	}
	slices.SortStableFunc(s.Query.Filters, func(a, b karte.AuditFilter) int { return cmp.Compare(rankOf(a.Name), rankOf(b.Name)) })
	for _, t := range since {
		if s.Query.Since.IsZero() || t.After(s.Query.Since) {
			s.Query.Since = t
		}
	}
	for _, t := range until {
		if s.Query.Until.IsZero() || t.Before(s.Query.Until) {
			s.Query.Until = t
		}
	}
	s.Total = s.Total || s.Count == 0
	s.Query.Limit = s.Count
	return s, nil
}

// Page returns the query of the page that Cursor asks for: Query from
// the record after Cursor on.
func (s *Search) Page() karte.AuditQuery {
	q := s.Query
	switch {
	case s.Cursor == 0:
	case q.Descending:
		q.Before = minBound(q.Before, s.Cursor)
	default:
		q.After = max(q.After, s.Cursor)
	}
	return q
}

// known lists the parameters, for error messages.
func known() string {
	var names []string
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(append(names, "date", "_id", "_count", "_sort", "_total"), ", ")
}

func rankOf(name string) int {
	for _, p := range params {
		if p.name == name {
			return p.rank
		}
	}
	return len(params)
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// splitValues splits a parameter value at its commas; "\," is a comma
// inside a value, and "\\" a backslash.
func splitValues(s string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == ',' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

func plain(v string) (string, error) { return v, nil }

// patientRef takes "Patient/123" or "123".
func patientRef(v string) (string, error) {
	if !strings.Contains(v, "/") {
		return "Patient/" + v, nil
	}
	if !strings.HasPrefix(v, "Patient/") {
		return "", errorf("want a Patient reference (Patient/123) or a patient id")
	}
	return v, nil
}

// token takes "code" or "system|code".
func token(v string) (string, error) {
	if strings.HasSuffix(v, "|") {
		return "", errorf("a system without a code is not supported")
	}
	return v, nil
}

// code returns a value check for a code of a required value set: the code
// alone or with its system.
func code(system string, codes ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		c := strings.TrimPrefix(v, system+"|")
		if !slices.Contains(codes, c) {
			return "", errorf("want one of %s", strings.Join(codes, ", "))
		}
		return c, nil
	}
}

var idPattern = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// parseID reads an AuditEvent id: a record's seq.
func parseID(s string) (int64, error) {
	if !idPattern.MatchString(s) {
		return 0, errorf("not an AuditEvent id")
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id == math.MaxInt64 {
		return 0, errorf("not an AuditEvent id")
	}
	return id, nil
}

// minBound is the tighter of two upper bounds, where 0 is none.
func minBound(a, b int64) int64 {
	if a == 0 {
		return b
	}
	return min(a, b)
}

func appendIf(ts []time.Time, t time.Time) []time.Time {
	if t.IsZero() {
		return ts
	}
	return append(ts, t)
}

// datePattern is a FHIR date, dateTime or instant as search values write
// them: a year, a month, a day, or a time to the minute, second or a
// fraction, with an optional zone.
var datePattern = regexp.MustCompile(`^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$`)

// dateBounds reads one date parameter: a prefix and a date, which stands
// for the period its precision covers (2026-11 is the whole month). It
// returns the bounds the parameter sets on a record's time, Since <= time
// < Until, each zero if it sets none.
func dateBounds(v string, loc *time.Location) (since, until time.Time, err error) {
	prefix := "eq"
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	start, end, err := period(v, loc)
	if err != nil {
		return since, until, err
	}
	switch prefix {
	case "eq":
		return start, end, nil
	case "ge":
		return start, until, nil
	case "gt", "sa":
		return end, until, nil
	case "le":
		return since, end, nil
	case "lt", "eb":
		return since, start, nil
	}
	return since, until, errorf("prefix %q is not supported: use eq, ge, gt, le, lt, sa or eb", prefix)
}

// period returns the period that a FHIR date value covers: [start, end).
func period(v string, loc *time.Location) (start, end time.Time, err error) {
	m := datePattern.FindStringSubmatch(v)
	if m == nil {
		return start, end, errorf("not a date: want YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]")
	}
	if m[4] != "" && m[8] != "" {
		if m[8] == "Z" {
			loc = time.UTC
		} else {
			h, _ := strconv.Atoi(m[8][1:3])
			mi, _ := strconv.Atoi(m[8][4:6])
			if h > 14 || mi > 59 {
				return start, end, errorf("time zone %s out of range", m[8])
			}
			off := h*3600 + mi*60
			if m[8][0] == '-' {
				off = -off
			}
			loc = time.FixedZone(m[8], off)
		}
	}
	num := func(s string, def, lo, hi int) (int, bool) {
		if s == "" {
			return def, true
		}
		n, _ := strconv.Atoi(s)
		return n, n >= lo && n <= hi
	}
	year, _ := num(m[1], 0, 0, 9999)
	month, ok1 := num(m[2], 1, 1, 12)
	day, ok2 := num(m[3], 1, 1, 31)
	hour, ok3 := num(m[4], 0, 0, 23)
	minute, ok4 := num(m[5], 0, 0, 59)
	sec, ok5 := num(m[6], 0, 0, 59)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || year == 0 {
		return start, end, errorf("not a valid date")
	}
	nanos := 0
	if frac := m[7]; frac != "" {
		nanos, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
	}
	start = time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	if start.Day() != day {
		return start, end, errorf("not a valid date")
	}
	switch {
	case m[2] == "":
		end = start.AddDate(1, 0, 0)
	case m[3] == "":
		end = start.AddDate(0, 1, 0)
	case m[4] == "":
		end = start.AddDate(0, 0, 1)
	case m[6] == "":
		end = start.Add(time.Minute)
	case m[7] == "":
		end = start.Add(time.Second)
	default:
		step := time.Duration(1)
		for range 9 - len(m[7]) {
			step *= 10
		}
		end = start.Add(step)
	}
	return start, end, nil
}

func invalid(format string, args ...any) error {
	return karte.Errorf(karte.Invalid, format, args...)
}

// errorf makes the cause of an invalid value; invalid names the value.
var errorf = fmt.Errorf
