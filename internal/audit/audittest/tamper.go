package audittest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
)

// BlockSize is how many records BuildBlocks appends at once: the 12
// records of the tampering tests lie in blocks 1-5, 6-10 and 11-12.
const BlockSize = 5

// Epoch is how many records an epoch of an engine's audit index gathers in
// the engines' tests (see kartehub/internal/store/auditblock): the blocks
// 1-5 and 6-10 make the first epoch, indexed when block 6-10 is appended,
// and block 11-12 is the tail after it, found by its idx alone.
const Epoch = 10

// Chained returns records 1 to n of Event, chained with checkpoints every
// Every records, each with its index entries, as a Writer makes them.
func Chained(t testing.TB, n int) []karte.AuditRecord {
	t.Helper()
	chain := audit.NewChain(Key, Every)
	clock := Clock()
	recs := make([]karte.AuditRecord, 0, n)
	var last *karte.AuditRecord
	for i := 1; i <= n; i++ {
		at := clock()
		data, err := Event(i).JSON(at, audit.Source{})
		if err != nil {
			t.Fatal(err)
		}
		r := chain.Next(last, at, data, false)
		if r.Index, err = audit.Index(data); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		last = &recs[len(recs)-1]
	}
	return recs
}

// BuildBlocks appends the records of Chained(n) to log, BlockSize at a
// time, and returns them.
func BuildBlocks(t testing.TB, log karte.AuditLog, n int) []karte.AuditRecord {
	t.Helper()
	recs := Chained(t, n)
	for _, b := range blocks(recs) {
		if err := log.AppendAudit(context.Background(), b); err != nil {
			t.Fatalf("append records %d-%d: %v", b[0].Seq, b[len(b)-1].Seq, err)
		}
	}
	return recs
}

// blocks cuts recs into blocks of BlockSize, as BuildBlocks appends them.
func blocks(recs []karte.AuditRecord) [][]karte.AuditRecord {
	var out [][]karte.AuditRecord
	for from := 0; from < len(recs); from += BlockSize {
		out = append(out, recs[from:min(from+BlockSize, len(recs))])
	}
	return out
}

// testGuards: the engine's own guards refuse changes to the log.
func testGuards(t *testing.T, h Harness) {
	BuildBlocks(t, h.Log, 12)
	for _, stmt := range []string{
		`UPDATE audit_block SET data = data WHERE first_seq = 6`,
		`UPDATE audit_block SET max_time = 0 WHERE first_seq = 6`,
		`DELETE FROM audit_block WHERE first_seq = 6`,
		`UPDATE audit_block_index SET value = 'Patient/p9' WHERE first_seq = 6 AND name = 'patient'`,
		`DELETE FROM audit_block_index WHERE first_seq = 6`,
		`UPDATE audit_epoch SET last_seq = 5`,
		`DELETE FROM audit_epoch`,
		// The table of kartehub before blocks is read no more: nothing
		// may be added to it either.
		`INSERT INTO audit_log (seq, time, event, prev, hash) VALUES (100, 0, '', '', '')`,
	} {
		if err := h.Exec(t.Context(), stmt); err == nil {
			t.Errorf("%s: accepted, want the append-only guard to refuse it", stmt)
		}
	}
	if _, err := VerifyBuilt(t.Context(), h.Log); err != nil {
		t.Fatal(err)
	}
}

// tamperCase is one way of tampering with a log of 12 records, stored in
// blocks 1-5, 6-10 and 11-12, of which the first two make an indexed
// epoch, with checkpoints at 4, 8 and 12, and where Verify must find it.
type tamperCase struct {
	name    string
	tamper  func(t *testing.T, h Harness, recs []karte.AuditRecord)
	seq     int64
	problem audit.Problem
}

