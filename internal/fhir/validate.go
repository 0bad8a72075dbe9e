package fhir

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"kartehub/internal/karte"
)

// maxIssues caps the issues Validate reports, so that a hostile or badly
// broken resource costs bounded work and a bounded OperationOutcome.
const maxIssues = 100

// maxString is the R4 limit on a string's size: 1 MB (of characters).
const maxString = 1 << 20

// Validate checks the structure of one resource against the R4 definitions
// of its resourceType: element names and JSON types, cardinality (arrays for
// repeating elements, required elements), choice types, primitive extensions
// (_name), the formats of primitive values, and contained or nested resources
// (contained, Bundle.entry.resource, Parameters.parameter.resource), each
// against its own resourceType. It does not check invariants, terminology
// bindings, references or profiles.
//
// Every issue has Severity "error", an OperationOutcome issue type as Code
// and a FHIRPath Expression such as "Patient.name[0].given[1]"; nested
// resources continue the path of their element, as in
// "Bundle.entry[3].resource.name[0]". Issues with the resourceType of the
// resource itself have an empty Expression, as they concern all of it.
// Validate reports all problems it finds, up to 100, and then one
// "too-costly" issue. It returns nil for a valid resource.
func Validate(res *Object) []karte.Issue {
	var buf [24]pathSeg
	v := validator{path: buf[:0]}
	if res == nil {
		v.report("required", "no resource")
		return v.issues
	}
	v.resource(res, typeResource)
	return v.issues
}

// pathSeg is one step of a FHIRPath location: an element name and, for an
// item of an array, its index (else -1).
type pathSeg struct {
	name  string
	index int
}

// validator walks one resource. The path is only turned into a string when
// an issue is reported, so that a valid resource costs no allocation for it.
type validator struct {
	path   []pathSeg
	issues []karte.Issue
	full   bool // maxIssues reached: stop walking
}

func (v *validator) push(name string, index int) {
	v.path = append(v.path, pathSeg{name, index})
}

func (v *validator) pop() { v.path = v.path[:len(v.path)-1] }

