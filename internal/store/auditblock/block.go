package auditblock

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"

	"kartehub/internal/karte"
)

// formatVersion is the first byte of the Index of every block, and of the
// Data of blocks written before their records were compressed. A reader
// refuses a block of a format it does not know.
const formatVersion = 1

// formatCompressed is the first byte of the Data of every block written
// now: the records of format 1, compressed with Snappy (block format).
// Events of one append name the same agents, systems and codes again and
// again, so they shrink about ninefold, for a few microseconds a block:
// fewer pages for every commit to write, and a trail that is kept for
// years takes a ninth of the disk.
const formatCompressed = 2

// noCheckpoint is the length that stands for a record without a
// checkpoint (NULL), as against one with an empty checkpoint.
const noCheckpoint = math.MaxUint32

// Block is one row of audit_block: the records of one append.
type Block struct {
	// FirstSeq and LastSeq are the Seq of the block's first and last
	// record; FirstSeq is the table's key.
	FirstSeq, LastSeq int64
	// MinTime and MaxTime are the earliest and the latest Time of its
	// records, in Unix nanoseconds: searches by date skip blocks by them.
	MinTime, MaxTime int64
	// Index (column idx) says which index entries each record has.
	Index []byte
	// Data (column data) holds the records.
	Data []byte
}

// Encode returns the block that stores recs, which must be numbered
// consecutively (the engines check that first). Entries of a record given
// twice are kept once.
func Encode(recs []karte.AuditRecord) Block {
	b := Block{FirstSeq: recs[0].Seq, LastSeq: recs[len(recs)-1].Seq, MinTime: math.MaxInt64, MaxTime: math.MinInt64}
	size := 1
	for i := range recs {
		r := &recs[i]
		size += 16 + 16 + len(r.Prev) + len(r.Hash) + len(r.Checkpoint) + len(r.Event)
	}
	data := make([]byte, 1, size)
	data[0] = formatVersion
	for i := range recs {
		r := &recs[i]
		t := r.Time.UnixNano()
		b.MinTime, b.MaxTime = min(b.MinTime, t), max(b.MaxTime, t)
		data = binary.BigEndian.AppendUint64(data, uint64(r.Seq))
		data = binary.BigEndian.AppendUint64(data, uint64(t))
		data = appendBytes(data, r.Prev)
		data = appendBytes(data, r.Hash)
		if r.Checkpoint == nil {
			data = binary.BigEndian.AppendUint32(data, noCheckpoint)
		} else {
			data = appendBytes(data, r.Checkpoint)
		}
		data = appendBytes(data, r.Event)
	}
	b.Data = Compress(data)
	b.Index = encodeIndex(recs)
	return b
}

// Compress returns data of format 1, which begins with its format byte,
// compressed, as Encode stores it.
func Compress(data []byte) []byte {
	out := make([]byte, 1+snappy.MaxEncodedLen(len(data)-1))
	out[0] = formatCompressed
	return out[:1+len(snappy.Encode(out[1:], data[1:]))]
}

// Plain returns the Data of b in format 1: its records uncompressed. It
// fails with a *karte.AuditDamageError naming the block's first record if
// Data is of no known format or cannot be decompressed.
func (b *Block) Plain() ([]byte, error) {
	d := b.Data
	switch {
	case len(d) > 0 && d[0] == formatVersion:
		return d, nil
	case len(d) > 0 && d[0] == formatCompressed:
		n, err := snappy.DecodedLen(d[1:])
		if err != nil || n > maxPlain {
			return nil, damage(b.FirstSeq, "block %d cannot be decompressed", b.FirstSeq)
		}
		out := make([]byte, 1+n)
		out[0] = formatVersion
		if _, err := snappy.Decode(out[1:], d[1:]); err != nil {
			return nil, damage(b.FirstSeq, "block %d cannot be decompressed: %v", b.FirstSeq, err)
		}
		return out, nil
	}
	return nil, damage(b.FirstSeq, "block %d is empty or of an unknown format", b.FirstSeq)
}

// maxPlain bounds the size of a block's records once decompressed, so
// that an altered length cannot make a reader allocate without bound.
const maxPlain = 1 << 30

