package auditblock

import (
	"math"
	"time"

	"kartehub/internal/karte"
)

// Query is a karte.AuditQuery made ready to select records of blocks. The
// engines select the blocks that may hold matches, by their columns and
// their rows of audit_block_index, and Query picks the records.
type Query struct {
	// SeqLo and SeqHi bound Seq, TimeLo and TimeHi bound Time (in Unix
	// nanoseconds), all inclusive; open bounds are the extreme int64
	// values. A block may hold matches only if its records lie partly
	// in both ranges (see Overlaps).
	SeqLo, SeqHi   int64
	TimeLo, TimeHi int64
	// Empty is set if the bounds leave no room for any record.
	Empty bool

	filters    []filter
	descending bool
}

// filter is a karte.AuditFilter with its values ready to look up.
type filter struct {
	name   string
	values []string
	set    map[string]bool // for many values
}

func (f *filter) has(v []byte) bool {
	if f.set != nil {
		return f.set[string(v)]
	}
	for _, w := range f.values {
		if w == string(v) {
			return true
		}
	}
	return false
}

var minTime, maxTime = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// ForSearch checks q as a search (valid, with a limit) and prepares it.
func ForSearch(q karte.AuditQuery) (*Query, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, karte.Errorf(karte.Invalid, "audit query: limit %d", q.Limit)
	}
	return NewQuery(q), nil
}

// ForCount checks q as a count (valid) and prepares it.
func ForCount(q karte.AuditQuery) (*Query, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return NewQuery(q), nil
}

// NewQuery prepares q, which must be valid (karte.AuditQuery.Validate).
// Times beyond what int64 nanoseconds hold (years 1678 to 2262) are no
// bound, or leave nothing to find.
func NewQuery(q karte.AuditQuery) *Query {
	p := &Query{SeqLo: math.MinInt64, SeqHi: math.MaxInt64, TimeLo: math.MinInt64, TimeHi: math.MaxInt64, descending: q.Descending}
	if q.After > 0 {
		if q.After == math.MaxInt64 {
			p.Empty = true
		} else {
			p.SeqLo = q.After + 1
		}
	}
	if q.Before > 0 {
		p.SeqHi = q.Before - 1
	}
	switch {
	case !q.Since.IsZero() && q.Since.After(maxTime), !q.Until.IsZero() && !q.Until.After(minTime):
		p.Empty = true
	}
	if !q.Since.IsZero() && q.Since.After(minTime) {
		p.TimeLo = q.Since.UnixNano()
	}
	if !q.Until.IsZero() && !q.Until.After(maxTime) {
		p.TimeHi = q.Until.UnixNano() - 1
	}
	p.Empty = p.Empty || p.SeqLo > p.SeqHi || p.TimeLo > p.TimeHi
	for _, f := range q.Filters {
		pf := filter{name: f.Name, values: f.Values}
		if len(f.Values) > 8 {
			pf.set = make(map[string]bool, len(f.Values))
			for _, v := range f.Values {
				pf.set[v] = true
			}
		}
		p.filters = append(p.filters, pf)
	}
	return p
}

// Overlaps reports whether a block with these columns may hold records
// in the query's ranges of Seq and Time.
func (q *Query) Overlaps(b *Block) bool {
	return !q.Empty && b.LastSeq >= q.SeqLo && b.FirstSeq <= q.SeqHi && b.MaxTime >= q.TimeLo && b.MinTime <= q.TimeHi
}

// NeedsData reports whether Count needs the Data of a block whose records'
// times run from minTime to maxTime: whether they lie partly outside the
// query's range of Time. Engines fetch Data for Count only then.
func (q *Query) NeedsData(minTime, maxTime int64) bool {
	return minTime < q.TimeLo || maxTime > q.TimeHi
}

// Search appends to out the records of b that match, in Seq order
// (descending if the query is), until out holds limit records. The
// records come with Index nil.
func (q *Query) Search(b *Block, out []karte.AuditRecord, limit int) ([]karte.AuditRecord, error) {
	if !q.Overlaps(b) {
		return out, nil
	}
	recs, err := b.Records()
	if err != nil {
		return out, err
	}
	m, err := q.matcher(b, len(recs))
	if err != nil {
		return out, err
	}
	for k := range recs {
		i := k
		if q.descending {
			i = len(recs) - 1 - k
		}
		r := &recs[i]
		if len(out) >= limit {
			break
		}
		if q.inRange(r.Seq, r.Time.UnixNano()) && m.matches(i) {
			out = append(out, *r)
		}
	}
	return out, nil
}

// Count returns how many records of b match. b.Data may be nil unless
// NeedsData says otherwise: it then counts by the block's columns and
// index alone.
func (q *Query) Count(b *Block) (int64, error) {
	if !q.Overlaps(b) {
		return 0, nil
	}
	var times []int64
	if b.Data != nil || q.NeedsData(b.MinTime, b.MaxTime) {
		recs, err := b.Records()
		if err != nil {
			return 0, err
		}
		times = make([]int64, len(recs))
		for i := range recs {
			times[i] = recs[i].Time.UnixNano()
		}
	}
	if len(q.filters) == 0 && times == nil {
		return max(0, min(b.LastSeq, q.SeqHi)-max(b.FirstSeq, q.SeqLo)+1), nil
	}
	n := len(times)
	if times == nil {
		n = int(b.LastSeq - b.FirstSeq + 1)
	}
	m, err := q.matcher(b, n)
	if err != nil {
		return 0, err
	}
	count := int64(0)
	for i := range n {
		t := b.MinTime
		if times != nil {
			t = times[i]
		}
		if q.inRange(b.FirstSeq+int64(i), t) && m.matches(i) {
			count++
		}
	}
	return count, nil
}

func (q *Query) inRange(seq, t int64) bool {
	return seq >= q.SeqLo && seq <= q.SeqHi && t >= q.TimeLo && t <= q.TimeHi
}

// matcher tells which records of a block match every filter.
type matcher struct {
	ix *index
	// hits[f][e]: entry e of the block matches filter f.
	hits [][]bool
}

// matcher decodes b's index for the query's filters; without filters,
// every record matches and the index is not read.
func (q *Query) matcher(b *Block, n int) (*matcher, error) {
	if len(q.filters) == 0 {
		return &matcher{}, nil
	}
	ix, err := b.decodeIndex(n)
	if err != nil {
		return nil, err
	}
	m := &matcher{ix: ix, hits: make([][]bool, len(q.filters))}
	for fi := range q.filters {
		f := &q.filters[fi]
		h := make([]bool, len(ix.names))
		for e := range ix.names {
			h[e] = string(ix.names[e]) == f.name && f.has(ix.values[e])
		}
		m.hits[fi] = h
	}
	return m, nil
}

func (m *matcher) matches(i int) bool {
	if m.ix == nil {
		return true
	}
	refs := m.ix.entries(i)
next:
	for _, h := range m.hits {
		for _, e := range refs {
			if h[e] {
				continue next
			}
		}
		return false
	}
	return true
}