// expression renders the current path as FHIRPath.
func (v *validator) expression() string {
	var b strings.Builder
	for i, s := range v.path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// report adds an issue located at the current path.
func (v *validator) report(code, format string, args ...any) {
	if v.full {
		return
	}
	if len(v.issues) == maxIssues {
		v.full = true
		v.issues = append(v.issues, karte.Issue{
			Severity:    "error",
			Code:        "too-costly",
			Diagnostics: fmt.Sprintf("more than %d issues; validation stopped", maxIssues),
		})
		return
	}
	v.issues = append(v.issues, karte.Issue{
		Severity:    "error",
		Code:        code,
		Expression:  v.expression(),
		Diagnostics: fmt.Sprintf(format, args...),
	})
}

// reportAt adds an issue located at the element name under the current path.
func (v *validator) reportAt(name, code, format string, args ...any) {
	v.push(name, -1)
	v.report(code, format, args...)
	v.pop()
}

// resource checks a resource object. want is typeResource for any resource,
// or the one resource type an element allows. The root resource starts the
// path with its type; a nested one continues the path of its element.
func (v *validator) resource(obj *Object, want typeID) {
	raw, ok := obj.Get("resourceType")
	if !ok {
		v.report("required", "missing resourceType")
		return
	}
	name, ok := raw.(string)
	if !ok {
		v.report("structure", "resourceType must be a JSON string, not %s", jsonKind(raw))
		return
	}
	t, ok := lookupType(name)
	switch {
	case !ok || typeDefs[t].kind != resourceKind:
		v.report("not-supported", "unknown resourceType %q", name)
		return
	case typeDefs[t].abstract:
		v.report("invalid", "resourceType %q is abstract", name)
		return
	case want != typeResource && t != want:
		v.report("structure", "expected a %s resource, not %s", typeDefs[want].name, name)
		return
	}
	root := len(v.path) == 0
	if root {
		v.push(name, -1)
	}
	v.object(obj, t)
	if root {
		v.pop()
	}
}

// object checks the members of an object of type t, then that its required
// elements are present.
func (v *validator) object(obj *Object, t typeID) {
	td := &typeDefs[t]
	if len(obj.Members) == 0 {
		v.report("structure", "empty object: FHIR JSON leaves out elements without content")
		return
	}
	var seen members
	for i := range obj.Members {
		if v.full {
			return
		}
		v.member(obj, &obj.Members[i], td, &seen)
	}
	if missing := td.required &^ (seen.value | seen.ext); missing != 0 {
		v.missing(td, missing)
	}
}

// members records which elements of an object have been seen, as bits by
// position in the type, and for choice elements which type was chosen.
type members struct {
	value, ext uint64    // element given as name, and as _name
	chosen     [8]uint16 // choice element i: 1 + its type, 0 while unseen
}

// member checks one key and value of an object of type td.
func (v *validator) member(obj *Object, m *Member, td *typeDef, seen *members) {
	key := m.Key
	if td.kind == resourceKind && key == "resourceType" {
		return // checked by resource
	}
	name, ext := key, false
	if len(key) > 1 && key[0] == '_' {
		name, ext = key[1:], true
	}
	ei, typ, res := td.element(name)
	switch res {
	case elemUnknown:
		v.reportAt(key, "structure", "unknown element %q in %s", key, td.name)
		return
	case elemBadType:
		e := &elemDefs[ei]
		if len(name) == len(e.name) {
			v.reportAt(key, "structure", "%s[x] in %s needs a type suffix: one of %s",
				e.name, td.name, strings.Join(e.choiceTypeNames(), ", "))
			return
		}
		v.reportAt(key, "structure", "%q is not an allowed type of %s[x] in %s; allowed: %s",
			name[len(e.name):], e.name, td.name, strings.Join(e.choiceTypeNames(), ", "))
		return
	}
	e := &elemDefs[ei]
	if ext && (typeDefs[typ].kind != primitiveKind || e.flags&elemSystem != 0) {
		v.reportAt(key, "structure", "unknown element %q in %s: only primitive elements take a _%s extension object", key, td.name, name)
		return
	}
	if !v.mark(m, td, ei, typ, seen, ext) {
		return
	}
	v.push(name, -1)
	v.value(obj, m.Value, e, typ, ext, name)
	v.pop()
}

// mark records element ei as seen and reports duplicate keys and a second
// type of a choice element. It returns false when the member is a duplicate.
func (v *validator) mark(m *Member, td *typeDef, ei int, typ typeID, seen *members, ext bool) bool {
	pos := ei - int(td.elems)
	bit := uint64(1) << pos
	mask := &seen.value
	if ext {
		mask = &seen.ext
	}
	e := &elemDefs[ei]
	if e.flags&elemChoice != 0 {
		ci := pos - int(td.nplain)
		if prev := seen.chosen[ci]; prev != 0 && typeID(prev-1) != typ {
			v.reportAt(m.Key, "structure", "%s[x] has more than one type: %s%s and %s",
				e.name, e.name, suffixOf(typeDefs[prev-1].name), m.Key)
			return false
		}
		seen.chosen[ci] = uint16(typ) + 1
	}
	if *mask&bit != 0 {
		v.reportAt(m.Key, "structure", "duplicate member %q", m.Key)
		return false
	}
	*mask |= bit
	return true
}

// missing reports the required elements of td that an object lacks, in
// order of name rather than of the table.
func (v *validator) missing(td *typeDef, missing uint64) {
	var names []string
	for pos := 0; missing != 0; pos++ {
		if missing&1 != 0 {
			e := &elemDefs[int(td.elems)+pos]
			name := e.name
			if e.flags&elemChoice != 0 {
				name += "[x]"
			}
			names = append(names, name)
		}
		missing >>= 1
	}
	slices.Sort(names)
	for _, name := range names {
		v.reportAt(name, "required", "missing required element %q (min 1) in %s", name, td.name)
	}
}

// value checks the JSON value of element e against its cardinality, then
// each item. key is the element's JSON name, without any leading _.
func (v *validator) value(obj *Object, val Value, e *elemDef, typ typeID, ext bool, key string) {
	if e.flags&elemMany == 0 {
		switch val.(type) {
		case []Value:
			v.report("structure", "%s has max cardinality 1, so it must not be an array", key)
			return
		case nil:
			v.report("structure", "null is not allowed here")
			return
		}
		v.item(val, typ, ext)
		return
	}
	arr, ok := val.([]Value)
	if !ok {
		v.report("structure", "%s repeats (max *), so its JSON value must be an array, not %s", key, jsonKind(val))
		return
	}
	if len(arr) == 0 {
		v.report("structure", "empty array: FHIR JSON leaves out elements without content")
		return
	}
	if ext {
		v.extArray(obj, arr, typ, key)
		return
	}
	looked, paired := false, false // the _key array, looked up at the first null
	for i, it := range arr {
		if v.full {
			return
		}
		v.path[len(v.path)-1].index = i
		if it == nil {
			// With a _key array, extArray checks the alignment.
			if !looked && typeDefs[typ].kind == primitiveKind {
				_, paired = v.pairOf(obj, "_"+key)
			}
			looked = true
			if !paired {
				v.report("structure", "null is only allowed in an array of primitives where _%s has an extension at the same index", key)
			}
			continue
		}
		v.item(it, typ, false)
	}
	v.path[len(v.path)-1].index = -1
}

// extArray checks the _key array of a repeating primitive: objects or nulls,
// aligned with the values of key.
func (v *validator) extArray(obj *Object, arr []Value, typ typeID, key string) {
	vals, ok := v.pairOf(obj, key)
	if ok && len(vals) != len(arr) {
		v.report("structure", "_%s has %d items but %s has %d; they must align", key, len(arr), key, len(vals))
	}
	for i := len(arr); i < len(vals); i++ {
		if vals[i] == nil {
			v.path[len(v.path)-1].index = i
			v.report("structure", "null in %s needs an extension in _%s at the same index", key, key)
		}
	}
	for i, it := range arr {
		if v.full {
			return
		}
		v.path[len(v.path)-1].index = i
		if it == nil {
			if i >= len(vals) || vals[i] == nil {
				v.report("structure", "null in _%s needs a value in %s at the same index", key, key)
			}
			continue
		}
		v.item(it, typ, true)
	}
	v.path[len(v.path)-1].index = -1
}

// pairOf returns the array under key in obj, if there is one.
func (v *validator) pairOf(obj *Object, key string) ([]Value, bool) {
	val, ok := obj.Get(key)
	if !ok {
		return nil, false
	}
	arr, ok := val.([]Value)
	return arr, ok
}

// item checks one value of type t. ext marks the object of a _name member,
// which holds the id and extensions of a primitive.
func (v *validator) item(val Value, t typeID, ext bool) {
	td := &typeDefs[t]
	if td.kind == primitiveKind && !ext {
		v.primitive(val, td)
		return
	}
	obj, ok := val.(*Object)
	if !ok {
		what := td.name
		if ext {
			what = "extensions of a " + td.name
		}
		v.report("structure", "expected a JSON object (%s), not %s", what, jsonKind(val))
		return
	}
	if td.kind == resourceKind {
		v.resource(obj, t)
		return
	}
	v.object(obj, t)
}

// primitive checks the JSON type and the format of a primitive value.
func (v *validator) primitive(val Value, td *typeDef) {
	var problem string
	switch td.json {
	case jsonString:
		s, ok := val.(string)
		if !ok {
			v.report("structure", "expected a JSON string (%s), not %s", td.name, jsonKind(val))
			return
		}
		if problem = checkString(td.format, s); problem != "" {
			v.report("value", "invalid %s %s: %s", td.name, quote(s), problem)
		}
	case jsonNumber:
		n, ok := val.(Number)
		if !ok {
			v.report("structure", "expected a JSON number (%s), not %s", td.name, jsonKind(val))
			return
		}
		if problem = checkNumber(td.format, string(n)); problem != "" {
			v.report("value", "invalid %s %s: %s", td.name, n, problem)
		}
	case jsonBool:
		if _, ok := val.(bool); !ok {
			v.report("structure", "expected a JSON boolean, not %s", jsonKind(val))
		}
	}
}

// quote quotes s for a diagnostic, shortening it.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return strconv.Quote(s[:i]) + "..."
	}
	return strconv.Quote(s)
}