func appendBytes(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// sortedEntries returns the entries of a record sorted and without
// duplicates, reusing the record's slice if it already is.
func sortedEntries(ix []karte.AuditIndexEntry) []karte.AuditIndexEntry {
	for i := 1; i < len(ix); i++ {
		if compareEntries(ix[i-1], ix[i]) >= 0 {
			ix = slices.Clone(ix)
			slices.SortFunc(ix, compareEntries)
			return slices.Compact(ix)
		}
	}
	return ix
}

func compareEntries(a, b karte.AuditIndexEntry) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
}

// encodeIndex returns the Index of a block of recs:
//
//	format   1 byte
//	entries  uvarint n, then n times: uvarint length, name, uvarint length,
//	         value (distinct, in the order the records first have them)
//	records  uvarint m (the block's records), then for each in order:
//	         uvarint k, then k uvarints: the numbers of its entries (0 for
//	         the first above), in the order of the record's sorted entries
func encodeIndex(recs []karte.AuditRecord) []byte {
	own := make([][]karte.AuditIndexEntry, len(recs))
	n := 0
	for i := range recs {
		own[i] = sortedEntries(recs[i].Index)
		n += len(own[i])
	}
	// Most entries (type, action, the client, ...) are shared by the
	// records of a block: the map keeps each once.
	number := make(map[karte.AuditIndexEntry]int, min(n, 64))
	var dict []karte.AuditIndexEntry
	refs := make([]int, 0, n)
	for _, ix := range own {
		for _, e := range ix {
			k, ok := number[e]
			if !ok {
				k = len(dict)
				number[e] = k
				dict = append(dict, e)
			}
			refs = append(refs, k)
		}
	}
	size := 1 + 2*binary.MaxVarintLen32
	for _, e := range dict {
		size += 4 + len(e.Name) + len(e.Value)
	}
	idx := make([]byte, 1, size+len(recs)+2*n)
	idx[0] = formatVersion
	idx = binary.AppendUvarint(idx, uint64(len(dict)))
	for _, e := range dict {
		idx = binary.AppendUvarint(idx, uint64(len(e.Name)))
		idx = append(idx, e.Name...)
		idx = binary.AppendUvarint(idx, uint64(len(e.Value)))
		idx = append(idx, e.Value...)
	}
	idx = binary.AppendUvarint(idx, uint64(len(recs)))
	for _, ix := range own {
		idx = binary.AppendUvarint(idx, uint64(len(ix)))
		for _, k := range refs[:len(ix)] {
			idx = binary.AppendUvarint(idx, uint64(k))
		}
		refs = refs[len(ix):]
	}
	return idx
}

// damage returns the error of a block that cannot be read from record seq.
func damage(seq int64, format string, args ...any) *karte.AuditDamageError {
	return &karte.AuditDamageError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
}

// Records returns the records of b, in order, with Index nil; their byte
// fields share b.Data, or its decompressed copy. If b cannot be read from
// some record on (bytes altered or cut, a record out of order or out of
// the block's columns), it returns the records before that one and a
// *karte.AuditDamageError that names it. Records missing from a block are no damage: the gap in
// the numbers shows them, as it shows a missing block.
func (b *Block) Records() ([]karte.AuditRecord, error) {
	d, err := b.Plain()
	if err != nil {
		return nil, err
	}
	if b.LastSeq < b.FirstSeq {
		return nil, damage(b.FirstSeq, "block %d claims records %d to %d", b.FirstSeq, b.FirstSeq, b.LastSeq)
	}
	recs := make([]karte.AuditRecord, 0, len(d)/1024+1) // events are about 1 KiB
	prev := b.FirstSeq - 1
	for off := 1; off < len(d); {
		r, next, ok := readRecord(d, off)
		switch {
		case !ok:
			return recs, damage(prev+1, "block %d is cut or garbled at byte %d", b.FirstSeq, off)
		case r.Seq <= prev:
			seq := prev + 1
			if r.Seq >= 1 {
				seq = r.Seq
			}
			return recs, damage(seq, "block %d holds record %d after record %d, or where record %d belongs", b.FirstSeq, r.Seq, prev, prev+1)
		case r.Seq > b.LastSeq:
			return recs, damage(prev+1, "block %d holds record %d, beyond its last, %d", b.FirstSeq, r.Seq, b.LastSeq)
		}
		if t := r.Time.UnixNano(); t < b.MinTime || t > b.MaxTime {
			return recs, damage(r.Seq, "its time %d lies outside the period of its block %d (%d to %d), so searches by date would miss it",
				t, b.FirstSeq, b.MinTime, b.MaxTime)
		}
		recs = append(recs, r)
		prev = r.Seq
		off = next
	}
	if len(recs) == 0 {
		return nil, damage(b.FirstSeq, "block %d holds no records", b.FirstSeq)
	}
	return recs, nil
}

