package auditblock_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"kartehub/internal/karte"
	"kartehub/internal/store/auditblock"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 123, time.UTC)

// records returns records first to first+n-1 with some index entries,
// some shared between them, a checkpoint on every third and an empty one
// on the last (which must stay apart from none).
func records(first int64, n int) []karte.AuditRecord {
	var out []karte.AuditRecord
	for i := range n {
		seq := first + int64(i)
		r := karte.AuditRecord{
			Seq:   seq,
			Time:  t0.Add(time.Duration(seq) * time.Millisecond),
			Event: fmt.Appendf(nil, `{"resourceType":"AuditEvent","n":%d}`, seq),
			Prev:  bytes.Repeat([]byte{byte(seq - 1)}, 32),
			Hash:  bytes.Repeat([]byte{byte(seq)}, 32),
			Index: []karte.AuditIndexEntry{
				{Name: "action", Value: "R"},
				{Name: "patient", Value: fmt.Sprintf("Patient/p%d", seq%3)},
				{Name: "entity", Value: fmt.Sprintf("Observation/o%d", seq)},
			},
		}
		if seq%3 == 0 {
			r.Checkpoint = bytes.Repeat([]byte{9}, 64)
		}
		if i == n-1 {
			r.Checkpoint = []byte{}
		}
		out = append(out, r)
	}
	return out
}