var tamperCases = []tamperCase{
	// Bytes of a block altered, or its columns.
	{"AlterEvent", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		data := encode(recs[5:10]).Data
		i := bytes.Index(data, []byte("Patient/p7"))
		data[i+len("Patient/p")] = '8'
		setData(t, h, 6, data)
	}, 7, audit.Altered},
	{"AlterTime", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// Within the block's period: only the hash shows it.
		recs[6].Time = recs[6].Time.Add(-time.Nanosecond)
		setData(t, h, 6, encode(recs[5:10]).Data)
	}, 7, audit.Altered},
	{"TimeOutsideBlock", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// A record moved out of its block's period would escape searches
		// by date.
		recs[6].Time = recs[6].Time.Add(-time.Hour)
		setData(t, h, 6, encode(recs[5:10]).Data)
	}, 7, audit.Malformed},
	{"NarrowBlockPeriod", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `UPDATE audit_block SET max_time = max_time - 1 WHERE first_seq = 6`)
	}, 10, audit.Malformed},
	{"CutBlock", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		data := encode(recs[5:10]).Data
		i := bytes.Index(data, recs[7].Event)
		setData(t, h, 6, data[:i+10])
	}, 8, audit.Malformed},
	{"GarbleLength", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// The length of record 8's event, made larger than the block.
		data := encode(recs[5:10]).Data
		i := bytes.Index(data, recs[7].Event)
		data[i-4] = 0x7f
		setData(t, h, 6, data)
	}, 8, audit.Malformed},
	{"CutCompressed", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// The stored bytes cut, without decompressing them: nothing of
		// the block can be read, so its first record is named.
		data := auditblock.Encode(recs[5:10]).Data
		setRawData(t, h, 6, data[:len(data)/2])
	}, 6, audit.Malformed},
	{"UnknownFormat", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		data := auditblock.Encode(recs[5:10]).Data
		data[0] = 9
		setRawData(t, h, 6, data)
	}, 6, audit.Malformed},
	{"RenumberBlock", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		// The block's key moved: searches through the index would miss
		// its records.
		exec(t, h, `UPDATE audit_block SET first_seq = 7 WHERE first_seq = 6`)
	}, 6, audit.Malformed},
	// Blocks deleted, and records deleted from a block.
	{"DeleteBlock", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `DELETE FROM audit_block WHERE first_seq = 6`)
	}, 6, audit.Deleted},
	{"DeleteFirstBlock", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `DELETE FROM audit_block WHERE first_seq = 1`)
	}, 1, audit.Deleted},
	{"DeleteRecord", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		block := slices.Concat(recs[5:7], recs[8:10])
		setData(t, h, 6, encode(block).Data)
	}, 8, audit.Deleted},
	{"DeleteAndRenumber", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// Record 6 removed and the records after it numbered down, in
		// blocks rewritten in full.
		rest := renumber(recs[6:], -1)
		rebuild(t, h, recs[:5], rest[:4], rest[4:])
	}, 6, audit.Altered},
	// Blocks inserted.
	{"InsertForged", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// A careful forger: a block with a record 6 of his own, with a
		// correct link and hash, and the real records numbered up after
		// it.
		forged := bytes.ReplaceAll(recs[5].Event, []byte("Patient/p6"), []byte("Patient/p99"))
		at := recs[4].Time.Add(time.Microsecond)
		f := karte.AuditRecord{Seq: 6, Time: at, Event: forged, Prev: recs[4].Hash, Hash: audit.Hash(recs[4].Hash, 6, at, forged)}
		rest := renumber(recs[5:], 1)
		rebuild(t, h, recs[:5], []karte.AuditRecord{f}, rest[:5], rest[5:])
	}, 6, audit.Inserted},
	{"InsertForgedCheckpoint", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// Inserted where a checkpoint is due, with a signature of the
		// forger's own key.
		other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
		at := recs[2].Time.Add(time.Microsecond)
		f := karte.AuditRecord{Seq: 4, Time: at, Event: recs[3].Event, Prev: recs[2].Hash, Hash: audit.Hash(recs[2].Hash, 4, at, recs[3].Event)}
		f.Checkpoint = ed25519.Sign(other, f.Hash)
		rest := renumber(recs[3:], 1)
		rebuild(t, h, append(slices.Clone(recs[:3]), f), rest[:5], rest[5:])
	}, 4, audit.BadSignature},
	{"InsertNaive", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// A careless forger: makes room, but links and hashes nothing.
		zero := make([]byte, audit.HashSize)
		f := karte.AuditRecord{Seq: 6, Time: recs[5].Time, Event: recs[5].Event, Prev: zero, Hash: zero}
		rest := renumber(recs[5:], 1)
		rebuild(t, h, recs[:5], []karte.AuditRecord{f}, rest)
	}, 6, audit.Altered},
	// Checkpoints.
	{"ChangeSignature", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		recs[7].Checkpoint = bytes.Clone(recs[7].Checkpoint)
		recs[7].Checkpoint[10] ^= 1
		setData(t, h, 6, encode(recs[5:10]).Data)
	}, 8, audit.BadSignature},
	{"RemoveSignature", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		recs[7].Checkpoint = nil
		setData(t, h, 6, encode(recs[5:10]).Data)
	}, 8, audit.MissingCheckpoint},
	{"RewriteChain", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// Alter record 6 and recompute every hash after it: only the
		// checkpoint at 8 shows it.
		rewrite(t, h, recs, 6, nil)
	}, 8, audit.BadSignature},
	{"RewriteAndResign", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		rewrite(t, h, recs, 6, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)))
	}, 8, audit.BadSignature},
	// Hiding a record from searches, or pinning it on another patient,
	// leaves the chain intact but not the index.
	{"IndexDelete", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `DELETE FROM audit_block_index WHERE first_seq = 6 AND name = 'patient' AND value = 'Patient/p7'`)
	}, 7, audit.IndexMismatch},
	{"IndexDeleteBlock", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `DELETE FROM audit_block_index WHERE first_seq >= 6`)
	}, 6, audit.IndexMismatch},
	{"IndexUpdate", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `UPDATE audit_block_index SET value = 'Patient/p99' WHERE first_seq = 6 AND value = 'Patient/p8'`)
	}, 8, audit.IndexMismatch},
	{"IndexInsert", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		// A row that no record of the block has: reported on the block's
		// last record.
		exec(t, h, `INSERT INTO audit_block_index (epoch, name, value, first_seq) VALUES (1, 'patient', 'Patient/p99', 6)`)
	}, 10, audit.IndexMismatch},
	{"IndexMoved", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		// Rows under another epoch than their block's are found by no
		// search.
		exec(t, h, `UPDATE audit_block_index SET epoch = 6 WHERE first_seq = 6 AND name = 'agent'`)
	}, 6, audit.IndexMismatch},

	{"IndexOfRecordAltered", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// Record 7's own entries in the block, without its patient.
		recs[6].Index = slices.DeleteFunc(slices.Clone(recs[6].Index), func(e karte.AuditIndexEntry) bool { return e.Name == audit.IndexPatient })
		exec(t, h, `UPDATE audit_block SET idx = $1 WHERE first_seq = 6`, encode(recs[5:10]).Index)
	}, 7, audit.IndexMismatch},
	{"IndexOfTailAltered", func(t *testing.T, h Harness, recs []karte.AuditRecord) {
		// Block 11-12 is not indexed yet: searches read its idx.
		recs[11].Index = slices.DeleteFunc(slices.Clone(recs[11].Index), func(e karte.AuditIndexEntry) bool { return e.Name == audit.IndexAgent })
		exec(t, h, `UPDATE audit_block SET idx = $1 WHERE first_seq = 11`, encode(recs[10:12]).Index)
	}, 12, audit.IndexMismatch},
	{"IndexGarbled", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `UPDATE audit_block SET idx = $1 WHERE first_seq = 11`, []byte{1, 2, 3})
	}, 11, audit.IndexMismatch},
}

