package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
)

func TestMemLog(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Harness { return audittest.Harness{Log: &audittest.MemLog{}} })
}

func TestVerifyEmpty(t *testing.T) {
	rep, err := audit.Verify(t.Context(), &audittest.MemLog{}, audittest.Key.Public().(ed25519.PublicKey))
	if err != nil || rep.Records != 0 || rep.LastSeq != 0 {
		t.Fatalf("Verify of an empty log: %+v, %v", rep, err)
	}
}

func TestVerifyBadKey(t *testing.T) {
	_, err := audit.Verify(t.Context(), &audittest.MemLog{}, ed25519.PublicKey("short"))
	var be *audit.BrokenError
	if err == nil || errors.As(err, &be) {
		t.Fatalf("Verify with a 5-byte key: %v, want an error that is no BrokenError", err)
	}
}

// TestVerifyTampered covers tampering that SQL cannot do to a log with a
// primary key and NOT NULL columns.
func TestVerifyTampered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  func([]karte.AuditRecord) []karte.AuditRecord
		seq     int64
		problem audit.Problem
		reason  string
	}{
		{"ShortHash", func(r []karte.AuditRecord) []karte.AuditRecord { r[2].Hash = r[2].Hash[:16]; return r },
			3, audit.Malformed, "hashes have 32 and 16 bytes"},
		{"Duplicate", func(r []karte.AuditRecord) []karte.AuditRecord { return append(r[:4:4], r[3:]...) },
			4, audit.Malformed, "record 4 comes after record 4"},
		{"TwoInserted", func(r []karte.AuditRecord) []karte.AuditRecord {
			// Records 6 and 7 forged with correct links and hashes, the
			// real ones renumbered after them.
			c := audit.NewChain(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), 1000)
			f6 := c.Next(&r[4], r[4].Time, []byte(`{"forged":6}`), false)
			f7 := c.Next(&f6, r[4].Time, []byte(`{"forged":7}`), false)
			out := append(r[:5:5], f6, f7)
			for _, rec := range r[5:] {
				rec.Seq += 2
				out = append(out, rec)
			}
			return out
		}, 6, audit.Inserted, "records 6 to 7 were inserted: record 8 links to record 5"},
		{"FirstPrevAltered", func(r []karte.AuditRecord) []karte.AuditRecord { r[0].Prev = r[1].Hash; return r },
			1, audit.Altered, "record 1 does not start the chain"},
		{"HashAltered", func(r []karte.AuditRecord) []karte.AuditRecord { r[8].Hash = r[9].Hash; return r },
			9, audit.Altered, "content altered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &audittest.MemLog{}
			audittest.Build(t, log, 12)
			log.Tamper(tc.tamper)
			_, err := audittest.VerifyBuilt(t.Context(), log)
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Seq != tc.seq || be.Problem != tc.problem || !strings.Contains(be.Reason, tc.reason) {
				t.Fatalf("Verify: %v; want record %d, %v, %q", err, tc.seq, tc.problem, tc.reason)
			}
		})
	}
}

func TestVerifyWrongKey(t *testing.T) {
	log := &audittest.MemLog{}
	audittest.Build(t, log, 12)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32)).Public().(ed25519.PublicKey)
	_, err := (&audit.Verifier{Key: other, Every: audittest.Every}).Verify(t.Context(), log)
	var be *audit.BrokenError
	if !errors.As(err, &be) || be.Seq != 4 || be.Problem != audit.BadSignature {
		t.Fatalf("Verify with another key: %v, want a bad signature at record 4", err)
	}
	// Without required checkpoints, a log with none verifies.
	rep, err := (&audit.Verifier{Key: other, Every: -1}).Verify(t.Context(), &audittest.MemLog{})
	if err != nil || rep.Records != 0 {
		t.Fatal(err)
	}
}