func sorted(ix []karte.AuditIndexEntry) []karte.AuditIndexEntry {
	ix = slices.Clone(ix)
	slices.SortFunc(ix, func(a, b karte.AuditIndexEntry) int {
		if a.Name != b.Name {
			return cmpStr(a.Name, b.Name)
		}
		return cmpStr(a.Value, b.Value)
	})
	return slices.Compact(ix)
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func same(t *testing.T, got, want karte.AuditRecord) {
	t.Helper()
	if got.Seq != want.Seq || !got.Time.Equal(want.Time) || !bytes.Equal(got.Event, want.Event) ||
		!bytes.Equal(got.Prev, want.Prev) || !bytes.Equal(got.Hash, want.Hash) ||
		!bytes.Equal(got.Checkpoint, want.Checkpoint) || (got.Checkpoint == nil) != (want.Checkpoint == nil) {
		t.Fatalf("record %d came back as\n%+v\nwant\n%+v", want.Seq, got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	recs := records(41, 7)
	recs[2].Index = append(recs[2].Index, recs[2].Index[0]) // given twice: kept once
	recs[4].Index = nil                                     // stored without entries
	b := auditblock.Encode(recs)
	if b.FirstSeq != 41 || b.LastSeq != 47 || b.MinTime != recs[0].Time.UnixNano() || b.MaxTime != recs[6].Time.UnixNano() {
		t.Fatalf("columns %d-%d, %d-%d", b.FirstSeq, b.LastSeq, b.MinTime, b.MaxTime)
	}
	got, err := b.Records()
	if err != nil || len(got) != len(recs) {
		t.Fatalf("Records: %d, %v", len(got), err)
	}
	for i := range recs {
		same(t, got[i], recs[i])
	}
	// After the last epoch, a record is found by its own entries.
	auditblock.Page([]auditblock.Block{b}, [][]karte.AuditRecord{got}, auditblock.Indexed{}, true, 0, 100)
	for i := range recs {
		if want := sorted(recs[i].Index); !slices.Equal(got[i].Index, want) || (got[i].Index == nil) != (recs[i].Index == nil) {
			t.Fatalf("record %d: index %v, want %v", recs[i].Seq, got[i].Index, want)
		}
	}
	// In an indexed epoch, by those of them that its block's rows hold.
	rows := auditblock.EpochRows(41, []auditblock.Block{b})
	if !slices.IsSortedFunc(rows, func(a, b auditblock.IndexRow) int {
		return cmpStr(a.Entry.Name+"\x00"+a.Entry.Value, b.Entry.Name+"\x00"+b.Entry.Value)
	}) {
		t.Fatalf("EpochRows not in key order: %v", rows)
	}
	rows = slices.DeleteFunc(rows, func(r auditblock.IndexRow) bool { return r.Entry.Value == "Patient/p1" })
	rows = append(rows, auditblock.IndexRow{Epoch: 41, FirstSeq: 41, Entry: karte.AuditIndexEntry{Name: "agent", Value: "planted"}})
	auditblock.SortRows(rows)
	got, _ = b.Records()
	page := auditblock.Page([]auditblock.Block{b}, [][]karte.AuditRecord{got}, auditblock.Indexed{Epochs: []auditblock.Epoch{{FirstSeq: 41, LastSeq: 47}}, Through: 47, Rows: rows}, true, 42, 3)
	if len(page) != 3 || page[0].Seq != 43 {
		t.Fatalf("page after 42 of 3: %d records from %d", len(page), page[0].Seq)
	}
	for i, r := range got {
		want := slices.DeleteFunc(sorted(recs[i].Index), func(e karte.AuditIndexEntry) bool { return e.Value == "Patient/p1" })
		if r.Seq == 47 {
			want = sorted(append(want, karte.AuditIndexEntry{Name: "agent", Value: "planted"}))
		}
		if recs[i].Index == nil {
			want = nil
		}
		if !slices.Equal(r.Index, want) || (r.Index == nil) != (want == nil) {
			t.Fatalf("record %d: index %v, want %v", r.Seq, r.Index, want)
		}
	}
}

// plainBlock is the block of recs with its records uncompressed (format 1),
// as blocks written before compression are stored.
func plainBlock(t *testing.T, recs []karte.AuditRecord) auditblock.Block {
	t.Helper()
	b := auditblock.Encode(recs)
	plain, err := b.Plain()
	if err != nil {
		t.Fatal(err)
	}
	b.Data = plain
	return b
}

// TestCompressedDamage: stored bytes that cannot be decompressed name the
// block's first record, and no alteration makes Records panic.
func TestCompressedDamage(t *testing.T) {
	b := auditblock.Encode(records(1, 4))
	if len(b.Data) >= len(plainBlock(t, records(1, 4)).Data) {
		t.Fatalf("compressed data of %d bytes, no smaller than the records", len(b.Data))
	}
	eachCut(b, func(n int, got []karte.AuditRecord, err error) {
		var d *karte.AuditDamageError
		if !errors.As(err, &d) || d.Seq != 1 || len(got) != 0 {
			t.Fatalf("data cut to %d bytes: %d records, %v", n, len(got), err)
		}
	})
	for i := range b.Data {
		c := flipped(b, i)
		c.Records()
	}
}

// flipped is b with the top bit of its i-th byte of data flipped.
func flipped(b auditblock.Block, i int) auditblock.Block {
	b.Data = slices.Clone(b.Data)
	b.Data[i] ^= 0x80
	return b
}

// eachCut reads b with its data cut to every length short of the whole.
func eachCut(b auditblock.Block, check func(n int, got []karte.AuditRecord, err error)) {
	for n := range len(b.Data) {
		c := b
		c.Data = b.Data[:n]
		got, err := c.Records()
		check(n, got, err)
	}
}

// TestDamage: however a block's bytes or columns are cut or altered, Records
// returns what it can read and names the first record it cannot, without
// panicking; and decoding the index never panics.
func TestDamage(t *testing.T) {
	recs := records(1, 4)
	b := plainBlock(t, recs)
	boundary := map[int]int{} // data cut after k records
	for k := 1; k < len(recs); k++ {
		boundary[len(plainBlock(t, recs[:k]).Data)] = k
	}
	eachCut(b, func(n int, got []karte.AuditRecord, err error) {
		var d *karte.AuditDamageError
		switch k, ok := boundary[n]; {
		case ok && (err != nil || len(got) != k):
			// Whole records cut off the end of a block are missing, as
			// a deleted block's are: Verify finds the gap.
			t.Fatalf("data cut after %d records: %d records, %v", k, len(got), err)
		case !ok && (!errors.As(err, &d) || d.Seq != int64(len(got))+1):
			t.Fatalf("data cut to %d bytes: %d records, %v", n, len(got), err)
		}
	})
	for i := range b.Data {
		c := flipped(b, i)
		c.Records()
		c.Index = slices.Clone(b.Index)
		c.Index[i%len(c.Index)] ^= 0x80
		c.Entries()
		q := auditblock.NewQuery(karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "action", Values: []string{"R"}}}})
		q.Search(&c, nil, 10)
		q.Count(&c)
	}
	for n := range len(b.Index) {
		c := b
		c.Index = b.Index[:n]
		if _, err := c.Entries(); err == nil && n < 2 {
			t.Fatalf("index cut to %d bytes read", n)
		}
		got, _ := b.Records()
		auditblock.Page([]auditblock.Block{c}, [][]karte.AuditRecord{got}, auditblock.Indexed{}, true, 0, 10)
	}
	for _, tc := range []struct {
		name   string
		change func(*auditblock.Block)
		seq    int64
	}{
		{"Format", func(b *auditblock.Block) { b.Data[0] = 2 }, 1},
		{"Empty", func(b *auditblock.Block) { b.Data = b.Data[:1] }, 1},
		{"FirstSeqLater", func(b *auditblock.Block) { b.FirstSeq = 2 }, 1},
		{"LastSeqEarlier", func(b *auditblock.Block) { b.LastSeq = 3 }, 4},
		{"LastSeqBeforeFirst", func(b *auditblock.Block) { b.LastSeq = 0 }, 1},
		{"MinTimeLater", func(b *auditblock.Block) { b.MinTime++ }, 1},
		{"MaxTimeEarlier", func(b *auditblock.Block) { b.MaxTime-- }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := b
			c.Data = slices.Clone(b.Data)
			tc.change(&c)
			_, err := c.Records()
			var d *karte.AuditDamageError
			if !errors.As(err, &d) || d.Seq != tc.seq {
				t.Fatalf("Records: %v, want damage at record %d", err, tc.seq)
			}
		})
	}
	// A record missing from its block is a gap, no damage.
	c := auditblock.Encode(slices.Concat(recs[:1], recs[2:]))
	c.FirstSeq, c.LastSeq = b.FirstSeq, b.LastSeq
	if got, err := c.Records(); err != nil || len(got) != 3 || got[1].Seq != 3 {
		t.Fatalf("Records of a block without record 2: %d, %v", len(got), err)
	}
}