// epochCases tamper with a log of 22 records, whose epochs hold records
// 1-10 and 11-20: without the first, or with it cut short, searches
// through the index miss blocks that are not after the last epoch.
var epochCases = []tamperCase{
	{"EpochDeleted", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `DELETE FROM audit_epoch WHERE first_seq = 1`)
	}, 1, audit.IndexMismatch},
	{"EpochCut", func(t *testing.T, h Harness, _ []karte.AuditRecord) {
		exec(t, h, `UPDATE audit_epoch SET last_seq = 5 WHERE first_seq = 1`)
	}, 6, audit.IndexMismatch},
}

func testTamper(t *testing.T, open func(t *testing.T) Harness) {
	t.Run("Clean", func(t *testing.T) {
		h := open(t)
		BuildBlocks(t, h.Log, 12)
		rep, err := VerifyBuilt(t.Context(), h.Log)
		if err != nil || rep.Records != 12 || rep.Checkpoints != 3 || rep.LastSeq != 12 || rep.LastCheckpoint != 12 || rep.Unindexed != 0 {
			t.Fatalf("Verify: %+v, %v; want 12 records, 3 checkpoints", rep, err)
		}
	})
	t.Run("Stored", func(t *testing.T) {
		// The tampering below rewrites blocks as the engines store them.
		h := open(t)
		if h.Exec == nil {
			t.Skip("no direct database access")
		}
		recs := BuildBlocks(t, h.Log, 12)
		b := auditblock.Encode(recs[5:10])
		for _, stmt := range []string{
			`UPDATE audit_block SET data = $1 WHERE first_seq = $2 AND data = $3`,
			`UPDATE audit_block SET idx = $1 WHERE first_seq = $2 AND idx = $3`,
		} {
			// A change to the same bytes is refused only because the
			// guard fires, which shows that the row matched.
			v := b.Data
			if bytes.Contains([]byte(stmt), []byte("idx")) {
				v = b.Index
			}
			if err := h.Exec(t.Context(), stmt, v, int64(6), v); err == nil {
				t.Errorf("%s: accepted, so block 6 is not stored as auditblock.Encode makes it", stmt)
			}
		}
	})
	for i, tc := range slices.Concat(tamperCases, epochCases) {
		t.Run(tc.name, func(t *testing.T) {
			h := open(t)
			if h.Exec == nil {
				t.Skip("no direct database access")
			}
			n := 12
			if i >= len(tamperCases) {
				n = 22
			}
			recs := BuildBlocks(t, h.Log, n)
			for _, stmt := range h.Unguard {
				exec(t, h, stmt)
			}
			tc.tamper(t, h, slices.Clone(recs))
			_, err := VerifyBuilt(t.Context(), h.Log)
			var be *audit.BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("Verify after tampering: %v, want a BrokenError", err)
			}
			if be.Seq != tc.seq || be.Problem != tc.problem {
				t.Fatalf("Verify: %v (%v); want record %d, %v", be, be.Problem, tc.seq, tc.problem)
			}
			t.Log(be)
		})
	}
}

