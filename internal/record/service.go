package record

import (
	"context"
	"kartehub/internal/search"
	"strconv"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
)

// Service runs FHIR interactions on a store. It is safe for concurrent use.
type Service struct {
	store  karte.Store
	now    func() time.Time
	search *search.Engine
	// paramsChanged is called after a SearchParameter write commits.
	paramsChanged func(ctx context.Context, url string, types []string)
}

// Option configures a Service.
type Option func(*Service)

// WithSearch makes the service index every write for search with e, and
// answer searches.
func WithSearch(e *search.Engine) Option { return func(s *Service) { s.search = e } }

// WithClock sets the clock that stamps meta.lastUpdated (for tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service on store.
func New(store karte.Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.search != nil && s.search.ValueSet == nil {
		s.search.ValueSet = s.expandValueSet
	}
	return s
}

// Outcome is the result of a write interaction.
type Outcome struct {
	// Resource is the version now current. For a delete it is the deletion
	// version, or nil if there was nothing to delete.
	Resource *karte.Resource
	// Created is true when the interaction created a new resource.
	Created bool
	// Unchanged is true when the interaction wrote nothing: an update with
	// the same content as the current version, or a conditional create that
	// found its match.
	Unchanged bool
}

// Read returns the current version of a resource (see karte.Store.Read).
func (s *Service) Read(ctx context.Context, typ, id string) (*karte.Resource, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	return s.store.Read(ctx, typ, id)
}

// VRead returns one version of a resource (see karte.Store.VRead).
func (s *Service) VRead(ctx context.Context, typ, id string, version int64) (*karte.Resource, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	return s.store.VRead(ctx, typ, id, version)
}

// History returns one page of history (see karte.Store.History).
func (s *Service) History(ctx context.Context, q karte.HistoryQuery) (*karte.HistoryPage, error) {
	if q.Type != "" {
		if err := checkType(q.Type); err != nil {
			return nil, err
		}
	}
	return s.store.History(ctx, q)
}

func checkType(typ string) error {
	if !fhir.IsResourceType(typ) {
		return karte.Errorf(karte.NotFound, "unknown resource type %q", typ)
	}
	return nil
}

// timestamp returns the server time at the millisecond precision the store
// keeps, in UTC.
func (s *Service) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// FormatInstant renders t as a FHIR instant.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// stamp sets id and meta.versionId/lastUpdated in res and encodes it.
func stamp(res *fhir.Object, id string, version int64, at time.Time) []byte {
	res.SetAfter("resourceType", "id", id)
	meta := res.Object("meta")
	if meta == nil {
		meta = &fhir.Object{}
		res.SetAfter("id", "meta", meta)
	}
	meta.SetAfter("", "versionId", strconv.FormatInt(version, 10))
	meta.SetAfter("versionId", "lastUpdated", FormatInstant(at))
	return fhir.Append(nil, res)
}

// draft wraps res for writing, with the service's indexer.
func (s *Service) draft(res *fhir.Object) *draft {
	d := &draft{res: res}
	if s.search != nil {
		d.indexer = s.search.Index
	}
	return d
}
