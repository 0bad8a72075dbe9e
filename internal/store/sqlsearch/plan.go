package sqlsearch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"kartehub/internal/karte"
)

// Estimator runs a statement that counts rows, for the planner. Engines
// implement it on a read connection.
type Estimator func(ctx context.Context, s Statement) (int, error)

// probeLimit caps how many rows the planner counts for an estimate: enough
// to tell a selective condition from an unselective one, cheap either way.
const probeLimit = 10000

// Plan is a query compiled to SQL. Page returns rid, seq and the sort
// values of each match, in order; Count the number of all matches, and is
// only written when the query asks for its total (Query.Total).
type Plan struct {
	Page  Statement
	Count Statement
	Sorts int // sort values per row, after rid and seq
	// Notes say how the plan was chosen, for explain output.
	Notes []string
}

// Compile plans q: it estimates each clause's selectivity with est, starts
// from the most selective one, and tests the others on its rows.
func Compile(ctx context.Context, d Dialect, q *karte.Query, est Estimator) (*Plan, error) {
	driver, rows, notes, err := chooseDriver(ctx, d, q, est)
	if err != nil {
		return nil, err
	}
	// A statement that tests every candidate (a count; a sorted page) and
	// has many of them tests the restriction against the set of admitted
	// patients. A page without a sort stops at its end, usually long
	// before, and tests patients one by one.
	many := d.SetOnce && q.Restrict != nil && len(q.Types) == 1 && (driver < 0 || rows >= setFrom)
	if q.Restrict != nil && q.Explain {
		notes = append(notes, describeRestriction(q.Restrict))
		if many {
			notes = append(notes, "restriction: many candidates, tested against the set of admitted patients")
		}
	}
	p := &Plan{Sorts: len(q.Sort), Notes: notes}
	p.Page, err = pageStatement(d, q, driver, many && len(q.Sort) > 0)
	if err != nil {
		return nil, err
	}
	if q.Total {
		b := &builder{d: d, restrict: q.Restrict, admitBySet: many}
		from := b.from(q, driver)
		p.Count = Statement{SQL: "SELECT count(*) FROM " + d.Live + " r" + from, Args: b.args}
	}
	return p, nil
}

// setFrom is how many candidates a statement must have for its
// restriction to test them against the set of admitted patients.
const setFrom = 2000

