package record

import (
	"context"
	"strconv"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/search"
)

// Service runs FHIR interactions on a store. It is safe for concurrent use.
type Service struct {
	store  karte.Store
	now    func() time.Time
	search *search.Engine
	// paramsChanged is called after a SearchParameter write commits.
	paramsChanged func(ctx context.Context, url string, types []string)
	// authz decides each interaction; nil trusts the caller.
	authz karte.Authorizer
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
	g, err := s.authorize(ctx, karte.Request{Interaction: karte.InteractionRead, Type: typ})
	if err != nil {
		return nil, err
	}
	res, err := s.store.Read(ctx, typ, id)
	if err != nil {
		return res, err
	}
	return res, s.admitStored(ctx, g, typ, id)
}

// VRead returns one version of a resource (see karte.Store.VRead). Under
// a limited grant, the resource as it is now must pass: an old version is
// as much the patient's as the current one.
func (s *Service) VRead(ctx context.Context, typ, id string, version int64) (*karte.Resource, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	g, err := s.authorize(ctx, karte.Request{Interaction: karte.InteractionVRead, Type: typ})
	if err != nil {
		return nil, err
	}
	if err := s.admitStored(ctx, g, typ, id); err != nil {
		return nil, err
	}
	return s.store.VRead(ctx, typ, id, version)
}

// History returns one page of history (see karte.Store.History). Under a
// limited grant, an instance's history needs the resource to pass; type
// and system history keep only the versions of resources that pass, and
// give no total, which would count the others.
func (s *Service) History(ctx context.Context, q karte.HistoryQuery) (*karte.HistoryPage, error) {
	if q.Type != "" {
		if err := checkType(q.Type); err != nil {
			return nil, err
		}
	}
	in := karte.InteractionHistorySystem
	switch {
	case q.ID != "":
		in = karte.InteractionHistoryInstance
	case q.Type != "":
		in = karte.InteractionHistoryType
	}
	var g *grant
	var err error
	if q.Type == "" {
		// History of all types: of the types the principal may read, each
		// under its own grant (admitAll), unless all are unlimited.
		types, err := s.allowedTypes(ctx, karte.InteractionRead)
		if err != nil {
			return nil, err
		}
		if types != nil {
			g = &grant{s: s, d: &karte.Decision{Allow: true, Facilities: karte.FacilityFilter{Any: true}}}
		}
	} else if g, err = s.authorize(ctx, karte.Request{Interaction: in, Type: q.Type}); err != nil {
		return nil, err
	}
	if q.ID != "" {
		if err := s.admitStored(ctx, g, q.Type, q.ID); err != nil {
			return nil, err
		}
		return s.store.History(ctx, q)
	}
	page, err := s.store.History(ctx, q)
	if err != nil || g == nil {
		return page, err
	}
	sr, err := s.searcher()
	if err != nil {
		return nil, err
	}
	if page.Versions, err = s.admitAll(ctx, sr, karte.InteractionRead, page.Versions); err != nil {
		return nil, err
	}
	page.Total = -1
	return page, nil
}

// admitStored checks the live resource typ/id against g; a resource that
// is not live (deleted, or never written) passes only an unlimited grant.
func (s *Service) admitStored(ctx context.Context, g *grant, typ, id string) error {
	if g == nil {
		return nil
	}
	sr, err := s.searcher()
	if err != nil {
		return err
	}
	return g.admitted(ctx, sr, typ, id)
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