// readRecord reads the record at d[off:] and returns it with the offset
// of the next one; ok is false if d is too short for it.
func readRecord(d []byte, off int) (r karte.AuditRecord, next int, ok bool) {
	if len(d)-off < 16 {
		return r, 0, false
	}
	r.Seq = int64(binary.BigEndian.Uint64(d[off:]))
	r.Time = timeOf(int64(binary.BigEndian.Uint64(d[off+8:])))
	off += 16
	for i, dst := range []*[]byte{&r.Prev, &r.Hash, &r.Checkpoint, &r.Event} {
		if len(d)-off < 4 {
			return r, 0, false
		}
		l := binary.BigEndian.Uint32(d[off:])
		off += 4
		if i == 2 && l == noCheckpoint {
			continue
		}
		if uint64(len(d)-off) < uint64(l) {
			return r, 0, false
		}
		*dst = d[off : off+int(l) : off+int(l)]
		off += int(l)
	}
	return r, off, true
}

// index is a decoded Index: the entries, and which of them each record
// has. The names and values share the block's bytes.
type index struct {
	names, values [][]byte
	// refs[starts[i]:starts[i+1]] are the entries of record i.
	refs   []uint32
	starts []int
}

// decodeIndex reads b.Index for a block of n records.
func (b *Block) decodeIndex(n int) (*index, error) {
	ix, off, err := b.decodeDict()
	if err != nil {
		return nil, err
	}
	d := b.Index
	bad := func(what string) error {
		return fmt.Errorf("the index of block %d is garbled (%s)", b.FirstSeq, what)
	}
	nr, k := binary.Uvarint(d[off:])
	if k <= 0 || n < 0 || n > len(d) || nr != uint64(n) {
		return nil, bad("record count")
	}
	off += k
	ix.starts = make([]int, 1, n+1)
	for range n {
		c, k := binary.Uvarint(d[off:])
		if k <= 0 || c > uint64(len(d)-off) {
			return nil, bad("record")
		}
		off += k
		for range c {
			ref, k := binary.Uvarint(d[off:])
			if k <= 0 || ref >= uint64(len(ix.names)) {
				return nil, bad("entry number")
			}
			off += k
			ix.refs = append(ix.refs, uint32(ref))
		}
		ix.starts = append(ix.starts, len(ix.refs))
	}
	if off != len(d) {
		return nil, bad("trailing bytes")
	}
	return ix, nil
}

// decodeDict reads the entries of b.Index and returns them with the
// offset of the records' part.
func (b *Block) decodeDict() (*index, int, error) {
	d := b.Index
	bad := func(what string) error {
		return fmt.Errorf("the index of block %d is garbled (%s)", b.FirstSeq, what)
	}
	if len(d) == 0 || d[0] != formatVersion {
		return nil, 0, bad("format")
	}
	off := 1
	field := func() ([]byte, bool) {
		l, k := binary.Uvarint(d[off:])
		if k <= 0 || uint64(len(d)-off-k) < l {
			return nil, false
		}
		off += k
		s := d[off : off+int(l) : off+int(l)]
		off += int(l)
		return s, true
	}
	ne, k := binary.Uvarint(d[off:])
	if k <= 0 || ne > uint64(len(d)) {
		return nil, 0, bad("entries")
	}
	off += k
	ix := &index{names: make([][]byte, ne), values: make([][]byte, ne)}
	for i := range ix.names {
		name, ok1 := field()
		value, ok2 := field()
		if !ok1 || !ok2 {
			return nil, 0, bad("entry")
		}
		ix.names[i], ix.values[i] = name, value
	}
	return ix, off, nil
}

