package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

var _ karte.Searcher = (*Store)(nil)

// Search implements karte.Searcher. The whole search runs in one read-only
// REPEATABLE READ transaction, so the planner's estimates, the page, the
// total and the includes all see one snapshot.
func (s *Store) Search(ctx context.Context, q *karte.Query) (*karte.SearchResult, error) {
	res := &karte.SearchResult{Total: -1}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, s.pool, opts, func(tx pgx.Tx) error {
		return search(ctx, tx, q, res)
	})
	if err != nil {
		var ke *karte.Error
		if errors.As(err, &ke) { // a bad cursor, already classified
			return nil, fmt.Errorf("search: %w", err)
		}
		return nil, dbError(err, "search")
	}
	return res, nil
}

func search(ctx context.Context, tx pgx.Tx, q *karte.Query, res *karte.SearchResult) error {
	est := func(ctx context.Context, st sqlsearch.Statement) (int, error) { return count(ctx, tx, st) }
	plan, err := sqlsearch.Compile(ctx, sqlsearch.Postgres, q, est)
	if err != nil {
		return err
	}
	if q.Total {
		if res.Total, err = count(ctx, tx, plan.Count); err != nil {
			return err
		}
	}
	if q.Explain {
		if res.Plan, err = explain(ctx, tx, plan); err != nil {
			return err
		}
	}
	if q.Count == 0 {
		return nil
	}
	rids, seqs, err := page(ctx, tx, plan, q.Count, res)
	if err != nil {
		return err
	}
	found, err := matches(ctx, tx, rids, seqs)
	if err != nil {
		return err
	}
	for _, m := range found {
		res.Matches = append(res.Matches, m.Resource)
	}
	res.Included, err = sqlsearch.Includes(sqlsearch.Postgres, q, found, sqlsearch.Fetch{Resources: includeFetch(ctx, tx), Types: typesFetch(ctx, tx)})
	return err
}

// query runs a statement of sqlsearch. Their text varies with the query,
// so they go unprepared (QueryExecModeExec): in one round trip, planned for
// their arguments, and without filling each connection's statement cache.
func query(ctx context.Context, tx pgx.Tx, st sqlsearch.Statement) (pgx.Rows, error) {
	return tx.Query(ctx, st.SQL, append([]any{pgx.QueryExecModeExec}, st.Args...)...)
}

// count runs a statement that returns one number.
func count(ctx context.Context, tx pgx.Tx, st sqlsearch.Statement) (int, error) {
	rows, err := query(ctx, tx, st)
	if err != nil {
		return 0, err
	}
	return pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
}

// page runs the page statement and sets res.Next when there is more: the
// statement asks for one row beyond the page to know.
func page(ctx context.Context, tx pgx.Tx, plan *sqlsearch.Plan, count int, res *karte.SearchResult) (rids, seqs []int64, err error) {
	rows, err := query(ctx, tx, plan.Page)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var last []any
	more := false
	for rows.Next() {
		if len(rids) == count {
			more = true
			break
		}
		// rid, seq, then the sort values: int64, float64 or string, which
		// the cursor carries as they are.
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, err
		}
		rid, ok1 := vals[0].(int64)
		seq, ok2 := vals[1].(int64)
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("page row: rid %T and seq %T, want int64", vals[0], vals[1])
		}
		rids, seqs, last = append(rids, rid), append(seqs, seq), vals[2:]
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if more {
		res.Next = sqlsearch.EncodeCursor(last, rids[len(rids)-1])
	}
	return rids, seqs, nil
}

// selectVersions reads the versions with the seqs of an array, in one
// statement text whatever the number of seqs, so it is prepared once per
// connection and reads bodies in binary.
const selectVersions = `SELECT ` + versionColumns + ` FROM resource_version v WHERE v.seq = ANY($1)`

// versions fetches the versions with the given seqs, in that order.
func versions(ctx context.Context, tx pgx.Tx, seqs []int64) ([]*karte.Resource, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, selectVersions, seqs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byseq := make(map[int64]*karte.Resource, len(seqs))
	for rows.Next() {
		r, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		byseq[r.Seq] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*karte.Resource, 0, len(seqs))
	for _, seq := range seqs {
		if r := byseq[seq]; r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// includes runs the _include and _revinclude of q for the matches rids;
// :iterate ones also for what they include, a few rounds at most. The
// rounds follow the SQLite engine's exactly.

// includeFetch runs one include statement and returns what it selects.
func includeFetch(ctx context.Context, tx pgx.Tx) func(sqlsearch.Statement) ([]sqlsearch.Match, error) {
	return func(st sqlsearch.Statement) ([]sqlsearch.Match, error) {
		rows, err := query(ctx, tx, st)
		if err != nil {
			return nil, err
		}
		var rids, seqs []int64
		var rid, seq int64
		if _, err := pgx.ForEachRow(rows, []any{&rid, &seq}, func() error {
			rids, seqs = append(rids, rid), append(seqs, seq)
			return nil
		}); err != nil {
			return nil, err
		}
		return matches(ctx, tx, rids, seqs)
	}
}

// typesFetch runs a statement that selects type names.
func typesFetch(ctx context.Context, tx pgx.Tx) func(sqlsearch.Statement) ([]string, error) {
	return func(st sqlsearch.Statement) ([]string, error) {
		rows, err := query(ctx, tx, st)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
}

// matches fetches the versions of seqs, paired with their rids.
func matches(ctx context.Context, tx pgx.Tx, rids, seqs []int64) ([]sqlsearch.Match, error) {
	vs, err := versions(ctx, tx, seqs)
	if err != nil {
		return nil, err
	}
	if len(vs) != len(rids) {
		return nil, fmt.Errorf("search: %d versions for %d resources", len(vs), len(rids))
	}
	out := make([]sqlsearch.Match, len(vs))
	for i, v := range vs {
		out[i] = sqlsearch.Match{RID: rids[i], Resource: v}
	}
	return out, nil
}

// explain describes the plan: the planner's notes and PostgreSQL's own
// plan of the page statement.
func explain(ctx context.Context, tx pgx.Tx, plan *sqlsearch.Plan) (string, error) {
	var b strings.Builder
	for _, n := range plan.Notes {
		b.WriteString(n + "\n")
	}
	b.WriteString("postgres:\n")
	rows, err := query(ctx, tx, sqlsearch.Statement{SQL: "EXPLAIN " + plan.Page.SQL, Args: plan.Page.Args})
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String(), nil
}

var _ karte.TxSearcher = (*tx)(nil)

// Search implements karte.TxSearcher inside the write transaction.
func (t *tx) Search(ctx context.Context, q *karte.Query) (*karte.SearchResult, error) {
	res := &karte.SearchResult{Total: -1}
	if err := search(ctx, t.tx, q, res); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}
