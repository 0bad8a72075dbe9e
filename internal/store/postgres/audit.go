package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kartehub/internal/karte"
)

var (
	_ karte.AuditLog      = (*Store)(nil)
	_ karte.AuditAppender = (*Store)(nil)
)

// auditLockKey is the advisory lock that serialises appends to audit_log
// across every server on the database ("kh-audit" in ASCII), so that
// sequence numbers are handed out, and become visible, in order.
const auditLockKey = 0x6b682d6175646974

const lockAudit = `SELECT pg_advisory_xact_lock($1)`

// appendAudit inserts the records passed as arrays, but only if the first
// follows the last stored one. It runs after the advisory lock is granted,
// and READ COMMITTED takes its snapshot then, so it sees every append that
// finished before.
const appendAudit = `INSERT INTO audit_log (seq, time, event, prev, hash, checkpoint)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])
WHERE (SELECT coalesce(max(seq), 0) FROM audit_log) = $7`

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
		var tag pgconn.CommandTag
		if err == nil {
			tag, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return t.fail(err, "append audit records %d-%d", recs[0].Seq, recs[len(recs)-1].Seq)
		}
		if tag.RowsAffected() != int64(len(recs)) {
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
		tag, err := t.tx.Exec(ctx, appendAudit, args...)
		if err != nil {
			return t.fail(err, "append audit records %d-%d", recs[0].Seq, recs[len(recs)-1].Seq)
		}
		if tag.RowsAffected() != int64(len(recs)) {
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
	return []any{seqs, times, events, prevs, hashes, checkpoints, recs[0].Seq - 1}, nil
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

// AuditRecords implements karte.AuditLog.
func (s *Store) AuditRecords(ctx context.Context, after int64, n int) ([]karte.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, n)
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (karte.AuditRecord, error) { return scanAudit(row) })
	if err != nil {
		return nil, dbError(err, "audit records after %d", after)
	}
	return recs, nil
}

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