// Entries returns the distinct index entries of b's records: the rows of
// audit_block_index that its epoch gives it.
func (b *Block) Entries() ([]karte.AuditIndexEntry, error) {
	ix, _, err := b.decodeDict()
	if err != nil {
		return nil, err
	}
	out := make([]karte.AuditIndexEntry, len(ix.names))
	for i := range out {
		out[i] = karte.AuditIndexEntry{Name: string(ix.names[i]), Value: string(ix.values[i])}
	}
	return out, nil
}

// EntryCount returns how many distinct entries the block's records have:
// how many rows of audit_block_index the block makes. It reads no more of
// idx than the count.
func (b *Block) EntryCount() (int, error) {
	d := b.Index
	if len(d) == 0 || d[0] != formatVersion {
		return 0, fmt.Errorf("the index of block %d is garbled (format)", b.FirstSeq)
	}
	n, k := binary.Uvarint(d[1:])
	if k <= 0 || n > uint64(len(d)) {
		return 0, fmt.Errorf("the index of block %d is garbled (entries)", b.FirstSeq)
	}
	return int(n), nil
}

// entries returns the entries of record i.
func (ix *index) entries(i int) []uint32 { return ix.refs[ix.starts[i]:ix.starts[i+1]] }

// setIndex sets the Index of recs, all the records of b in order, to the
// entries each is found by. For a block of an indexed epoch (found is
// not nil), those are the entries the block's idx gives a record that
// are also among found, the block's rows of audit_block_index (a search
// finds a block by its rows, then its records by idx); rows that no
// record of the block has, and stray rows (of another epoch, or of a
// first_seq that is no block's), are added to the last record's entries:
// someone put them there, and Verify reports them there, after any record
// that lost entries. For a block after the last indexed epoch, searched
// by its idx alone, they are the entries idx gives. A record stored
// without entries (as those of kartehub before schema version 6), and
// every record of a block whose idx cannot be read, gets a nil Index, and
// a record whose entries are all lost an empty one.
func (b *Block) setIndex(recs []karte.AuditRecord, indexed bool, found, stray []karte.AuditIndexEntry) {
	ix, err := b.decodeIndex(len(recs))
	if err != nil {
		ix = &index{starts: make([]int, len(recs)+1)}
	}
	dict := make([]karte.AuditIndexEntry, len(ix.names))
	for k := range dict {
		dict[k] = karte.AuditIndexEntry{Name: string(ix.names[k]), Value: string(ix.values[k])}
	}
	if !indexed {
		for i := range recs {
			var out []karte.AuditIndexEntry
			for _, ref := range ix.entries(i) {
				out = append(out, dict[ref])
			}
			recs[i].Index = sortedEntries(out)
		}
		return
	}
	found = sortedEntries(found)
	used := make([]bool, len(found))
	// pos[k] is where entry k of idx is among found, or -1.
	pos := make([]int, len(ix.names))
	for k := range pos {
		if i, ok := slices.BinarySearchFunc(found, dict[k], compareEntries); ok {
			pos[k] = i
		} else {
			pos[k] = -1
		}
	}
	for i := range recs {
		refs := ix.entries(i)
		if len(refs) == 0 {
			recs[i].Index = nil // stored without entries
			continue
		}
		out := make([]karte.AuditIndexEntry, 0, len(refs))
		for _, ref := range refs {
			if p := pos[ref]; p >= 0 {
				used[p] = true
				out = append(out, found[p])
			}
		}
		recs[i].Index = sortedEntries(out)
	}
	for p, u := range used {
		if !u {
			stray = append(stray, found[p])
		}
	}
	if last := len(recs) - 1; len(stray) > 0 && last >= 0 {
		ix := append(recs[last].Index, stray...)
		slices.SortFunc(ix, compareEntries)
		recs[last].Index = slices.Compact(ix)
	}
}

// timeOf is the time of a record stored as Unix nanoseconds.
func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }
