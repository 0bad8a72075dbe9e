package sqlsearch

import (
	"fmt"
	"strings"

	"kartehub/internal/karte"
)

// Dialect is what differs between the SQL engines.
type Dialect struct {
	// Placeholder renders the n-th (1-based) argument: "?" or "$n".
	Placeholder func(n int) string
	// Live is the table or view of live resources: one row per resource
	// that exists and is not deleted, with the columns rid, rkey, type, id,
	// version, seq and last_updated.
	Live string
	// PerRow ends a correlated subquery that must be run for each row
	// that reaches it, by the indexes of its correlation, rather than be
	// turned into a set computed once (see restrict.go).
	PerRow string
	// SetOnce says that the engine computes an uncorrelated IN (subquery)
	// once for the statement even inside a correlated subquery, so that
	// the restriction can test many resources against the set of
	// admitted patients (restrict.go). SQLite does; PostgreSQL joined the
	// set anew for every resource, 20 to 50 times slower than testing
	// each resource's patients one by one.
	SetOnce bool
}

// SQLite is the dialect of SQLite.
var SQLite = Dialect{Placeholder: func(int) string { return "?" }, Live: "resource", SetOnce: true}

// Postgres is the dialect of PostgreSQL. OFFSET 0 keeps PostgreSQL from
// turning an EXISTS that it cannot make a semi-join (one inside an OR) into
// a hashed set of every row the subquery could match: for the
// restriction, every patient of a facility, at every search.
var Postgres = Dialect{Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) }, Live: "live_resource", PerRow: " OFFSET 0"}

