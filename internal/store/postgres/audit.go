package postgres

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
)

var (
	_ karte.AuditLog      = (*Store)(nil)
	_ karte.AuditAppender = (*Store)(nil)
	_ karte.AuditSearcher = (*Store)(nil)
)

// auditLockKey is the advisory lock that serialises appends to audit_log
// across every server on the database ("kh-audit" in ASCII), so that
// sequence numbers are handed out, and become visible, in order.
const auditLockKey = 0x6b682d6175646974

const lockAudit = `SELECT pg_advisory_xact_lock($1)`

// appendAudit inserts the records passed as arrays, but only if the first
// follows the last stored one, and then their index entries, and returns
// how many records it inserted. It runs after the advisory lock is granted,
// and READ COMMITTED takes its snapshot then, so it sees every append that
// finished before. An entry given twice is one entry.
const appendAudit = `WITH l AS (
	INSERT INTO audit_log (seq, time, event, prev, hash, checkpoint)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])
	WHERE (SELECT coalesce(max(seq), 0) FROM audit_log) = $7
	RETURNING seq
), i AS (
	INSERT INTO audit_index (name, value, seq)
	SELECT * FROM unnest($8::text[], $9::text[], $10::bigint[])
	WHERE EXISTS (SELECT FROM l)
	ON CONFLICT DO NOTHING
)
SELECT count(*) FROM l`

const auditColumns = `seq, time, event, prev, hash, checkpoint`

const selectLastAudit = `SELECT ` + auditColumns + ` FROM audit_log ORDER BY seq DESC LIMIT 1`

// AppendAudit implements karte.AuditLog: the lock and the insert in one
// round trip, then the commit.
func (s *Store) AppendAudit(ctx context.Context, recs []karte.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	args, err := auditArgs(recs)
	if err != nil {
		return err
	}
	return s.Write(ctx, func(kt karte.Tx) error {
		t := kt.(*tx)
		b := &pgx.Batch{}
		b.Queue(lockAudit, int64(auditLockKey))
		b.Queue(appendAudit, args...)
		br := t.tx.SendBatch(ctx, b)
		_, err := br.Exec()
		var n int64
		if err == nil {
			err = br.QueryRow().Scan(&n)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return t.fail(err, "append audit records %d-%d", recs[0].Seq, recs[len(recs)-1].Seq)
		}
		if n != int64(len(recs)) {
			return karte.Errorf(karte.Conflict, "audit record %d does not follow the last one", recs[0].Seq)
		}
		return nil
	})
}

// AppendAuditAfter implements karte.AuditAppender: the lock and the read
// of the last record in one round trip, then the insert and the commit.
func (s *Store) AppendAuditAfter(ctx context.Context, link func(last *karte.AuditRecord) ([]karte.AuditRecord, error)) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		t := kt.(*tx)
		b := &pgx.Batch{}
		b.Queue(lockAudit, int64(auditLockKey))
		b.Queue(selectLastAudit)
		br := t.tx.SendBatch(ctx, b)
		_, err := br.Exec()
		var last *karte.AuditRecord
		if err == nil {
			var r karte.AuditRecord
			switch r, err = scanAudit(br.QueryRow()); {
			case err == nil:
				last = &r
			case errors.Is(err, pgx.ErrNoRows):
				err = nil
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return t.fail(err, "last audit record")
		}
		recs, err := link(last)
		if err != nil || len(recs) == 0 {
			return err
		}
		args, err := auditArgs(recs)
		if err != nil {
			return err
		}
		var n int64
		if err := t.tx.QueryRow(ctx, appendAudit, args...).Scan(&n); err != nil {
			return t.fail(err, "append audit records %d-%d", recs[0].Seq, recs[len(recs)-1].Seq)
		}
		if n != int64(len(recs)) {
			return karte.Errorf(karte.Conflict, "audit record %d does not follow the last one", recs[0].Seq)
		}
		return nil
	})
}

// auditArgs returns the arguments of appendAudit for recs, which must be
// numbered consecutively.
func auditArgs(recs []karte.AuditRecord) ([]any, error) {
	n := len(recs)
	seqs, times := make([]int64, n), make([]int64, n)
	events, prevs, hashes, checkpoints := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
	for i, r := range recs {
		if i > 0 && r.Seq != recs[i-1].Seq+1 {
			return nil, karte.Errorf(karte.Conflict, "audit record %d follows %d in one append", r.Seq, recs[i-1].Seq)
		}
		seqs[i], times[i] = r.Seq, r.Time.UnixNano()
		events[i], prevs[i], hashes[i], checkpoints[i] = nonNil(r.Event), nonNil(r.Prev), nonNil(r.Hash), r.Checkpoint
	}
	names, values, of := []string{}, []string{}, []int64{}
	for _, r := range recs {
		for _, e := range r.Index {
			names, values, of = append(names, e.Name), append(values, e.Value), append(of, r.Seq)
		}
	}
	return []any{seqs, times, events, prevs, hashes, checkpoints, recs[0].Seq - 1, names, values, of}, nil
}