// chooseDriver returns the index of the clause to start from, or -1 to
// scan the resources of the type, and the estimated index rows of that
// clause (capped at probeLimit; -1 for a scan).
func chooseDriver(ctx context.Context, d Dialect, q *karte.Query, est Estimator) (int, int, []string, error) {
	best, bestN := -1, -1
	var notes []string
	for i, cl := range q.Where {
		if len(q.Types) != 1 || !drivable(cl) {
			notes = append(notes, fmt.Sprintf("clause %d (%s): tested per resource", i, describe(cl)))
			continue
		}
		if nested(cl) {
			// Counting a _has or a chain costs as much as running it:
			// take it as fairly selective, below any unselective index.
			notes = append(notes, fmt.Sprintf("clause %d (%s): nested query, not counted", i, describe(cl)))
			if best < 0 || probeLimit-1 < bestN {
				best, bestN = i, probeLimit-1
			}
			continue
		}
		b := &builder{d: d}
		s := Statement{SQL: "SELECT count(*) FROM (" + b.union(cl, q.Types[0]) + fmt.Sprintf(" LIMIT %d) t", probeLimit), Args: b.args}
		n, err := est(ctx, s)
		if err != nil {
			return 0, 0, nil, err
		}
		shown := fmt.Sprintf("%d index rows", n)
		switch {
		case q.Restrict != nil:
			// The count includes the rows of resources the restriction
			// does not admit: showing it would tell how many there are.
			shown = "index rows counted, not shown"
		case n >= probeLimit:
			shown = fmt.Sprintf(">= %d index rows", probeLimit)
		}
		notes = append(notes, fmt.Sprintf("clause %d (%s): %s (%s)", i, describe(cl), shown, table(cl[0].Kind)))
		if best < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	if best >= 0 && bestN >= probeLimit && len(q.Sort) == 0 {
		// Nothing selective and no sort: walking the resources in rid
		// order and testing each stops at the page's end, where starting
		// from an index would first gather all its rows.
		notes = append(notes, "no selective clause: scan the resources in order and test each, up to the page's end")
		return -1, -1, notes, nil
	}
	if best >= 0 {
		notes = append(notes, fmt.Sprintf("drive from clause %d, test the others on its rows", best))
	} else {
		notes = append(notes, "scan the resources of the type")
	}
	return best, bestN, notes, nil
}

// nested reports whether a clause holds a _has or a chain.
func nested(cl karte.Clause) bool {
	for _, c := range cl {
		if c.Has != nil || c.Chain != nil {
			return true
		}
	}
	return false
}

func drivable(cl karte.Clause) bool {
	for i := range cl {
		if !canDrive(&cl[i]) {
			return false
		}
	}
	return len(cl) > 0
}

func describe(cl karte.Clause) string {
	parts := make([]string, len(cl))
	for i, c := range cl {
		parts[i] = c.Param
	}
	return strings.Join(parts, ",")
}

// union selects the rids for which any condition of cl holds.
func (b *builder) union(cl karte.Clause, typ string) string {
	parts := make([]string, len(cl))
	for i := range cl {
		parts[i] = b.set(&cl[i], typ)
	}
	return strings.Join(parts, " UNION ")
}

// from is the FROM tail and WHERE clause shared by the page and the count.
func (b *builder) from(q *karte.Query, driver int) string {
	var where []string
	if driver >= 0 {
		where = append(where, "r.rid IN ("+b.union(q.Where[driver], q.Types[0])+")")
	}
	where = append(where, b.where(q, "r", driver))
	return " WHERE " + strings.Join(where, " AND ")
}

func pageStatement(d Dialect, q *karte.Query, driver int, bySet bool) (Statement, error) {
	b := &builder{d: d, restrict: q.Restrict, admitBySet: bySet}
	typ := first(q.Types)
	cols := "r.rid, r.seq"
	for _, k := range q.Sort {
		cols += ", " + b.sortExpr(k, q.Types, "r")
	}
	sql := "SELECT " + cols + " FROM " + d.Live + " r" + b.from(q, driver)
	if q.After != "" {
		after, err := b.keyset(q, typ)
		if err != nil {
			return Statement{}, err
		}
		sql += " AND " + after
	}
	// Sort keys by their column numbers: the expressions carry arguments,
	// which must not be written twice.
	order := make([]string, 0, len(q.Sort)+1)
	for i, k := range q.Sort {
		order = append(order, fmt.Sprint(3+i)+dir(k.Descending))
	}
	order = append(order, "r.rid")
	// The limit is written in the text, not bound: SQLite (with STAT4)
	// looks at a bound LIMIT when planning, and so prepares the statement
	// a second time at its first step, which costs as much as the first.
	sql += " ORDER BY " + strings.Join(order, ", ") + fmt.Sprintf(" LIMIT %d", q.Count+1)
	return Statement{SQL: sql, Args: b.args}, nil
}

func dir(desc bool) string {
	if desc {
		return " DESC"
	}
	return ""
}

// sortExpr is the value a resource sorts by: for parameters with several
// values, the lowest ascending and the highest descending; a resource
// without a value sorts last either way.
func (b *builder) sortExpr(k karte.SortKey, types []string, r string) string {
	agg, none := "min", "'"+maxRune+"'"
	if k.Descending {
		agg, none = "max", "''"
	}
	var col, tbl string
	switch k.Kind {
	case karte.KindID:
		return r + ".id"
	case karte.KindLastUpdated:
		return r + ".last_updated"
	case karte.KindString:
		tbl, col = "sp_string", "value"
	case karte.KindToken:
		tbl, col = "sp_token", "code"
	case karte.KindReference:
		tbl, col = "sp_reference", "tid"
	case karte.KindURI:
		tbl, col = "sp_uri", "uri"
	case karte.KindDate:
		tbl, col, none = "sp_date", "lo", "9223372036854775807"
		if k.Descending {
			col, none = "hi", "-9223372036854775808"
		}
	case karte.KindNumber, karte.KindQuantity:
		// In canonical units where the unit converts, so that 1.1 g/L
		// sorts after 98 mg/dL as gt and lt already say.
		tbl, col, none = "sp_number", "", "1e308"
		if k.Descending {
			none = "-1e308"
		}
	default:
		return "0"
	}
	x := b.name("o")
	value := x + "." + col
	if k.Kind == karte.KindReference {
		value = "NULLIF(" + value + ", '')" // a reference by identifier only has no id to sort by
	}
	if col == "" {
		value = fmt.Sprintf("CASE WHEN %s.ccode <> '' THEN %s.cvalue ELSE %s.value END", x, x, x)
	}
	return fmt.Sprintf("coalesce((SELECT %s(%s) FROM %s %s WHERE %s.rid = %s.rid AND %s.pkey IN (%s)), %s)",
		agg, value, tbl, x, x, r, x, b.paramKeys(types, k.Param), none)
}

// paramKeys lists the pkeys of a parameter for every type searched: a
// resource has one type, so at most one of them applies to it.
func (b *builder) paramKeys(types []string, param string) string {
	if len(types) == 0 {
		types = []string{""}
	}
	keys := make([]string, len(types))
	for i, t := range types {
		keys[i] = b.arg(ParamKey(t, param))
	}
	return strings.Join(keys, ", ")
}

// cursor is the position after the last match of a page: its sort values
// and rid.
type cursor struct {
	Keys []any `json:"k"`
	RID  int64 `json:"r"`
}

// EncodeCursor renders the position after a row with these sort values.
func EncodeCursor(keys []any, rid int64) string {
	b, _ := json.Marshal(cursor{keys, rid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyset is the condition that a row comes after the cursor in the order
// of q: the rows after it stay the same whatever is written meanwhile.
func (b *builder) keyset(q *karte.Query, typ string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(q.After)
	var c cursor
	if err == nil {
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.UseNumber()
		err = d.Decode(&c)
	}
	if err != nil || len(c.Keys) != len(q.Sort) {
		return "", karte.Errorf(karte.Invalid, "the paging cursor is not valid for this search")
	}
	// Each use of a sort expression is written anew, with its own
	// arguments in text order.
	key := func(i int) string { return b.sortExpr(q.Sort[i], q.Types, "r") }
	var alts []string
	for i := 0; i <= len(q.Sort); i++ {
		var eq []string
		for j := 0; j < i; j++ {
			eq = append(eq, key(j)+" = "+b.arg(cursorValue(c.Keys[j])))
		}
		if i == len(q.Sort) {
			eq = append(eq, "r.rid > "+b.arg(c.RID))
		} else {
			op := " > "
			if q.Sort[i].Descending {
				op = " < "
			}
			eq = append(eq, key(i)+op+b.arg(cursorValue(c.Keys[i])))
		}
		alts = append(alts, "("+strings.Join(eq, " AND ")+")")
	}
	return "(" + strings.Join(alts, " OR ") + ")", nil
}

func cursorValue(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return v
}