// Statement is SQL with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// builder writes one statement: arguments are numbered in the order that
// arg is called, which is the order they appear in the text, because each
// piece of text is built left to right.
type builder struct {
	d     Dialect
	args  []any
	alias int
	// restrict is the query's restriction, applied to every resource the
	// statement reads (nested queries too); nil for none.
	restrict *karte.Restriction
	// admitBySet tests the patients that resources refer to against the
	// set of admitted patients, computed once for the statement, rather
	// than one by one (restrict.go): for statements that test thousands
	// of resources.
	admitBySet bool
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

func (b *builder) name(prefix string) string {
	b.alias++
	return fmt.Sprintf("%s%d", prefix, b.alias)
}

// where is a boolean expression: resource alias r matches all clauses of q
// and is admitted by the statement's restriction. The clause at skip (-1
// for none) is left out: it drives the query.
//
// The restriction is tested only on the resources that pass the clauses,
// inside a CASE: as a term of its own beside them, SQLite (3.54) tests it
// first, on every row the driving clause gives, because it turns the
// clauses' EXISTS into joins that come after the resource's own tests; a
// patient's Observations with a given code would pay the restriction for
// each of the patient's Observations.
func (b *builder) where(q *karte.Query, r string, skip int) string {
	parts := []string{b.types(q.Types, r)}
	var tests []string
	for i, cl := range q.Where {
		if i == skip {
			continue
		}
		tests = append(tests, b.clause(cl, q.Types, r))
	}
	switch admits := b.admits(q.Types, r); {
	case admits == "":
		parts = append(parts, tests...)
	case len(tests) == 0:
		parts = append(parts, admits)
	default:
		parts = append(parts, "CASE WHEN "+strings.Join(tests, " AND ")+" THEN "+admits+" END")
	}
	return strings.Join(nonEmpty(parts), " AND ")
}

func (b *builder) types(types []string, r string) string {
	switch len(types) {
	case 0:
		return ""
	case 1:
		return r + ".type = " + b.arg(types[0])
	}
	ph := make([]string, len(types))
	for i, t := range types {
		ph[i] = b.arg(t)
	}
	return r + ".type IN (" + strings.Join(ph, ", ") + ")"
}

// clause is true when any condition of cl holds for r. For several
// resource types, each condition is tested with the parameter of each type.
func (b *builder) clause(cl karte.Clause, types []string, r string) string {
	var alts []string
	for i := range cl {
		c := &cl[i]
		if len(types) <= 1 || !perType(c) {
			alts = append(alts, b.test(c, first(types), r))
			continue
		}
		for _, t := range types {
			alts = append(alts, "("+r+".type = "+b.arg(t)+" AND "+b.test(c, t, r)+")")
		}
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// perType reports whether a condition reads a type's own parameter.
func perType(c *karte.Condition) bool {
	return c.Kind != karte.KindID && c.Kind != karte.KindLastUpdated
}

func first(types []string) string {
	if len(types) == 0 {
		return ""
	}
	return types[0]
}

// test is true when condition c holds for resource alias r of type typ.
func (b *builder) test(c *karte.Condition, typ, r string) string {
	switch c.Kind {
	case karte.KindID:
		return negate(c.Not, b.idTest(c, r))
	case karte.KindLastUpdated:
		return negate(c.Not, b.rangeTest(c, r+".last_updated", r+".last_updated + 1"))
	}
	if c.Op == karte.Exists { // :missing
		t := table(c.Kind)
		x := b.name("x")
		e := fmt.Sprintf("EXISTS (SELECT 1 FROM %s %s WHERE %s.rid = %s.rid AND %s.pkey = %s)", t, x, x, r, x, b.arg(ParamKey(typ, c.Param)))
		return negate(c.Missing, e)
	}
	if c.Has != nil {
		return negate(c.Not, r+".rkey IN ("+b.hasTargets(c.Has)+")")
	}
	x := b.name("x")
	e := fmt.Sprintf("EXISTS (SELECT 1 FROM %s %s WHERE %s.rid = %s.rid AND %s)", table(c.Kind), x, x, r, b.valueTest(c, typ, x))
	return negate(c.Not, e)
}

// set is a SELECT of the rids of type typ for which positive condition c
// holds, for driving a query from its most selective condition.
func (b *builder) set(c *karte.Condition, typ string) string {
	if c.Has != nil {
		return "SELECT rid FROM " + b.d.Live + " WHERE rkey IN (" + b.hasTargets(c.Has) + ")"
	}
	x := b.name("x")
	return fmt.Sprintf("SELECT %s.rid FROM %s %s WHERE %s", x, table(c.Kind), x, b.valueTest(c, typ, x))
}

// canDrive reports whether c selects resources by their index rows, so
// that the query can start from them.
func canDrive(c *karte.Condition) bool {
	return !c.Not && c.Op != karte.Exists && perType(c) && c.Op != karte.Ne
}

func (b *builder) idTest(c *karte.Condition, r string) string {
	return "(" + r + ".id = " + b.arg(c.String) + ")"
}

// hasTargets selects the rkeys of the resources that resources of h.Type
// refer to by h.Param, among those matching h.Query.
func (b *builder) hasTargets(h *karte.Has) string {
	ref := b.name("h")
	return fmt.Sprintf("SELECT %s.tkey FROM sp_reference %s WHERE %s.pkey = %s AND %s.rid IN (%s)",
		ref, ref, ref, b.arg(ParamKey(h.Type, h.Param)), ref, b.subset(h.Query, "rid"))
}

// subset selects column col (rid or rkey) of the live resources that match
// a nested query (of _has or a chain). It starts from the query's first
// condition that can drive, so that "Observations with this code" reads
// the code's index rows rather than every Observation.
func (b *builder) subset(q *karte.Query, col string) string {
	s := b.name("s")
	driver := -1
	if len(q.Types) == 1 {
		for i, cl := range q.Where {
			if drivable(cl) {
				driver = i
				break
			}
		}
	}
	if driver < 0 {
		return fmt.Sprintf("SELECT %s.%s FROM %s %s WHERE %s", s, col, b.d.Live, s, b.where(q, s, -1))
	}
	head := fmt.Sprintf("SELECT %s.%s FROM %s %s WHERE %s.rid IN (", s, col, b.d.Live, s, s)
	head += b.union(q.Where[driver], q.Types[0]) + ")"
	return head + " AND " + b.where(q, s, driver)
}

func table(k karte.ParamKind) string {
	switch k {
	case karte.KindString:
		return "sp_string"
	case karte.KindToken:
		return "sp_token"
	case karte.KindReference:
		return "sp_reference"
	case karte.KindDate:
		return "sp_date"
	case karte.KindNumber, karte.KindQuantity:
		return "sp_number"
	case karte.KindURI:
		return "sp_uri"
	case karte.KindComposite:
		return "sp_composite"
	}
	return "sp_unknown"
}

func negate(not bool, e string) string {
	if not {
		return "NOT " + e
	}
	return e
}

func nonEmpty(parts []string) []string {
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return []string{"1 = 1"}
	}
	return out
}
