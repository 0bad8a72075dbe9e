package record

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// idEncoding is lower-case base32hex, which sorts like the bytes it encodes
// and uses only characters FHIR ids allow.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

var idCounter atomic.Uint32

// newID returns a new server-assigned resource id: 48 bits of milliseconds,
// 16 bits of counter and 56 random bits, 24 characters. Ids that grow with
// time keep inserts at the end of the primary key index.
func newID(now time.Time) string {
	var b [15]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[0:8], ms<<16|uint64(idCounter.Add(1)&0xffff))
	rand.Read(b[8:])
	return idEncoding.EncodeToString(b[:])
}
