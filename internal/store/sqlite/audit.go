package sqlite

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

var (
	_ karte.AuditLog      = (*Store)(nil)
	_ karte.AuditAppender = (*Store)(nil)
	_ karte.AuditSearcher = (*Store)(nil)
)

// AppendAudit implements karte.AuditLog. The records go through the writer
// like any Write, so they share its group commit and its durability.
func (s *Store) AppendAudit(ctx context.Context, recs []karte.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := consecutive(recs); err != nil {
		return err
	}
	return s.Write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		last, err := lastAuditSeq(c)
		if err != nil {
			return err
		}
		return insertAudit(c, last, recs)
	})
}

// AppendAuditAfter implements karte.AuditAppender. The writer goroutine is
// the only writer of the database, so it holds the append lock by itself.
func (s *Store) AppendAuditAfter(ctx context.Context, link func(last *karte.AuditRecord) ([]karte.AuditRecord, error)) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		last, err := lastAudit(c)
		if err != nil {
			return err
		}
		recs, err := link(last)
		if err != nil || len(recs) == 0 {
			return err
		}
		if err := consecutive(recs); err != nil {
			return err
		}
		seq := int64(0)
		if last != nil {
			seq = last.Seq
		}
		return insertAudit(c, seq, recs)
	})
}

// insertAudit stores recs, and their index entries, after the record
// numbered last.
func insertAudit(c *conn, last int64, recs []karte.AuditRecord) error {
	if recs[0].Seq != last+1 {
		return karte.Errorf(karte.Conflict, "audit record %d does not follow the last, %d", recs[0].Seq, last)
	}
	for _, r := range recs {
		if err := c.exec(`INSERT INTO audit_log (seq, time, event, prev, hash, checkpoint) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Seq, r.Time.UnixNano(), nonNil(r.Event), nonNil(r.Prev), nonNil(r.Hash), r.Checkpoint); err != nil {
			return fmt.Errorf("append audit record %d: %w", r.Seq, err)
		}
		for _, e := range r.Index {
			// OR IGNORE: an entry given twice is one entry.
			if err := c.exec(`INSERT OR IGNORE INTO audit_index (name, value, seq) VALUES (?, ?, ?)`, e.Name, e.Value, r.Seq); err != nil {
				return fmt.Errorf("index audit record %d: %w", r.Seq, err)
			}
		}
	}
	return nil
}

// consecutive checks that recs are numbered one after another.
func consecutive(recs []karte.AuditRecord) error {
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq != recs[i-1].Seq+1 {
			return karte.Errorf(karte.Conflict, "audit record %d follows %d in one append", recs[i].Seq, recs[i-1].Seq)
		}
	}
	return nil
}

// nonNil makes an absent value an empty BLOB, since bind turns a nil slice
// into NULL and the NOT NULL columns would refuse it.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func lastAuditSeq(c *conn) (int64, error) {
	st, err := c.query(`SELECT coalesce(max(seq), 0) FROM audit_log`)
	if err != nil {
		return 0, err
	}
	last := int64(0)
	if st.Step() {
		last = st.ColumnInt64(0)
	}
	return last, done(st)
}

const auditColumns = `seq, time, event, prev, hash, checkpoint`

const selectLastAudit = `SELECT ` + auditColumns + ` FROM audit_log ORDER BY seq DESC LIMIT 1`

func lastAudit(c *conn) (*karte.AuditRecord, error) {
	st, err := c.query(selectLastAudit)
	if err != nil {
		return nil, err
	}
	var last *karte.AuditRecord
	if st.Step() {
		r := scanAudit(st)
		last = &r
	}
	return last, done(st)
}

func scanAudit(st *sqlite3.Stmt) karte.AuditRecord {
	r := karte.AuditRecord{
		Seq:   st.ColumnInt64(0),
		Time:  time.Unix(0, st.ColumnInt64(1)).UTC(),
		Event: st.ColumnBlob(2, nil),
		Prev:  st.ColumnBlob(3, nil),
		Hash:  st.ColumnBlob(4, nil),
	}
	if st.ColumnType(5) != sqlite3.NULL {
		r.Checkpoint = st.ColumnBlob(5, nil)
	}
	return r
}

// AuditRecords implements karte.AuditLog. The index entries come in a
// second query; they were committed with their records, so every record
// the first finds has its entries.
func (s *Store) AuditRecords(ctx context.Context, after int64, n int) ([]karte.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	var recs []karte.AuditRecord
	err := s.withReader(ctx, func(c *conn) error {
		err := c.each(sqlsearch.Statement{
			SQL:  `SELECT ` + auditColumns + ` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`,
			Args: []any{after, n},
		}, func(st *sqlite3.Stmt) { recs = append(recs, scanAudit(st)) })
		if err != nil || len(recs) == 0 {
			return err
		}
		i := 0
		return c.each(sqlsearch.Statement{
			SQL:  `SELECT seq, name, value FROM audit_index WHERE seq > ? AND seq <= ? ORDER BY seq, name, value`,
			Args: []any{after, recs[len(recs)-1].Seq},
		}, func(st *sqlite3.Stmt) {
			seq := st.ColumnInt64(0)
			for i < len(recs) && recs[i].Seq < seq {
				i++
			}
			if i < len(recs) && recs[i].Seq == seq {
				recs[i].Index = append(recs[i].Index, karte.AuditIndexEntry{Name: st.ColumnText(1), Value: st.ColumnText(2)})
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("audit records after %d: %w", after, err)
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
	stmt := sqlsearch.Statement{
		SQL:  `SELECT ` + auditColumns + ` FROM audit_log WHERE ` + where + ` ORDER BY seq ` + order + ` LIMIT ?`,
		Args: append(args, q.Limit),
	}
	var recs []karte.AuditRecord
	err := s.withReader(ctx, func(c *conn) error {
		return c.each(stmt, func(st *sqlite3.Stmt) { recs = append(recs, scanAudit(st)) })
	})
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
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
	err := s.withReader(ctx, func(c *conn) error {
		return c.each(sqlsearch.Statement{SQL: `SELECT count(*) FROM audit_log WHERE ` + where, Args: args},
			func(st *sqlite3.Stmt) { n = st.ColumnInt64(0) })
	})
	if err != nil {
		return 0, fmt.Errorf("audit count: %w", err)
	}
	return n, nil
}

// auditWhere returns the condition on audit_log that q sets, and its
// arguments. Each filter is a set of seqs from the index's primary key
// (name, value, seq).
func auditWhere(q karte.AuditQuery) (string, []any) {
	conds := []string{"1"}
	var args []any
	if q.After > 0 {
		conds, args = append(conds, "seq > ?"), append(args, q.After)
	}
	if q.Before > 0 {
		conds, args = append(conds, "seq < ?"), append(args, q.Before)
	}
	lo, hi, empty := timeRange(q)
	if empty {
		return "0", nil
	}
	if lo != nil {
		conds, args = append(conds, "time >= ?"), append(args, *lo)
	}
	if hi != nil {
		conds, args = append(conds, "time < ?"), append(args, *hi)
	}
	for _, f := range q.Filters {
		conds = append(conds, "seq IN (SELECT seq FROM audit_index WHERE name = ? AND value IN (?"+strings.Repeat(", ?", len(f.Values)-1)+"))")
		args = append(args, f.Name)
		for _, v := range f.Values {
			args = append(args, v)
		}
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
	var last *karte.AuditRecord
	err := s.withReader(ctx, func(c *conn) (err error) {
		last, err = lastAudit(c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("last audit record: %w", err)
	}
	return last, nil
}