// jsonKind names the JSON type of a tree value, for diagnostics.
func jsonKind(val Value) string {
	switch val.(type) {
	case *Object:
		return "an object"
	case []Value:
		return "an array"
	case string:
		return "a string"
	case Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T (not a JSON value)", val)
}

// checkString checks a JSON string value of a primitive type and returns
// what is wrong with it, or "". The checkers are written by hand rather than
// with the R4 regexes because they run on every primitive of every write.
func checkString(f format, s string) string {
	if s == "" {
		return "empty string; FHIR JSON leaves out elements without content"
	}
	if isSpace(s[0]) && strings.TrimLeft(s, " \t\r\n") == "" {
		return "only whitespace"
	}
	switch f {
	case fmtString, fmtMarkdown, fmtXhtml:
		return checkText(s)
	case fmtCode:
		return checkCode(s)
	case fmtId:
		return checkID(s)
	case fmtUri, fmtUrl, fmtCanonical:
		return checkURI(s)
	case fmtOid:
		return checkOID(s)
	case fmtUuid:
		return checkUUID(s)
	case fmtBase64Binary:
		return checkBase64(s)
	case fmtDate:
		return checkDate(s)
	case fmtDateTime:
		return checkDateTime(s)
	case fmtInstant:
		return checkInstant(s)
	case fmtTime:
		return checkTime(s)
	}
	return ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// checkText applies the rules of string: no control characters other than
// tab, CR and LF, and at most 1 MB.
func checkText(s string) string {
	for i := firstBelow(s, ' '); i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' && c != '\r' && c != '\n' {
			return fmt.Sprintf("control character %#02x at byte %d", c, i)
		}
	}
	if len(s) > maxString && utf8.RuneCountInString(s) > maxString {
		return "longer than 1 MB"
	}
	return ""
}

