package record

import (
	"context"
	"net/url"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// WithParamsChanged sets what to do when a SearchParameter resource has
// been written: start reindexing types for the parameter at url.
func WithParamsChanged(fn func(ctx context.Context, url string, types []string)) Option {
	return func(s *Service) { s.paramsChanged = fn }
}

// checkSearchParameter refuses a SearchParameter that the server could not
// use: storing it would promise a search that does not work.
func checkSearchParameter(res *fhir.Object) error {
	_, err := searchparam.FromResource(res)
	return err
}

// afterWrite keeps the search registry in step with committed writes of
// SearchParameter resources, and asks for the reindex they need.
func (s *Service) afterWrite(ctx context.Context, out *Outcome) {
	if s.search == nil || out == nil || out.Resource == nil || out.Unchanged || out.Resource.Type != "SearchParameter" {
		return
	}
	reg := s.search.Registry()
	if out.Resource.Deleted {
		if prev, err := s.store.VRead(ctx, out.Resource.Type, out.Resource.ID, out.Resource.VersionID-1); err == nil {
			if obj, err := fhir.ParseObject(prev.Body); err == nil {
				reg.Remove(obj.String("url"))
			}
		}
		return
	}
	obj, err := fhir.ParseObject(out.Resource.Body)
	if err != nil {
		return
	}
	params, err := searchparam.FromResource(obj)
	if err != nil || reg.Add(params...) != nil {
		return
	}
	var types []string
	for _, p := range params {
		types = append(types, p.Base)
	}
	if s.paramsChanged != nil {
		s.paramsChanged(ctx, obj.String("url"), types)
	}
}

// LoadSearchParameters registers the SearchParameter resources already
// stored, at start-up.
func (s *Service) LoadSearchParameters(ctx context.Context) error {
	if s.search == nil {
		return nil
	}
	ctx = own(ctx)
	after := ""
	for {
		f, err := s.Search(ctx, []string{"SearchParameter"}, url.Values{"_count": {"500"}, "_cursor": {after}}, false)
		if karte.IsKind(err, karte.NotSupported) {
			return nil // no search on this store: nothing to load from
		}
		if err != nil {
			return err
		}
		for _, m := range f.Result.Matches {
			obj, err := fhir.ParseObject(m.Body)
			if err != nil {
				continue
			}
			if params, err := searchparam.FromResource(obj); err == nil {
				s.search.Registry().Add(params...)
			}
		}
		if after = f.Result.Next; after == "" {
			return nil
		}
	}
}