// TestQuery: Search and Count pick the records of a block that a query
// selects, by number, time and filters, in either order.
func TestQuery(t *testing.T) {
	recs := records(11, 10) // 11..20
	b := auditblock.Encode(recs)
	at := func(seq int64) time.Time { return t0.Add(time.Duration(seq) * time.Millisecond) }
	for _, tc := range []struct {
		name string
		q    karte.AuditQuery
		want []int64
	}{
		{"All", karte.AuditQuery{}, []int64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}},
		{"AfterBefore", karte.AuditQuery{After: 12, Before: 15}, []int64{13, 14}},
		{"SinceUntil", karte.AuditQuery{Since: at(14), Until: at(16)}, []int64{14, 15}},
		{"Patient", karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "patient", Values: []string{"Patient/p0"}}}}, []int64{12, 15, 18}},
		{"PatientOr", karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "patient", Values: []string{"Patient/p0", "Patient/p1"}}}}, []int64{12, 13, 15, 16, 18, 19}},
		{"ManyValues", karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "entity", Values: []string{"a", "b", "c", "d", "e", "f", "g", "h", "Observation/o17"}}}}, []int64{17}},
		{"And", karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "patient", Values: []string{"Patient/p2"}}, {Name: "entity", Values: []string{"Observation/o14", "Observation/o20"}}}}, []int64{14, 20}},
		{"NameMatters", karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "agent", Values: []string{"R"}}}}, nil},
		{"Nothing", karte.AuditQuery{After: 20}, nil},
		{"FarFuture", karte.AuditQuery{Since: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, nil},
	} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/desc=%v", tc.name, desc), func(t *testing.T) {
				q := tc.q
				q.Descending = desc
				p := auditblock.NewQuery(q)
				want := slices.Clone(tc.want)
				if desc {
					slices.Reverse(want)
				}
				got, err := p.Search(&b, nil, 100)
				if err != nil || !slices.Equal(seqs(got), want) {
					t.Fatalf("Search: %v, %v; want %v", seqs(got), err, want)
				}
				if len(want) > 1 {
					got, _ = p.Search(&b, got[:1:1], 2)
					if len(got) != 2 || got[1].Seq != want[0] {
						t.Fatalf("Search after one record, limit 2: %v", seqs(got))
					}
				}
				// Count reads the block's data only if its period is cut.
				c := b
				if !p.NeedsData(b.MinTime, b.MaxTime) {
					c.Data = nil
				}
				if n, err := p.Count(&c); err != nil || n != int64(len(want)) {
					t.Fatalf("Count: %d, %v; want %d", n, err, len(want))
				}
			})
		}
	}
}

func seqs(recs []karte.AuditRecord) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

// FuzzRecords: no bytes make reading a block panic.
func FuzzRecords(f *testing.F) {
	b := auditblock.Encode(records(1, 3))
	f.Add(b.Data, b.Index, int64(1), int64(3))
	if plain, err := b.Plain(); err == nil {
		f.Add(plain, b.Index, int64(1), int64(3))
	}
	f.Add([]byte{1}, []byte{1, 0, 0}, int64(1), int64(1))
	f.Add(b.Data, b.Index, int64(math.MinInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, data, idx []byte, first, last int64) {
		b := auditblock.Block{FirstSeq: first, LastSeq: last, MinTime: t0.UnixNano(), MaxTime: t0.Add(time.Hour).UnixNano(), Data: data, Index: idx}
		recs, _ := b.Records()
		entries, err := b.Entries()
		if n, errCount := b.EntryCount(); err == nil && (errCount != nil || n != len(entries)) {
			t.Fatalf("EntryCount = %d, %v; Entries has %d", n, errCount, len(entries))
		}
		auditblock.Page([]auditblock.Block{b}, [][]karte.AuditRecord{recs}, auditblock.Indexed{Through: last}, true, 0, 10)
		q := auditblock.NewQuery(karte.AuditQuery{Filters: []karte.AuditFilter{{Name: "action", Values: []string{"R"}}}})
		q.Search(&b, nil, 10)
		q.Count(&b)
	})
}
