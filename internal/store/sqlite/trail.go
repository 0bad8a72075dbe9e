package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"

	"kartehub/internal/karte"
)

// AuditPath is the file of the audit trail of the database at path: in
// the same directory, named after it ("kartehub.db": "kartehub-audit.db").
func AuditPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-audit" + ext
}

// trailMoved is the record's schema version that moved the audit trail
// out of the record's file into its own.
const trailMoved = 7

// moveTrail copies the audit trail from the record's file, where kartehub
// kept it before schema version 7, to the trail's file at trailPath, whose
// schema is in place. It copies only what the trail lacks, so that it may
// run again if kartehub stops before the migration that drops the old
// tables has committed.
func moveTrail(c *conn, trailPath string) error {
	name, err := uri(trailPath)
	if err != nil {
		return err
	}
	if err := c.db.Exec(`ATTACH DATABASE '` + strings.ReplaceAll(name, "'", "''") + `' AS trail`); err != nil {
		return err
	}
	defer c.db.Exec(`DETACH DATABASE trail`)
	tx, err := c.db.BeginImmediate()
	if err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO trail.audit_block (first_seq, last_seq, min_time, max_time, idx, data)
		SELECT first_seq, last_seq, min_time, max_time, idx, data FROM main.audit_block
		WHERE first_seq > (SELECT coalesce(max(last_seq), 0) FROM trail.audit_block) ORDER BY first_seq`,
		`INSERT INTO trail.audit_epoch (first_seq, last_seq) SELECT first_seq, last_seq FROM main.audit_epoch
		WHERE first_seq > (SELECT coalesce(max(last_seq), 0) FROM trail.audit_epoch) ORDER BY first_seq`,
		`INSERT OR IGNORE INTO trail.audit_block_index (epoch, name, value, first_seq)
		SELECT epoch, name, value, first_seq FROM main.audit_block_index`,
	} {
		if err := c.db.Exec(q); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// pairTrail makes sure that the trail at trailPath is the record's own.
// A trail makes an id for itself when it is created, and the record keeps
// the id of the first trail it is opened with; a trail lost, replaced, or
// brought from another data directory would otherwise be taken as it is,
// or a new, empty one silently started, and the trail of everything before
// would be gone without a trace.
func pairTrail(ctx context.Context, record, trail *database, trailPath string) error {
	id, err := trailID(ctx, trail)
	if err != nil {
		return fmt.Errorf("audit trail %s: %w", trailPath, err)
	}
	var paired string
	err = record.write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		var err error
		if paired, err = textOf(c, `SELECT id FROM audit_trail`); err != nil || paired != "" {
			return err
		}
		paired = id
		return c.exec(`INSERT INTO audit_trail (id) VALUES (?)`, id)
	})
	switch {
	case err != nil:
		return fmt.Errorf("audit trail %s: %w", trailPath, err)
	case paired != id:
		return fmt.Errorf("the audit trail %s is not this database's (it is trail %s, the database's is %s): it was lost or replaced; restore it from the backup taken with the database", trailPath, id, paired)
	}
	return nil
}

// trailID returns the id of the trail, which it makes when first asked.
func trailID(ctx context.Context, trail *database) (string, error) {
	var id string
	err := trail.write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		var err error
		if id, err = textOf(c, `SELECT id FROM trail_id`); err != nil || id != "" {
			return err
		}
		id = rand.Text()
		return c.exec(`INSERT INTO trail_id (id) VALUES (?)`, id)
	})
	return id, err
}

// textOf returns the text in the first row of query, or "".
func textOf(c *conn, query string) (string, error) {
	st, err := c.query(query)
	if err != nil {
		return "", err
	}
	text := ""
	if st.Step() {
		text = st.ColumnText(0)
	}
	return text, done(st)
}
