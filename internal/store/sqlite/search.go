package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

var _ karte.Searcher = (*Store)(nil)

// maxIterate bounds how many rounds an :iterate include runs.
const maxIterate = 4

// Search implements karte.Searcher. The whole search runs in one read
// transaction, so the page, the total and the includes agree.
func (s *Store) Search(ctx context.Context, q *karte.Query) (*karte.SearchResult, error) {
	res := &karte.SearchResult{Total: -1}
	err := s.withReader(ctx, func(c *conn) error {
		if err := c.db.Exec("BEGIN"); err != nil {
			return err
		}
		defer c.db.Exec("COMMIT")
		return search(ctx, c, q, res)
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}

func search(ctx context.Context, c *conn, q *karte.Query, res *karte.SearchResult) error {
	est := func(_ context.Context, st sqlsearch.Statement) (int, error) { return c.count(st) }
	plan, err := sqlsearch.Compile(ctx, sqlsearch.SQLite, q, est)
	if err != nil {
		return err
	}
	if q.Total {
		if res.Total, err = c.count(plan.Count); err != nil {
			return err
		}
	}
	if q.Explain {
		res.Plan = explain(c, plan)
	}
	if q.Count == 0 {
		return nil
	}
	rids, seqs, err := page(c, plan, q.Count, res)
	if err != nil {
		return err
	}
	if res.Matches, err = versions(c, seqs); err != nil {
		return err
	}
	res.Included, err = includes(c, q, rids)
	return err
}

// page runs the page statement and sets res.Next when there is more: the
// statement asks for one row beyond the page to know.
func page(c *conn, plan *sqlsearch.Plan, count int, res *karte.SearchResult) (rids, seqs []int64, err error) {
	var last []any
	more := false
	err = c.each(plan.Page, func(st *sqlite3.Stmt) {
		if len(rids) == count {
			more = true
			return
		}
		rids, seqs = append(rids, st.ColumnInt64(0)), append(seqs, st.ColumnInt64(1))
		last = make([]any, plan.Sorts)
		for i := range last {
			last[i] = columnValue(st, 2+i)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if more {
		res.Next = sqlsearch.EncodeCursor(last, rids[len(rids)-1])
	}
	return rids, seqs, nil
}

func columnValue(st *sqlite3.Stmt, col int) any {
	switch st.ColumnType(col) {
	case sqlite3.INTEGER:
		return st.ColumnInt64(col)
	case sqlite3.FLOAT:
		return st.ColumnFloat(col)
	case sqlite3.NULL:
		return nil
	}
	return st.ColumnText(col)
}

// versions fetches the versions with the given seqs, in that order.
func versions(c *conn, seqs []int64) ([]*karte.Resource, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	byseq := make(map[int64]*karte.Resource, len(seqs))
	err := c.each(sqlsearch.Versions(sqlsearch.SQLite, versionColumns, seqs), func(st *sqlite3.Stmt) {
		r := scanVersion(st)
		byseq[r.Seq] = r
	})
	out := make([]*karte.Resource, 0, len(seqs))
	for _, seq := range seqs {
		if r := byseq[seq]; r != nil {
			out = append(out, r)
		}
	}
	return out, err
}

// includes runs the _include and _revinclude of q for the matches rids;
// :iterate ones also for what they include, a few rounds at most.
func includes(c *conn, q *karte.Query, rids []int64) ([]*karte.Resource, error) {
	if len(q.Include) == 0 || len(rids) == 0 {
		return nil, nil
	}
	seen := map[int64]bool{}
	for _, rid := range rids {
		seen[rid] = true
	}
	var out []*karte.Resource
	found := map[string][]int64{first(q.Types): rids} // rids by type, of the last round
	for round := 0; round < maxIterate && len(found) > 0; round++ {
		next := map[string][]int64{}
		for _, inc := range q.Include {
			if round > 0 && !inc.Iterate {
				continue
			}
			src := inc.Type
			if inc.Reverse {
				src = first(q.Types)
				if round > 0 {
					src = "" // any type found last round
				}
			}
			for typ, ids := range found {
				if src != "" && typ != src {
					continue
				}
				rs, err := includeRound(c, inc, ids, seen)
				if err != nil {
					return nil, err
				}
				for _, r := range rs {
					out = append(out, r.res)
					next[r.res.Type] = append(next[r.res.Type], r.rid)
				}
			}
		}
		found = next
	}
	return out, nil
}

type included struct {
	rid int64
	res *karte.Resource
}

func includeRound(c *conn, inc karte.Include, rids []int64, seen map[int64]bool) ([]included, error) {
	var newRids, seqs []int64
	err := c.each(sqlsearch.Include(sqlsearch.SQLite, inc, rids), func(st *sqlite3.Stmt) {
		rid := st.ColumnInt64(0)
		if !seen[rid] {
			seen[rid] = true
			newRids, seqs = append(newRids, rid), append(seqs, st.ColumnInt64(1))
		}
	})
	if err != nil {
		return nil, err
	}
	vs, err := versions(c, seqs)
	if err != nil {
		return nil, err
	}
	out := make([]included, 0, len(vs))
	for i, v := range vs {
		out = append(out, included{newRids[i], v})
	}
	return out, nil
}

func first(types []string) string {
	if len(types) == 0 {
		return ""
	}
	return types[0]
}

// explain describes the plan: the planner's notes and SQLite's own plan of
// the page statement.
func explain(c *conn, plan *sqlsearch.Plan) string {
	var b strings.Builder
	for _, n := range plan.Notes {
		b.WriteString(n + "\n")
	}
	b.WriteString("sqlite:\n")
	c.each(sqlsearch.Statement{SQL: "EXPLAIN QUERY PLAN " + plan.Page.SQL, Args: plan.Page.Args}, func(st *sqlite3.Stmt) {
		b.WriteString("  " + st.ColumnText(3) + "\n")
	})
	return b.String()
}
