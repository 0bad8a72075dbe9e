package fhirapi_test

// The search tests compare what the server finds with what this file
// computes from the JSON of testdata/search/dataset.json: a plain Go model
// of FHIR search semantics (R4 §3.1.1), written apart from packages search,
// fold and sqlsearch so that a mistake there cannot hide itself. Only the
// choices that FHIR leaves to the server follow kartehub's documented ones:
// a date without a time zone is UTC, ap means within 10 %, and strings fold
// hiragana, katakana and half-width katakana together.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// dataset is the resources of testdata/search/dataset.json, as JSON.
type dataset struct {
	list  []*res
	byKey map[string]*res // "Type/id"
}

// res is one resource of the dataset.
type res struct {
	typ, id string
	json    map[string]any
}

func (r *res) key() string { return r.typ + "/" + r.id }

const datasetFile = "search/dataset.json"

// loadDataset reads the dataset from testdata.
func loadDataset(tb testing.TB) *dataset {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(testdata(tb, datasetFile)))
	dec.UseNumber()
	var b map[string]any
	if err := dec.Decode(&b); err != nil {
		tb.Fatalf("%s: %v", datasetFile, err)
	}
	d := &dataset{byKey: map[string]*res{}}
	for _, e := range b["entry"].([]any) {
		m := e.(map[string]any)["resource"].(map[string]any)
		r := &res{typ: m["resourceType"].(string), id: m["id"].(string), json: m}
		d.list = append(d.list, r)
		d.byKey[r.key()] = r
	}
	return d
}

// searchServer is a server loaded with the dataset, and the dataset.
type searchServer struct {
	*server
	d *dataset
}

// newSearchServer starts a server and loads the dataset with one
// transaction.
func newSearchServer(tb testing.TB) *searchServer {
	tb.Helper()
	s := newServer(tb)
	r := s.post(tb, "/fhir", testdata(tb, datasetFile))
	r.wantStatus(tb, http.StatusOK)
	for i, e := range r.entries(tb) {
		if st := str(e, "response.status"); !strings.HasPrefix(st, "201") {
			tb.Fatalf("loading %s: entry %d: status %q\n%v", datasetFile, i, st, e)
		}
	}
	return &searchServer{server: s, d: loadDataset(tb)}
}

// where returns the keys of the resources of typ for which match holds,
// in dataset order.
func (d *dataset) where(typ string, match func(r *res) bool) []string {
	var out []string
	for _, r := range d.list {
		if r.typ == typ && match(r) {
			out = append(out, r.key())
		}
	}
	return out
}

// all returns the keys of every resource of typ.
func (d *dataset) all(typ string) []string {
	return d.where(typ, func(*res) bool { return true })
}

// --- Reaching into the JSON ---

// vals returns the values at a dotted path such as "name.given", flattening
// arrays at every step.
func vals(v any, path string) []any {
	cur := []any{v}
	for _, step := range strings.Split(path, ".") {
		var next []any
		for _, c := range cur {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			switch x := m[step].(type) {
			case nil:
			case []any:
				next = append(next, x...)
			default:
				next = append(next, x)
			}
		}
		cur = next
	}
	return cur
}

