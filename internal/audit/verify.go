package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kartehub/internal/karte"
)

// Report sums up a verified audit log.
type Report struct {
	Records     int64 // records checked
	Checkpoints int64 // valid signatures among them
	LastSeq     int64
	LastTime    time.Time
	// LastCheckpoint is the Seq of the last signed record (0 if none).
	// The records after it are held together by the hash chain only:
	// someone able to write to the database could rewrite or drop them
	// without Verify noticing, until the next checkpoint.
	LastCheckpoint int64
	// Unindexed counts the records at the start of the log that were
	// stored without index entries (their Index is nil) although their
	// events have some: records written before kartehub indexed the trail
	// (schema version 6). Audit searches do not find them; reading the
	// log in order (export, verify) does.
	Unindexed int64
}

// Problem is what is wrong with a broken audit log.
type Problem int

// The problems Verify finds.
const (
	// Altered: the record's hash does not match its content, or the record
	// does not link to the one before it.
	Altered Problem = iota + 1
	// Deleted: records are missing, a gap in the sequence numbers.
	Deleted
	// Inserted: the record was put in between two others; the record
	// after it links to the one before it.
	Inserted
	// BadSignature: a checkpoint's signature does not verify, so the
	// checkpoint was changed, or the records it covers were rewritten with
	// hashes recomputed, or it was signed by another key.
	BadSignature
	// MissingCheckpoint: a record due a checkpoint (its Seq a multiple of
	// Every) has none: a signature was removed.
	MissingCheckpoint
	// Malformed: a field does not have its size, records come out of
	// order, or the log cannot read its stored records back from this one
	// on (karte.AuditDamageError): bytes of a block were altered or cut.
	Malformed
	// IndexMismatch: the record's stored index entries are not those
	// derived from its event (see Index): entries were removed, added or
	// changed in the database, so that searches miss the record or find it
	// where they should not; or the event was rewritten, with the hashes
	// after it, past the last checkpoint, and the index was not. Verify
	// reports it only when the chain is otherwise intact.
	IndexMismatch
)

var problemNames = [...]string{
	Altered: "altered", Deleted: "deleted", Inserted: "inserted", BadSignature: "bad signature",
	MissingCheckpoint: "missing checkpoint", Malformed: "malformed", IndexMismatch: "index mismatch",
}

func (p Problem) String() string {
	if p > 0 && int(p) < len(problemNames) {
		return problemNames[p]
	}
	return fmt.Sprintf("problem(%d)", int(p))
}

// BrokenError is the error Verify returns for a log that fails a check.
// It names the first broken record.
type BrokenError struct {
	Seq     int64 // the first broken record: for Deleted, the first missing one
	Problem Problem
	Reason  string // for people: what is wrong
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit trail broken at record %d: %s", e.Seq, e.Reason)
}

// Verifier checks audit logs against a public key.
type Verifier struct {
	Key ed25519.PublicKey
	// Every is the checkpoint interval the log was written with: every
	// record whose Seq is a multiple of it must carry a checkpoint. Zero
	// means DefaultEvery; negative requires none.
	Every int
	// PageSize is how many records are read at a time (default 1000).
	PageSize int
}

// Verify checks log with the default checkpoint interval: see
// Verifier.Verify.
func Verify(ctx context.Context, log karte.AuditLog, publicKey ed25519.PublicKey) (*Report, error) {
	return (&Verifier{Key: publicKey}).Verify(ctx, log)
}

// recent is how many hashes Verify remembers to tell an inserted record
// from an altered one.
const recent = 64

// Verify walks the whole log in Seq order. It recomputes every hash, checks
// that every record links to the one before and that the sequence has no
// gaps, and checks every checkpoint signature. It also derives each
// record's index entries from its event and compares them with the stored
// ones, but for records at the start of the log stored without any
// (Report.Unindexed); the first mismatch is reported (IndexMismatch, with
// a full report) only if the chain is intact. It returns the report and a
// *BrokenError for the first broken record, or a nil error if the log is
// intact; any other error means it could not read the log. The report
// covers the records before the broken one.
//
// What Verify cannot see: records cut off the end of the log, and records
// after the last checkpoint that were rewritten with recomputed hashes (see
// Report.LastCheckpoint). Checkpoints, and a copy of the last one kept
// elsewhere, are the defence there.
func (v *Verifier) Verify(ctx context.Context, log karte.AuditLog) (*Report, error) {
	every := int64(v.Every)
	if every == 0 {
		every = DefaultEvery
	}
	page := v.PageSize
	if page <= 0 {
		page = 1000
	}
	if len(v.Key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit verify: public key has %d bytes, want %d", len(v.Key), ed25519.PublicKeySize)
	}
	rep := &Report{}
	w := walk{key: v.Key, every: every, rep: rep, prev: make([]byte, HashSize)}
	after := int64(0)
	for {
		recs, err := log.AuditRecords(ctx, after, page)
		var damage *karte.AuditDamageError
		if err != nil && !errors.As(err, &damage) {
			return rep, fmt.Errorf("audit verify: %w", err)
		}
		for i := range recs {
			if err := w.check(&recs[i]); err != nil {
				return rep, err
			}
		}
		if damage != nil {
			return rep, broken(damage.Seq, Malformed, "the stored records cannot be read from this one on: %s", damage.Reason)
		}
		if len(recs) < page {
			if w.index != nil {
				return rep, w.index
			}
			return rep, nil
		}
		after = recs[len(recs)-1].Seq
	}
}

