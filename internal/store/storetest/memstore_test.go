package storetest_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"kartehub/internal/karte"
	"kartehub/internal/store/storetest"
)

// TestSuite runs the suite on memStore, a reference Store written straight
// from the contracts. It tests the suite: a subtest that fails here demands
// something the contracts do not say.
func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (karte.Store, error) {
		db := &memDB{byKey: map[key][]*karte.Resource{}, idents: map[key][]karte.Identifier{}}
		return func() (karte.Store, error) { return &memStore{db: db}, nil }
	})
}

type key struct{ typ, id string }

// memDB is the state that survives Close, as a database file would.
type memDB struct {
	mu       sync.RWMutex               // a Write holds it throughout: writes are serialised
	versions []*karte.Resource          // every version, by Seq-1
	byKey    map[key][]*karte.Resource  // a resource's versions, by VersionID-1
	idents   map[key][]karte.Identifier // of current, not deleted versions
}

// memState is what a failed Write restores.
type memState struct {
	n      int
	byKey  map[key][]*karte.Resource
	idents map[key][]karte.Identifier
}

func (db *memDB) save() memState {
	byKey := make(map[key][]*karte.Resource, len(db.byKey))
	for k, vs := range db.byKey {
		byKey[k] = slices.Clip(vs) // a later append copies instead of overwriting
	}
	return memState{len(db.versions), byKey, maps.Clone(db.idents)}
}

func (db *memDB) restore(s memState) {
	db.versions, db.byKey, db.idents = db.versions[:s.n], s.byKey, s.idents
}

type memStore struct{ db *memDB }

var _ karte.Store = (*memStore)(nil)

func clone(r *karte.Resource) *karte.Resource {
	c := *r
	c.Body = bytes.Clone(r.Body)
	return &c
}

func found(r *karte.Resource) (*karte.Resource, error) {
	if r.Deleted {
		return clone(r), karte.Errorf(karte.Gone, "%s/%s deleted", r.Type, r.ID)
	}
	return clone(r), nil
}

func (db *memDB) current(typ, id string) (*karte.Resource, error) {
	vs := db.byKey[key{typ, id}]
	if len(vs) == 0 {
		return nil, karte.Errorf(karte.NotFound, "%s/%s", typ, id)
	}
	return vs[len(vs)-1], nil
}

func (db *memDB) vread(typ, id string, v int64) (*karte.Resource, error) {
	vs := db.byKey[key{typ, id}]
	if v < 1 || v > int64(len(vs)) {
		return nil, karte.Errorf(karte.NotFound, "%s/%s/_history/%d", typ, id, v)
	}
	return found(vs[v-1])
}

func (s *memStore) Read(_ context.Context, typ, id string) (*karte.Resource, error) {
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	r, err := s.db.current(typ, id)
	if err != nil {
		return nil, err
	}
	return found(r)
}

func (s *memStore) VRead(_ context.Context, typ, id string, v int64) (*karte.Resource, error) {
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	return s.db.vread(typ, id, v)
}

// selects reports whether q selects r, Before aside.
func (db *memDB) selects(q karte.HistoryQuery, r *karte.Resource) bool {
	if (q.Type != "" && r.Type != q.Type) || (q.ID != "" && r.ID != q.ID) || r.LastUpdated.Before(q.Since) {
		return false
	}
	if !q.AtEnd.IsZero() && !r.LastUpdated.Before(q.AtEnd) {
		return false
	}
	vs := db.byKey[key{r.Type, r.ID}]
	return q.AtStart.IsZero() || r.VersionID == int64(len(vs)) || vs[r.VersionID].LastUpdated.After(q.AtStart)
}

func (s *memStore) History(_ context.Context, q karte.HistoryQuery) (*karte.HistoryPage, error) {
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	count := q.Count
	if count == 0 {
		count = 7 // unlike the engines, to show the suite does not depend on it
	}
	p := &karte.HistoryPage{}
	for _, r := range slices.Backward(s.db.versions) {
		if !s.db.selects(q, r) {
			continue
		}
		p.Total++
		if q.Before != 0 && r.Seq >= q.Before {
			continue
		}
		if len(p.Versions) == count {
			p.Next = p.Versions[count-1].Seq
			continue
		}
		p.Versions = append(p.Versions, clone(r))
	}
	return p, nil
}

func (s *memStore) Write(_ context.Context, fn func(karte.Tx) error) error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	saved := s.db.save()
	if err := fn(memTx{s.db}); err != nil {
		s.db.restore(saved)
		return err
	}
	return nil
}

// Close waits for the Write in flight by taking its lock.
func (s *memStore) Close() error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	return nil
}

type memTx struct{ db *memDB }

func (tx memTx) Current(_ context.Context, typ, id string) (*karte.Resource, error) {
	r, err := tx.db.current(typ, id)
	if err != nil {
		return nil, err
	}
	return clone(r), nil
}

func (tx memTx) VRead(_ context.Context, typ, id string, v int64) (*karte.Resource, error) {
	return tx.db.vread(typ, id, v)
}

func (tx memTx) Put(_ context.Context, r *karte.Resource, ix *karte.Index) error {
	k := key{r.Type, r.ID}
	if n := int64(len(tx.db.byKey[k])); r.VersionID != n+1 {
		return karte.Errorf(karte.Conflict, "%s/%s: version %d after %d", r.Type, r.ID, r.VersionID, n)
	}
	c := clone(r)
	c.LastUpdated = time.UnixMilli(r.LastUpdated.UnixMilli()).UTC()
	c.Seq = int64(len(tx.db.versions) + 1)
	if c.Deleted {
		c.Body = nil
	}
	tx.db.versions = append(tx.db.versions, c)
	tx.db.byKey[k] = append(tx.db.byKey[k], c)
	delete(tx.db.idents, k)
	if !c.Deleted && ix != nil {
		tx.db.idents[k] = slices.Clone(ix.Identifiers)
	}
	r.Seq = c.Seq
	return nil
}

func (tx memTx) FindByIdentifier(_ context.Context, typ string, id karte.Identifier) ([]string, error) {
	var ids []string
	for k, idents := range tx.db.idents {
		if k.typ == typ && slices.ContainsFunc(idents, func(i karte.Identifier) bool {
			return i.Value == id.Value && (id.System == "" || i.System == id.System)
		}) {
			ids = append(ids, k.id)
		}
	}
	return ids, nil
}

// Lock has nothing to do: a Write holds the store to itself.
func (memTx) Lock(context.Context, string) error { return nil }