// checkCode: no leading or trailing whitespace, single whitespace between
// tokens ([^\s]+(\s[^\s]+)*).
func checkCode(s string) string {
	if isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return "leading or trailing whitespace"
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return "consecutive whitespace"
		}
	}
	return checkText(s)
}

// checkID: [A-Za-z0-9\-\.]{1,64}.
func checkID(s string) string {
	if len(s) > 64 {
		return "longer than 64 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '.' {
			return "only letters, digits, '-' and '.' are allowed"
		}
	}
	return ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDec(c)
}

func isDec(c byte) bool { return '0' <= c && c <= '9' }

// checkURI: \S* (uri, url, canonical).
func checkURI(s string) string {
	if firstBelow(s, ' '+1) < len(s) {
		return "whitespace or control characters in a URI"
	}
	return ""
}

// firstBelow returns the index of the first byte of s below n (n <= 128),
// or len(s). It tests eight bytes at a time, since narratives and
// attachments make long strings common.
func firstBelow(s string, n byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x-ones*uint64(n))&^x&highs != 0 {
			break // some byte of these eight is below n
		}
	}
	for ; i < len(s) && s[i] >= n; i++ {
	}
	return i
}

// checkOID: urn:oid:[0-2](\.(0|[1-9][0-9]*))+.
func checkOID(s string) string {
	const bad = "not urn:oid: followed by a dotted OID starting with 0, 1 or 2"
	rest, ok := strings.CutPrefix(s, "urn:oid:")
	if !ok || len(rest) < 3 || rest[0] < '0' || rest[0] > '2' || rest[1] != '.' {
		return bad
	}
	for _, arc := range strings.Split(rest[2:], ".") {
		if arc == "" || arc[0] == '0' && len(arc) > 1 {
			return bad
		}
		for i := 0; i < len(arc); i++ {
			if !isDec(arc[i]) {
				return bad
			}
		}
	}
	return ""
}

// checkUUID: urn:uuid: followed by a lower-case 8-4-4-4-12 UUID.
func checkUUID(s string) string {
	rest, ok := strings.CutPrefix(s, "urn:uuid:")
	if !ok || len(rest) != 36 {
		return "not urn:uuid: followed by a lower-case UUID"
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "not urn:uuid: followed by a lower-case UUID"
			}
		default:
			if !isDec(c) && (c < 'a' || c > 'f') {
				return "not urn:uuid: followed by a lower-case UUID"
			}
		}
	}
	return ""
}

// checkBase64: base64 alphabet in groups of four, padding only at the end;
// whitespace between characters is allowed as in the R4 regex.
func checkBase64(s string) string {
	n, pad := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			continue
		case c == '=':
			pad++
		case pad > 0:
			return "base64 padding in the middle"
		case isAlnum(c) || c == '+' || c == '/':
		default:
			return "not base64: character " + strconv.QuoteRune(rune(c))
		}
		n++
	}
	if n%4 != 0 || pad > 2 {
		return "not base64: length is not a multiple of four"
	}
	return ""
}

// The date and time checkers read fixed positions, so each returns one
// message that states the accepted forms.
const (
	badDate     = "not YYYY, YYYY-MM or YYYY-MM-DD with a real month and day"
	badDateTime = "not YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.f]+zz:zz with a real date, time and time zone"
	badInstant  = "not YYYY-MM-DDThh:mm:ss[.f]+zz:zz with a real date, time and time zone"
	badTime     = "not hh:mm:ss[.f] with hour 00-23, minute 00-59 and second 00-60"
)