// walk is the state of Verify between records.
type walk struct {
	key   ed25519.PublicKey
	every int64
	rep   *Report
	prev  []byte // hash of the last good record (zeros before the first)
	// hashes of the last good records, by seq % recent, to recognise an
	// insertion: a record that links to one further back than the last.
	hashes [recent][]byte
	// indexed is set from the first record stored with index entries on:
	// from there, every record must have its entries.
	indexed bool
	// index is the first index mismatch, reported if the chain is intact.
	index *BrokenError
}

func broken(seq int64, p Problem, format string, args ...any) *BrokenError {
	return &BrokenError{Seq: seq, Problem: p, Reason: fmt.Sprintf(format, args...)}
}

func (w *walk) check(r *karte.AuditRecord) error {
	want := w.rep.LastSeq + 1
	switch {
	case r.Seq > want:
		missing := fmt.Sprintf("records %d to %d are", want, r.Seq-1)
		if r.Seq == want+1 {
			missing = fmt.Sprintf("record %d is", want)
		}
		if want == 1 {
			return broken(want, Deleted, "%s missing (deleted): the log starts at record %d", missing, r.Seq)
		}
		return broken(want, Deleted, "%s missing (deleted): record %d follows record %d", missing, r.Seq, want-1)
	case r.Seq < want:
		return broken(r.Seq, Malformed, "record %d comes after record %d", r.Seq, want-1)
	case len(r.Prev) != HashSize || len(r.Hash) != HashSize:
		return broken(r.Seq, Malformed, "its hashes have %d and %d bytes, not %d", len(r.Prev), len(r.Hash), HashSize)
	}
	if !bytes.Equal(r.Prev, w.prev) {
		if back := w.linksBack(r.Prev); back > 0 {
			if back == want-2 {
				return broken(want-1, Inserted, "record %d was inserted: record %d links to record %d before it", want-1, r.Seq, back)
			}
			return broken(back+1, Inserted, "records %d to %d were inserted: record %d links to record %d before them", back+1, want-1, r.Seq, back)
		}
		if r.Seq == 1 {
			return broken(1, Altered, "record 1 does not start the chain: its Prev is not zero (records before it removed, or Prev altered)")
		}
		return broken(r.Seq, Altered, "record %d does not link to record %d: its Prev was altered, or records were removed and renumbered", r.Seq, want-1)
	}
	if !bytes.Equal(Hash(r.Prev, r.Seq, r.Time, r.Event), r.Hash) {
		return broken(r.Seq, Altered, "content altered: its time or event does not match its hash")
	}
	switch {
	case r.Checkpoint != nil && !ed25519.Verify(w.key, r.Hash, r.Checkpoint):
		return broken(r.Seq, BadSignature,
			"checkpoint signature does not verify: records %d to %d were rewritten with recomputed hashes, or the signature was changed, or another key signed it",
			w.rep.LastCheckpoint+1, r.Seq)
	case r.Checkpoint != nil:
		w.rep.Checkpoints++
		w.rep.LastCheckpoint = r.Seq
	case w.every > 0 && r.Seq%w.every == 0:
		return broken(r.Seq, MissingCheckpoint, "no checkpoint, but one is due every %d records: the signature was removed", w.every)
	}
	w.checkIndex(r)
	w.prev = r.Hash
	w.hashes[r.Seq%recent] = r.Hash
	w.rep.Records++
	w.rep.LastSeq, w.rep.LastTime = r.Seq, r.Time
	return nil
}

// linksBack returns the seq of the earlier record (before the last) whose
// hash is h, among those remembered, or 0.
func (w *walk) linksBack(h []byte) int64 {
	last := w.rep.LastSeq
	for seq := last - 1; seq >= 1 && seq > last-recent; seq-- {
		if bytes.Equal(w.hashes[seq%recent], h) {
			return seq
		}
	}
	return 0
}

// checkIndex compares r's stored index entries with those of its event,
// and keeps the first mismatch.
func (w *walk) checkIndex(r *karte.AuditRecord) {
	want, _ := Index(r.Event) // an event that is no JSON object has no entries
	got := r.Index
	switch {
	case slices.Equal(got, want):
	case got == nil && !w.indexed:
		w.rep.Unindexed++
	case w.index == nil:
		w.index = broken(r.Seq, IndexMismatch, "its search index does not match its event (%s): index rows were altered in the database, "+
			"so that searches miss the record or find it falsely, or the event was rewritten with its hashes recomputed after the last checkpoint, "+
			"and the index still shows what it said", indexDiff(got, want))
	}
	w.indexed = w.indexed || got != nil
}

// indexDiff describes how the stored entries got differ from want.
func indexDiff(got, want []karte.AuditIndexEntry) string {
	var missing, extra []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		var c int
		switch {
		case i == len(got):
			c = 1
		case j == len(want):
			c = -1
		default:
			c = CompareIndexEntries(got[i], want[j])
		}
		switch {
		case c > 0:
			missing = append(missing, want[j].Name+"="+want[j].Value)
			j++
		case c < 0:
			extra = append(extra, got[i].Name+"="+got[i].Value)
			i++
		default:
			i++
			j++
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+strings.Join(extra, ", "))
	}
	return strings.Join(parts, "; ")
}
