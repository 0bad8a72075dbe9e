package sqlsearch

import (
	"fmt"
	"strings"

	"kartehub/internal/karte"
)

// Include selects the rid and seq of the resources that inc adds for the
// resources rids (of type inc.Type for _include, of the matched type for
// _revinclude).
func Include(d Dialect, inc karte.Include, rids []int64) Statement {
	b := &builder{d: d}
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
	} else {
		sql = fmt.Sprintf(`SELECT DISTINCT t.rid, t.seq FROM sp_reference ref
			JOIN %s t ON t.rkey = ref.tkey AND t.type = ref.ttype AND t.id = ref.tid
			WHERE ref.pkey = %s AND ref.rid IN (%s)`, d.Live, pkey, in)
		if inc.TargetType != "" {
			sql += " AND t.type = " + b.arg(inc.TargetType)
		}
	}
	return Statement{SQL: sql, Args: b.args}
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

// Versions selects the stored versions with the given seqs.
func Versions(d Dialect, columns string, seqs []int64) Statement {
	b := &builder{d: d}
	return Statement{SQL: "SELECT " + columns + " FROM resource_version v WHERE v.seq IN (" + b.list(seqs) + ")", Args: b.args}
}

// Match is a resource found by a search, with its rid.
type Match struct {
	RID      int64
	Resource *karte.Resource
}

// maxRounds bounds how many rounds :iterate includes run.
const maxRounds = 4

// Includes runs the _include and _revinclude of q for the matches: a first
// round for the matches, then, for :iterate includes, rounds for what the
// previous round added. fetch runs one Include statement and returns the
// resources it selects. Every resource is returned once, and none that is
// a match.
func Includes(d Dialect, q *karte.Query, matches []Match, fetch func(Statement) ([]Match, error)) ([]*karte.Resource, error) {
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
			found, err := fetch(Include(d, inc, rids))
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