// testLegacy: records that kartehub kept in audit_log before schema
// version 6 become blocks, byte for byte, without index entries, and the
// log goes on after them.
func testLegacy(t *testing.T, h Harness) {
	ctx := t.Context()
	recs := Chained(t, 6)
	for i := range recs {
		recs[i].Index = nil
	}
	log := h.Legacy(t, recs)
	got, err := log.AuditRecords(ctx, 0, 100)
	if err != nil || len(got) != len(recs) {
		t.Fatalf("AuditRecords: %d records, %v; want %d", len(got), err, len(recs))
	}
	for i, r := range got {
		same(t, r, recs[i], true)
	}
	w := audit.NewWriter(log, audit.NewChain(Key, Every), audit.WriterOptions{Now: Clock(), Interval: -1})
	for i := 7; i <= 9; i++ {
		if err := w.Record(ctx, Event(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rep, err := VerifyBuilt(ctx, log)
	if err != nil || rep.Records != 9 || rep.Unindexed != 6 {
		t.Fatalf("Verify: %+v, %v; want 9 records, 6 of them unindexed", rep, err)
	}
	if s, ok := log.(karte.AuditSearcher); ok {
		all, err := s.SearchAudit(ctx, karte.AuditQuery{Limit: 100})
		if err != nil || len(all) != 9 {
			t.Fatalf("SearchAudit of everything: %v, %v; want records 1 to 9", seqs(all), err)
		}
		p8, err := s.SearchAudit(ctx, karte.AuditQuery{Filters: []karte.AuditFilter{{Name: audit.IndexPatient, Values: []string{"Patient/p2", "Patient/p8"}}}, Limit: 100})
		if err != nil || !slices.Equal(seqs(p8), []int64{8}) {
			t.Fatalf("SearchAudit by patient: %v, %v; want record 8 (record 2 has no index)", seqs(p8), err)
		}
	}
}

func exec(t *testing.T, h Harness, sql string, args ...any) {
	t.Helper()
	if err := h.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// encode returns the block of recs with its records uncompressed (Data of
// format 1), for cases to alter them byte by byte.
func encode(recs []karte.AuditRecord) auditblock.Block {
	b := auditblock.Encode(recs)
	plain, err := b.Plain()
	if err != nil {
		panic(err)
	}
	b.Data = plain
	return b
}

// setData replaces the data of block first with data of format 1,
// compressed again as the engines store it: what a forger who knows the
// format would do.
func setData(t *testing.T, h Harness, first int64, data []byte) {
	t.Helper()
	setRawData(t, h, first, auditblock.Compress(data))
}

// setRawData replaces the stored data of block first with data as given.
func setRawData(t *testing.T, h Harness, first int64, data []byte) {
	t.Helper()
	exec(t, h, `UPDATE audit_block SET data = $1 WHERE first_seq = $2`, data, first)
}

// renumber returns copies of recs with Seq moved by d.
func renumber(recs []karte.AuditRecord, d int64) []karte.AuditRecord {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Seq += d
	}
	return out
}

// rebuild stores blocks in place of the whole log, and indexes them as
// the engines do, in epochs of Epoch records: what a careful forger with
// the database in hand would do.
func rebuild(t *testing.T, h Harness, blocks ...[]karte.AuditRecord) {
	t.Helper()
	for _, table := range []string{"audit_block_index", "audit_epoch", "audit_block"} {
		exec(t, h, `DELETE FROM `+table)
	}
	var epoch []auditblock.Block
	for _, recs := range blocks {
		b := auditblock.Encode(recs)
		exec(t, h, `INSERT INTO audit_block (first_seq, last_seq, min_time, max_time, idx, data) VALUES ($1, $2, $3, $4, $5, $6)`,
			b.FirstSeq, b.LastSeq, b.MinTime, b.MaxTime, b.Index, b.Data)
		if epoch = append(epoch, b); b.LastSeq-epoch[0].FirstSeq+1 < Epoch {
			continue
		}
		for _, r := range auditblock.EpochRows(epoch[0].FirstSeq, epoch) {
			exec(t, h, `INSERT INTO audit_block_index (epoch, name, value, first_seq) VALUES ($1, $2, $3, $4)`, r.Epoch, r.Entry.Name, r.Entry.Value, r.FirstSeq)
		}
		exec(t, h, `INSERT INTO audit_epoch (first_seq, last_seq) VALUES ($1, $2)`, epoch[0].FirstSeq, b.LastSeq)
		epoch = nil
	}
}

// rewrite alters record from and recomputes the chain after it, keeping
// the checkpoints or, with key, signing them again with key, and stores
// the blocks again.
func rewrite(t *testing.T, h Harness, recs []karte.AuditRecord, from int64, key ed25519.PrivateKey) {
	prev := recs[from-2].Hash
	for i := from - 1; i < int64(len(recs)); i++ {
		r := &recs[i]
		if r.Seq == from {
			r.Event = bytes.ReplaceAll(r.Event, []byte("Patient/p"), []byte("Patient/x"))
			r.Index, _ = audit.Index(r.Event)
		}
		r.Prev = prev
		r.Hash = audit.Hash(r.Prev, r.Seq, r.Time, r.Event)
		if key != nil && r.Checkpoint != nil {
			r.Checkpoint = ed25519.Sign(key, r.Hash)
		}
		prev = r.Hash
	}
	rebuild(t, h, recs[:5], recs[5:10], recs[10:])
}