func checkDate(s string) string {
	if n := scanDate(s); n != len(s) {
		return badDate
	}
	return ""
}

func checkDateTime(s string) string {
	n := scanDate(s)
	switch {
	case n == len(s):
		return ""
	case n != 10 || s[n] != 'T' || !timeWithZone(s[n+1:]):
		return badDateTime
	}
	return ""
}

func checkInstant(s string) string {
	if scanDate(s) != 10 || len(s) < 11 || s[10] != 'T' || !timeWithZone(s[11:]) {
		return badInstant
	}
	return ""
}

func checkTime(s string) string {
	if scanTime(s) != len(s) {
		return badTime
	}
	return ""
}

// scanDate reads YYYY, YYYY-MM or YYYY-MM-DD at the start of s and returns
// the bytes read, or -1. The year is 0001-9999; the day exists in its month.
func scanDate(s string) int {
	year, ok := digits(s, 0, 4)
	if !ok || year == 0 {
		return -1
	}
	if len(s) == 4 || s[4] != '-' {
		return 4
	}
	month, ok := digits(s, 5, 2)
	if !ok || month < 1 || month > 12 {
		return -1
	}
	if len(s) == 7 || s[7] != '-' {
		return 7
	}
	day, ok := digits(s, 8, 2)
	if !ok || day < 1 || day > daysIn(year, month) {
		return -1
	}
	return 10
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// scanTime reads hh:mm:ss with optional fraction at the start of s and
// returns the bytes read, or -1. Second 60 is a leap second, which R4 allows.
func scanTime(s string) int {
	h, ok1 := digits(s, 0, 2)
	m, ok2 := digits(s, 3, 2)
	sec, ok3 := digits(s, 6, 2)
	if !ok1 || !ok2 || !ok3 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 60 {
		return -1
	}
	n := 8
	if n < len(s) && s[n] == '.' {
		n++
		start := n
		for n < len(s) && isDec(s[n]) {
			n++
		}
		if n == start {
			return -1
		}
	}
	return n
}

// timeWithZone reports whether s is a time followed by Z or ±hh:mm, at most
// 14:00 away from UTC.
func timeWithZone(s string) bool {
	n := scanTime(s)
	if n < 0 {
		return false
	}
	zone := s[n:]
	if zone == "Z" {
		return true
	}
	if len(zone) != 6 || zone[0] != '+' && zone[0] != '-' || zone[3] != ':' {
		return false
	}
	h, ok1 := digits(zone, 1, 2)
	m, ok2 := digits(zone, 4, 2)
	return ok1 && ok2 && m <= 59 && (h < 14 || h == 14 && m == 0)
}

// digits reads n decimal digits of s at i.
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if !isDec(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// checkNumber checks the literal text of a JSON number against integer,
// positiveInt, unsignedInt (32-bit signed range) or decimal.
func checkNumber(f format, s string) string {
	if f == fmtDecimal {
		if !isJSONNumber(s) {
			return "not a decimal number"
		}
		return ""
	}
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	if body == "" || len(body) > 10 || body[0] == '0' && len(body) > 1 {
		return integerProblem(f, body == "" || len(body) <= 10)
	}
	var n int64
	for i := 0; i < len(body); i++ {
		if !isDec(body[i]) {
			return integerProblem(f, true)
		}
		n = n*10 + int64(body[i]-'0')
	}
	if neg {
		n = -n
	}
	switch {
	case n > 1<<31-1 || n < -1<<31:
		return integerProblem(f, false)
	case f == fmtPositiveInt && n < 1:
		return "must be at least 1"
	case f == fmtUnsignedInt && (n < 0 || neg):
		return "must not be negative"
	}
	return ""
}

func integerProblem(f format, syntax bool) string {
	if !syntax {
		return "out of the 32-bit range"
	}
	if f == fmtInteger {
		return "not a whole number (no fraction, exponent or leading zeros)"
	}
	return "not a whole number (no sign, fraction, exponent or leading zeros)"
}

// isJSONNumber reports whether s is -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// the grammar of both JSON numbers and R4 decimals.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && isDec(s[i]):
		for i < len(s) && isDec(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || !isDec(s[i]) {
			return false
		}
		for i < len(s) && isDec(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDec(s[i]) {
			return false
		}
		for i < len(s) && isDec(s[i]) {
			i++
		}
	}
	return i == len(s)
}
