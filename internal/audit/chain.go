package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"kartehub/internal/karte"
)

// DefaultEvery is how many records a checkpoint covers by default: record
// 1000, 2000, ... each carry a signature.
const DefaultEvery = 1000

// HashSize is the size of Prev and Hash: SHA-256.
const HashSize = sha256.Size

// Hash returns the hash of the record with the given fields:
//
//	SHA-256( prev || seq || time || event )
//
//	prev   32 bytes  the Hash of the record before; 32 zero bytes for seq 1
//	seq     8 bytes  big-endian signed 64-bit integer
//	time    8 bytes  big-endian signed 64-bit integer: nanoseconds since
//	                 1970-01-01T00:00:00Z (time.Time.UnixNano), so leap
//	                 seconds are not counted and time zones do not matter
//	event   the rest the AuditEvent JSON, byte for byte as stored
//
// Every field but the last has a fixed size, so no two different records
// hash the same bytes. prev must be HashSize bytes long; Verify checks that
// before it calls Hash.
func Hash(prev []byte, seq int64, t time.Time, event []byte) []byte {
	var fixed [16]byte
	binary.BigEndian.PutUint64(fixed[0:], uint64(seq))
	binary.BigEndian.PutUint64(fixed[8:], uint64(t.UnixNano()))
	h := sha256.New()
	h.Write(prev)
	h.Write(fixed[:])
	h.Write(event)
	return h.Sum(nil)
}

// Chain links audit records into a hash chain and signs checkpoints. It
// holds no state but the key, so one Chain serves any number of logs.
type Chain struct {
	key   ed25519.PrivateKey
	every int64
}

// NewChain returns a Chain that signs with key a checkpoint every every
// records (DefaultEvery if every <= 0).
func NewChain(key ed25519.PrivateKey, every int) *Chain {
	if every <= 0 {
		every = DefaultEvery
	}
	return &Chain{key: key, every: int64(every)}
}

// OpenChain is NewChain with the key kept in the data directory dir (see
// LoadKey).
func OpenChain(dir string, every int) (*Chain, error) {
	key, err := LoadKey(dir)
	if err != nil {
		return nil, err
	}
	return NewChain(key, every), nil
}

// OpenChainFor is OpenChain for appending to log. It refuses to make a
// new key while log already holds records: their checkpoints were signed
// with the key of another data directory (a command run with the wrong
// --data, or a key lost with its public key), and a new key's checkpoints
// would not verify with the public key that auditors hold.
func OpenChainFor(ctx context.Context, dir string, log karte.AuditLog, every int) (*Chain, error) {
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); errors.Is(err, fs.ErrNotExist) {
		last, err := log.LastAudit(ctx)
		if err != nil {
			return nil, err
		}
		if last != nil {
			return nil, fmt.Errorf("audit: %s holds no audit signing key (%s), but the audit trail already has %d records: use the data directory of the server that wrote them, or restore its key",
				dir, KeyFile, last.Seq)
		}
	}
	return OpenChain(dir, every)
}

// PublicKey returns the key that verifies the Chain's checkpoints.
func (c *Chain) PublicKey() ed25519.PublicKey { return c.key.Public().(ed25519.PublicKey) }

// Every returns how many records a regular checkpoint covers.
func (c *Chain) Every() int { return int(c.every) }

// Next returns the record that follows last (nil for the first record of
// a log) with time t and event. It carries a checkpoint if its Seq is a
// multiple of Every, or if sign is set. Its Index is left for the caller
// to set (Writer sets it with Index), since the chain does not cover it.
func (c *Chain) Next(last *karte.AuditRecord, t time.Time, event []byte, sign bool) karte.AuditRecord {
	r := karte.AuditRecord{Seq: 1, Time: t, Event: event, Prev: make([]byte, HashSize)}
	if last != nil {
		r.Seq, r.Prev = last.Seq+1, last.Hash
	}
	r.Hash = Hash(r.Prev, r.Seq, r.Time, r.Event)
	if sign || r.Seq%c.every == 0 {
		c.Sign(&r)
	}
	return r
}

// Sign sets r's checkpoint: an Ed25519 signature over r.Hash.
func (c *Chain) Sign(r *karte.AuditRecord) {
	r.Checkpoint = ed25519.Sign(c.key, r.Hash)
}
