package sqlsearch

import (
	"fmt"
	"slices"
	"strings"

	"kartehub/internal/karte"
)

// Include selects the rid and seq of the resources that inc adds for the
// resources rids (of type inc.Type for _include, of the matched type for
// _revinclude), among those that rs admits (nil: all). For an _include,
// targets are the types its targets can have (nil: any type, or
// inc.TargetType): the restriction then tests only those types' links.
func Include(d Dialect, inc karte.Include, rids []int64, rs *karte.Restriction, targets []string) Statement {
	b := &builder{d: d, restrict: rs}
	// The arguments in the order they appear in the text, as "?" needs.
	pkey := b.arg(ParamKey(inc.Type, inc.Param))
	in := b.list(rids)
	var sql string
	if inc.Reverse {
		// Resources of inc.Type whose inc.Param refers to one of rids.
		sql = fmt.Sprintf(`SELECT DISTINCT s.rid, s.seq FROM sp_reference ref
			JOIN %[1]s s ON s.rid = ref.rid
			JOIN %[1]s m ON m.rkey = ref.tkey AND m.type = ref.ttype AND m.id = ref.tid
			WHERE ref.pkey = %[2]s AND m.rid IN (%[3]s)`, d.Live, pkey, in)
		if admits := b.admits([]string{inc.Type}, "s"); admits != "" {
			sql += " AND " + admits
		}
	} else {
		sql = fmt.Sprintf(`SELECT DISTINCT t.rid, t.seq FROM sp_reference ref
			JOIN %s t ON t.rkey = ref.tkey AND t.type = ref.ttype AND t.id = ref.tid
			WHERE ref.pkey = %s AND ref.rid IN (%s)`, d.Live, pkey, in)
		if inc.TargetType != "" {
			sql += " AND t.type = " + b.arg(inc.TargetType)
			targets = []string{inc.TargetType}
		}
		if admits := b.admits(targets, "t"); admits != "" {
			sql += " AND " + admits
		}
	}
	return Statement{SQL: sql, Args: b.args}
}

// TargetTypes selects, as one text column, the types of the resources
// that the _include inc refers to from the resources rids. Includes asks
// it before a restricted _include of any target type, so that the
// restriction names only the types there are: an include of Medications
// then costs what it costs unrestricted, rather than testing the links
// of every type of the Patient compartment.
func TargetTypes(d Dialect, inc karte.Include, rids []int64) Statement {
	b := &builder{d: d}
	pkey := b.arg(ParamKey(inc.Type, inc.Param))
	return Statement{SQL: "SELECT DISTINCT ref.ttype FROM sp_reference ref WHERE ref.pkey = " + pkey +
		" AND ref.rid IN (" + b.list(rids) + ") AND ref.ttype <> ''", Args: b.args}
}

func (b *builder) list(ids []int64) string {
	if len(ids) == 0 {
		return "NULL"
	}
	ph := make([]string, len(ids))
	for i, id := range ids {
		ph[i] = b.arg(id)
	}
	return strings.Join(ph, ", ")
}

// Match is a resource found by a search, with its rid.
type Match struct {
	RID      int64
	Resource *karte.Resource
}

// maxRounds bounds how many rounds :iterate includes run.
const maxRounds = 4

// Fetch runs the statements of Includes. Resources runs an Include
// statement and returns the resources it selects; Types runs a
// TargetTypes statement and returns the types.
type Fetch struct {
	Resources func(Statement) ([]Match, error)
	Types     func(Statement) ([]string, error)
}

// Includes runs the _include and _revinclude of q for the matches: a first
// round for the matches, then, for :iterate includes, rounds for what the
// previous round added. Every resource is returned once, none that is a
// match, and none that q.Restrict does not admit.
func Includes(d Dialect, q *karte.Query, matches []Match, fetch Fetch) ([]*karte.Resource, error) {
	if len(q.Include) == 0 || len(matches) == 0 {
		return nil, nil
	}
	seen := map[int64]bool{}
	for _, m := range matches {
		seen[m.RID] = true
	}
	var out []*karte.Resource
	last := matches
	for round := 0; round < maxRounds && len(last) > 0; round++ {
		var next []Match
		for _, inc := range q.Include {
			if round > 0 && !inc.Iterate {
				continue
			}
			var rids []int64
			for _, m := range last {
				if inc.Reverse || m.Resource.Type == inc.Type {
					rids = append(rids, m.RID)
				}
			}
			if len(rids) == 0 {
				continue
			}
			var targets []string
			if q.Restrict != nil && !inc.Reverse && inc.TargetType == "" {
				var err error
				if targets, err = fetch.Types(TargetTypes(d, inc, rids)); err != nil {
					return nil, err
				}
				if len(targets) == 0 {
					continue // no local target
				}
				slices.Sort(targets) // one statement text for the same types
			}
			found, err := fetch.Resources(Include(d, inc, rids, q.Restrict, targets))
			if err != nil {
				return nil, err
			}
			for _, f := range found {
				if !seen[f.RID] {
					seen[f.RID] = true
					out = append(out, f.Resource)
					next = append(next, f)
				}
			}
		}
		last = next
	}
	return out, nil
}
