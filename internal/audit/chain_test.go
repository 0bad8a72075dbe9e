package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
)

// TestHashEncoding pins the encoding that external verifiers rely on.
func TestHashEncoding(t *testing.T) {
	prev := bytes.Repeat([]byte{0xab}, 32)
	at := time.Date(2026, 4, 1, 9, 0, 0, 5, time.FixedZone("JST", 9*3600))
	event := []byte(`{"resourceType":"AuditEvent"}`)

	var msg []byte
	msg = append(msg, prev...)
	msg = append(msg, 0, 0, 0, 0, 0, 0, 0x01, 0x02)                   // seq 258
	msg = append(msg, 0x18, 0xa2, 0x12, 0x8d, 0x03, 0xc0, 0x00, 0x05) // 2026-04-01T00:00:00.000000005Z in ns
	msg = append(msg, event...)
	want := sha256.Sum256(msg)
	got := audit.Hash(prev, 258, at, event)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("Hash = %x, want %x", got, want)
	}
	if at.UnixNano() != 0x18a2128d03c00005 {
		t.Fatalf("the test's time is %#x ns, fix the test", at.UnixNano())
	}
	// Computed apart from Go, with Python's hashlib over the same bytes.
	const pinned = "570d4826c5feb65b6542e3df700386787467e1c6e592dffb30d375f78fcd8095"
	if hex.EncodeToString(got) != pinned {
		t.Fatalf("Hash = %x, want %s", got, pinned)
	}
	// The same instant in another zone hashes the same.
	if !bytes.Equal(audit.Hash(prev, 258, at.UTC(), event), got) {
		t.Fatal("the time zone changed the hash")
	}
}

func TestChainCheckpoints(t *testing.T) {
	c := audit.NewChain(audittest.Key, 3)
	if c.Every() != 3 || !c.PublicKey().Equal(audittest.Key.Public()) {
		t.Fatalf("Every %d, PublicKey %x", c.Every(), c.PublicKey())
	}
	first := c.Next(nil, time.Unix(1, 0), []byte("a"), false)
	if first.Seq != 1 || !bytes.Equal(first.Prev, make([]byte, 32)) || first.Checkpoint != nil {
		t.Fatalf("first record %+v", first)
	}
	last := &first
	for seq := int64(2); seq <= 7; seq++ {
		r := c.Next(last, time.Unix(seq, 0), []byte("b"), seq == 5)
		if r.Seq != seq || !bytes.Equal(r.Prev, last.Hash) || !bytes.Equal(r.Hash, audit.Hash(r.Prev, r.Seq, r.Time, r.Event)) {
			t.Fatalf("record %d: %+v", seq, r)
		}
		if signed := seq%3 == 0 || seq == 5; (r.Checkpoint != nil) != signed {
			t.Fatalf("record %d: checkpoint %x, want one: %v", seq, r.Checkpoint, signed)
		}
		if r.Checkpoint != nil && !ed25519.Verify(c.PublicKey(), r.Hash, r.Checkpoint) {
			t.Fatalf("record %d: signature does not verify", seq)
		}
		last = &r
	}
	if audit.NewChain(audittest.Key, 0).Every() != audit.DefaultEvery {
		t.Fatal("Every 0 is not DefaultEvery")
	}
}