// nonNil makes an absent value an empty bytea for the NOT NULL columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanAudit(row pgx.Row) (karte.AuditRecord, error) {
	var r karte.AuditRecord
	var ns int64
	err := row.Scan(&r.Seq, &ns, &r.Event, &r.Prev, &r.Hash, &r.Checkpoint)
	r.Time = time.Unix(0, ns).UTC()
	return r, err
}

// AuditRecords implements karte.AuditLog. The index entries come in a
// second query; they were committed with their records, so every record
// the first finds has its entries.
func (s *Store) AuditRecords(ctx context.Context, after int64, n int) ([]karte.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, n)
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (karte.AuditRecord, error) { return scanAudit(row) })
	if err != nil {
		return nil, dbError(err, "audit records after %d", after)
	}
	if len(recs) == 0 {
		return recs, nil
	}
	rows, _ = s.pool.Query(ctx, `SELECT seq, name, value FROM audit_index WHERE seq > $1 AND seq <= $2 ORDER BY seq, name, value`,
		after, recs[len(recs)-1].Seq)
	i := 0
	var seq int64
	var e karte.AuditIndexEntry
	_, err = pgx.ForEachRow(rows, []any{&seq, &e.Name, &e.Value}, func() error {
		for i < len(recs) && recs[i].Seq < seq {
			i++
		}
		if i < len(recs) && recs[i].Seq == seq {
			recs[i].Index = append(recs[i].Index, e)
		}
		return nil
	})
	if err != nil {
		return nil, dbError(err, "audit index after %d", after)
	}
	return recs, nil
}

// SearchAudit implements karte.AuditSearcher.
func (s *Store) SearchAudit(ctx context.Context, q karte.AuditQuery) ([]karte.AuditRecord, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, karte.Errorf(karte.Invalid, "audit query: limit %d", q.Limit)
	}
	where, args := auditWhere(q)
	order := "ASC"
	if q.Descending {
		order = "DESC"
	}
	args = append(args, q.Limit)
	sql := `SELECT ` + auditColumns + ` FROM audit_log WHERE ` + where + ` ORDER BY seq ` + order + ` LIMIT $` + strconv.Itoa(len(args))
	rows, _ := s.pool.Query(ctx, sql, args...)
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (karte.AuditRecord, error) { return scanAudit(row) })
	if err != nil {
		return nil, dbError(err, "audit search")
	}
	return recs, nil
}

// CountAudit implements karte.AuditSearcher.
func (s *Store) CountAudit(ctx context.Context, q karte.AuditQuery) (int64, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	where, args := auditWhere(q)
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE `+where, args...).Scan(&n); err != nil {
		return 0, dbError(err, "audit count")
	}
	return n, nil
}

// auditWhere returns the condition on audit_log that q sets, and its
// arguments ($1, $2, ...). Each filter is a set of seqs from the index's
// primary key (name, value, seq).
func auditWhere(q karte.AuditQuery) (string, []any) {
	conds := []string{"true"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.After > 0 {
		conds = append(conds, "seq > "+arg(q.After))
	}
	if q.Before > 0 {
		conds = append(conds, "seq < "+arg(q.Before))
	}
	lo, hi, empty := timeRange(q)
	if empty {
		return "false", nil
	}
	if lo != nil {
		conds = append(conds, "time >= "+arg(*lo))
	}
	if hi != nil {
		conds = append(conds, "time < "+arg(*hi))
	}
	for _, f := range q.Filters {
		conds = append(conds, "seq IN (SELECT seq FROM audit_index WHERE name = "+arg(f.Name)+" AND value = ANY("+arg(f.Values)+"::text[]))")
	}
	return strings.Join(conds, " AND "), args
}

// timeRange returns q's bounds on time as unix nanoseconds, the column's
// unit: lo <= time < hi, nil for no bound. Times beyond what the column can
// hold (years 1678 to 2262) are no bound, or leave the range empty.
func timeRange(q karte.AuditQuery) (lo, hi *int64, empty bool) {
	switch {
	case !q.Since.IsZero() && q.Since.After(maxTime), !q.Until.IsZero() && !q.Until.After(minTime):
		return nil, nil, true
	}
	if !q.Since.IsZero() && q.Since.After(minTime) {
		n := q.Since.UnixNano()
		lo = &n
	}
	if !q.Until.IsZero() && !q.Until.After(maxTime) {
		n := q.Until.UnixNano()
		hi = &n
	}
	return lo, hi, false
}

var minTime, maxTime = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// LastAudit implements karte.AuditLog.
func (s *Store) LastAudit(ctx context.Context) (*karte.AuditRecord, error) {
	r, err := scanAudit(s.pool.QueryRow(ctx, selectLastAudit))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, dbError(err, "last audit record")
	}
	return &r, nil
}