// strs returns the strings at the paths.
func (r *res) strs(paths ...string) []string {
	var out []string
	for _, p := range paths {
		for _, v := range vals(r.json, p) {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// has reports whether the element at path exists.
func (r *res) has(path string) bool { return len(vals(r.json, path)) > 0 }

// nameParts are the strings of the HumanNames at path that the name
// parameters match: text, family, given, prefix and suffix.
func (r *res) nameParts(path string) []string {
	var out []string
	for _, part := range []string{"text", "family", "given", "prefix", "suffix"} {
		out = append(out, r.strs(path+"."+part)...)
	}
	return out
}

// refs returns the literal references of the Reference elements at path.
func (r *res) refs(path string) []string { return r.strs(path + ".reference") }

// refersTo reports whether a reference at path points to key ("Type/id").
func (r *res) refersTo(path, key string) bool { return slices.Contains(r.refs(path), key) }

// coding is a code in a system, with its display.
type coding struct{ system, code, display string }

// codings returns the codings of the CodeableConcepts at path.
func (r *res) codings(path string) []coding {
	var out []coding
	for _, c := range vals(r.json, path+".coding") {
		m := c.(map[string]any)
		s, _ := m["system"].(string)
		k, _ := m["code"].(string)
		dsp, _ := m["display"].(string)
		out = append(out, coding{s, k, dsp})
	}
	return out
}

// identifiers returns the identifiers at path as codings (value as code).
func (r *res) identifiers(path string) []coding {
	var out []coding
	for _, c := range vals(r.json, path) {
		m := c.(map[string]any)
		s, _ := m["system"].(string)
		v, _ := m["value"].(string)
		out = append(out, coding{s, v, ""})
	}
	return out
}

// tokenMatch applies a token criterion ([system]|[code], |code, system|,
// code) to codings.
func tokenMatch(cs []coding, crit string) bool {
	system, code, withSystem := strings.Cut(crit, "|")
	for _, c := range cs {
		switch {
		case !withSystem:
			if c.code == system {
				return true
			}
		case system == "":
			if c.system == "" && c.code == code {
				return true
			}
		case code == "":
			if c.system == system {
				return true
			}
		default:
			if c.system == system && c.code == code {
				return true
			}
		}
	}
	return false
}

// --- Strings ---

// foldText is the comparison form of FHIR string search: case and Latin
// accents ignored, and, for Japanese, hiragana, full-width and half-width
// katakana taken as the same letters, white space collapsed.
func foldText(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r == 0x3099 || r == 0x309A: // kana voiced marks stay
		case unicode.Is(unicode.Mn, r):
			continue
		case r >= 'ぁ' && r <= 'ゖ':
			r += 'ァ' - 'ぁ'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Join(strings.Fields(norm.NFC.String(b.String())), " ")
}

// startsWith is the default string match: some value starts with q.
func startsWith(values []string, q string) bool {
	for _, v := range values {
		if strings.HasPrefix(foldText(v), foldText(q)) {
			return true
		}
	}
	return false
}

// containsText is :contains: some value contains q.
func containsText(values []string, q string) bool {
	for _, v := range values {
		if strings.Contains(foldText(v), foldText(q)) {
			return true
		}
	}
	return false
}

// --- Dates ---

// period is [lo, hi) in unix milliseconds.
type period struct{ lo, hi int64 }

const (
	negInf = math.MinInt64
	posInf = math.MaxInt64
)

// parsePeriod reads a FHIR date, dateTime or instant as the period its
// precision denotes.
func parsePeriod(tb testing.TB, s string) period {
	tb.Helper()
	for _, f := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	} {
		if t, err := time.Parse(f.layout, s); err == nil {
			return period{t.UnixMilli(), f.next(t).UnixMilli()}
		}
	}
	tb.Fatalf("the model cannot read the date %q", s)
	return period{}
}

// periods returns the periods of the date elements at the paths: strings,
// or Period objects with start and end.
func (r *res) periods(tb testing.TB, paths ...string) []period {
	var out []period
	for _, path := range paths {
		for _, v := range vals(r.json, path) {
			switch v := v.(type) {
			case string:
				out = append(out, parsePeriod(tb, v))
			case map[string]any:
				p := period{negInf, posInf}
				if s, ok := v["start"].(string); ok {
					p.lo = parsePeriod(tb, s).lo
				}
				if s, ok := v["end"].(string); ok {
					p.hi = parsePeriod(tb, s).hi
				}
				out = append(out, p)
			}
		}
	}
	return out
}

// dateMatch applies a date criterion such as "ge2024-05" to a period, as R4
// §3.1.1.4.2 defines the prefixes: gt means the part of time after the
// criterion overlaps the value, ge is gt or eq, and so on.
func dateMatch(tb testing.TB, v period, crit string) bool {
	tb.Helper()
	op, rest := splitPrefix(crit)
	c := parsePeriod(tb, rest)
	eq := v.lo >= c.lo && v.hi <= c.hi
	switch op {
	case "eq":
		return eq
	case "ne":
		return !eq
	case "gt":
		return v.hi > c.hi
	case "lt":
		return v.lo < c.lo
	case "ge":
		return v.hi > c.hi || eq
	case "le":
		return v.lo < c.lo || eq
	case "sa":
		return v.lo >= c.hi
	case "eb":
		return v.hi <= c.lo
	case "ap":
		d := time.Since(time.UnixMilli(c.lo)).Abs()
		w := max(d/10, 24*time.Hour).Milliseconds()
		return v.lo < c.hi+w && v.hi > c.lo-w
	}
	tb.Fatalf("the model has no date prefix %q", op)
	return false
}

// anyDate reports whether some date at the paths matches crit.
func (r *res) anyDate(tb testing.TB, crit string, paths ...string) bool {
	for _, p := range r.periods(tb, paths...) {
		if dateMatch(tb, p, crit) {
			return true
		}
	}
	return false
}

// splitPrefix splits a criterion into its prefix (eq if none) and value.
func splitPrefix(s string) (string, string) {
	if len(s) > 2 && slices.Contains([]string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}, s[:2]) {
		return s[:2], s[2:]
	}
	return "eq", s
}

// --- Numbers and quantities ---

// quantity is a value with its unit.
type quantity struct {
	value        float64
	system, code string
}

// ucumBase converts the UCUM units of the dataset into a base unit: the
// table is the test's own, so that the server's is checked.
var ucumBase = map[string]struct {
	base   string
	factor float64
}{
	"mg/dL": {"g/L", 0.01}, "g/L": {"g/L", 1},
	"kg": {"g", 1000}, "g": {"g", 1},
	"min": {"s", 60}, "h": {"s", 3600}, "d": {"s", 86400},
}

func number(tb testing.TB, v any) float64 {
	tb.Helper()
	n, ok := v.(json.Number)
	if !ok {
		tb.Fatalf("the model wants a number, not %v", v)
	}
	f, err := n.Float64()
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// numbers returns the decimals at the paths.
func (r *res) numbers(tb testing.TB, paths ...string) []float64 {
	var out []float64
	for _, p := range paths {
		for _, v := range vals(r.json, p) {
			out = append(out, number(tb, v))
		}
	}
	return out
}

// quantities returns the Quantities at the paths.
func (r *res) quantities(tb testing.TB, paths ...string) []quantity {
	var out []quantity
	for _, p := range paths {
		for _, v := range vals(r.json, p) {
			m := v.(map[string]any)
			q := quantity{value: number(tb, m["value"])}
			q.system, _ = m["system"].(string)
			q.code, _ = m["code"].(string)
			out = append(out, q)
		}
	}
	return out
}

// numberMatch applies a number criterion such as "gt0.5" to a value. eq
// and ne use the range that the criterion's precision implies (100 is
// [99.5, 100.5)); ap is within 10 %.
func numberMatch(tb testing.TB, v float64, crit string) bool {
	tb.Helper()
	op, rest := splitPrefix(crit)
	n, err := strconv.ParseFloat(rest, 64)
	if err != nil {
		tb.Fatalf("the model cannot read the number %q", rest)
	}
	return compareNumber(tb, v, op, n, halfUnit(rest))
}

func compareNumber(tb testing.TB, v float64, op string, n, half float64) bool {
	eq := v >= n-half && v < n+half
	switch op {
	case "eq":
		return eq
	case "ne":
		return !eq
	case "gt", "sa":
		return v > n
	case "lt", "eb":
		return v < n
	case "ge":
		return v >= n
	case "le":
		return v <= n
	case "ap":
		return math.Abs(v-n) <= math.Abs(n)*0.1
	}
	tb.Fatalf("the model has no number prefix %q", op)
	return false
}

// halfUnit is half the unit of the last digit of a decimal: 0.005 for 1.00.
func halfUnit(s string) float64 {
	_, frac, _ := strings.Cut(s, ".")
	return 0.5 * math.Pow(10, -float64(len(frac)))
}

// quantityMatch applies a quantity criterion [prefix]number|system|code
// (or number||code, or number) to a quantity, converting UCUM units the
// model knows into their base unit first.
func quantityMatch(tb testing.TB, q quantity, crit string) bool {
	tb.Helper()
	num, unit, _ := strings.Cut(crit, "|")
	system, code, found := strings.Cut(unit, "|")
	if !found {
		code, system = system, ""
	}
	op, rest := splitPrefix(num)
	n, err := strconv.ParseFloat(rest, 64)
	if err != nil {
		tb.Fatalf("the model cannot read the number %q", rest)
	}
	half, v := halfUnit(rest), q.value
	if code != "" {
		cb, cok := ucumBase[code]
		qb, qok := ucumBase[q.code]
		switch {
		case cok && qok && (system == "" || system == ucumSystem) && q.system == ucumSystem:
			if cb.base != qb.base {
				return false
			}
			n, half, v = n*cb.factor, half*cb.factor, v*qb.factor
		case q.code != code || system != "" && q.system != system:
			return false
		}
	}
	return compareNumber(tb, v, op, n, half)
}

const ucumSystem = "http://unitsofmeasure.org"

// anyQuantity reports whether a quantity at the paths matches crit.
func (r *res) anyQuantity(tb testing.TB, crit string, paths ...string) bool {
	for _, q := range r.quantities(tb, paths...) {
		if quantityMatch(tb, q, crit) {
			return true
		}
	}
	return false
}

// --- Answers ---

// matchKeys returns the Type/id of the entries of a searchset with
// search.mode match, in order.
func (r *response) matchKeys(tb testing.TB) []string { return r.modeKeys(tb, "match") }

// modeKeys returns the Type/id of the entries with the search mode.
func (r *response) modeKeys(tb testing.TB, mode string) []string {
	tb.Helper()
	var out []string
	for _, e := range r.entries(tb) {
		if str(e, "search.mode") != mode {
			continue
		}
		out = append(out, str(e, "resource.resourceType")+"/"+str(e, "resource.id"))
	}
	return out
}

// nextLink returns the URL of the next link, or "".
func (r *response) nextLink() string {
	list, _ := r.get("link").([]any)
	for _, l := range list {
		if str(l, "relation") == "next" {
			return str(l, "url")
		}
	}
	return ""
}

// sameSet reports a difference between two lists taken as sets; it also
// reports duplicates in got.
func sameSet(got, want []string) string {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	var dup, extra, missing []string
	for k, n := range seen {
		if n > 1 {
			dup = append(dup, k)
		}
		if !slices.Contains(want, k) {
			extra = append(extra, k)
		}
	}
	for _, w := range want {
		if seen[w] == 0 {
			missing = append(missing, w)
		}
	}
	if len(dup)+len(extra)+len(missing) == 0 {
		return ""
	}
	sort.Strings(dup)
	sort.Strings(extra)
	return fmt.Sprintf("missing %v, unexpected %v, duplicated %v", missing, extra, dup)
}

// query encodes the parameters of a search written readably, such as
// "Patient?name=やまだ&_sort=-birthdate" (or "?_type=…" for a system
// search): each name and value is
// percent-encoded, so that +, %, | and $ reach the server as written.
func query(readable string) string {
	path, q, found := strings.Cut(readable, "?")
	if !found {
		return "/fhir/" + path
	}
	var parts []string
	for _, pair := range strings.Split(q, "&") {
		name, value, _ := strings.Cut(pair, "=")
		parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(value))
	}
	if path == "" { // a system search
		return "/fhir?" + strings.Join(parts, "&")
	}
	return "/fhir/" + path + "?" + strings.Join(parts, "&")
}

// search runs a search and returns its answer, failing unless it is a
// searchset.
func (s *searchServer) search(tb testing.TB, readable string, headers ...string) *response {
	tb.Helper()
	r := s.get(tb, query(readable), headers...)
	r.wantStatus(tb, http.StatusOK)
	if r.json["resourceType"] != "Bundle" || r.json["type"] != "searchset" {
		tb.Fatalf("%s: not a searchset\n%s", r, r.body)
	}
	return r
}

// wantMatches checks the matches of a search against the model's, as sets.
func (s *searchServer) wantMatches(tb testing.TB, readable string, want []string) *response {
	tb.Helper()
	r := s.search(tb, readable)
	if diff := sameSet(r.matchKeys(tb), want); diff != "" {
		tb.Errorf("%s: %s\ngot  %v\nwant %v", readable, diff, r.matchKeys(tb), want)
	}
	return r
}

// wantOrder checks the matches of a search against the model's, in order.
func (s *searchServer) wantOrder(tb testing.TB, readable string, want []string) *response {
	tb.Helper()
	r := s.search(tb, readable)
	if got := r.matchKeys(tb); !slices.Equal(got, want) {
		tb.Errorf("%s: wrong order\ngot  %v\nwant %v", readable, got, want)
	}
	return r
}

// compact renders JSON for failure messages.
func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}
