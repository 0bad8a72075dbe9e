package auditapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirapi"
	"kartehub/internal/karte"
)

// Options configure a Handler. The zero value is usable.
type Options struct {
	// Base is the public URL of the FHIR base (https://hub.example.jp/fhir),
	// for links and fullUrls. Empty: taken from each request's Host and
	// X-Forwarded-Proto, as fhirapi does.
	Base string
	// Location is the time zone of search dates given without one
	// (time.Local if nil).
	Location *time.Location
	// Log receives the errors that clients are not shown (nothing if nil).
	Log *slog.Logger
	// Patients, if set, limits each request to what the authorisation
	// decision in its context (karte.DecisionFrom) admits: under a facility
	// filter, the events that name a patient the filter admits, or whose
	// user acted from one of its facilities. A request without a decision,
	// or under the patient or query limits of a SMART scope, sees nothing.
	// Nil: every request sees the whole trail (tools and tests).
	Patients PatientScope
}

// Handler serves the AuditEvent endpoints of the FHIR API from an audit
// log: search (GET [base]/AuditEvent) and read (GET [base]/AuditEvent/[id],
// and its only version, _history/1). Every other method is refused with
// 405: audit events are created by the server alone, and never change.
type Handler struct {
	log      karte.AuditSearcher
	base     string
	prefix   string
	loc      *time.Location
	logger   *slog.Logger
	patients PatientScope
	mux      *http.ServeMux
}

// New returns a Handler for the AuditEvents of log under prefix, the path
// of the FHIR base ("/fhir").
func New(log karte.AuditSearcher, prefix string, opts Options) *Handler {
	h := &Handler{
		log:      log,
		base:     strings.TrimSuffix(opts.Base, "/"),
		prefix:   strings.TrimSuffix(prefix, "/"),
		loc:      opts.Location,
		logger:   opts.Log,
		patients: opts.Patients,
		mux:      http.NewServeMux(),
	}
	if h.loc == nil {
		h.loc = time.Local
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	p := h.prefix + "/AuditEvent"
	h.mux.HandleFunc("GET "+p, h.search)
	h.mux.HandleFunc("GET "+p+"/{id}", h.read)
	h.mux.HandleFunc("GET "+p+"/{id}/_history/{vid}", h.read)
	h.mux.HandleFunc(p, h.refuse)
	h.mux.HandleFunc(p+"/", h.refuse)
	return h
}

// Patterns are the paths that the Handler serves, as http.ServeMux
// patterns: mount it on each, in front of the rest of the FHIR API.
func (h *Handler) Patterns() []string {
	return []string{h.prefix + "/AuditEvent", h.prefix + "/AuditEvent/"}
}

// Mount registers h on mux for its Patterns.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, p := range h.Patterns() {
		mux.Handle(p, h)
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store") // audit records name patients
	if err := fhirapi.CheckFormat(r); err != nil {
		h.fail(w, r, err)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// refuse answers what the Handler does not serve: methods other than GET
// and HEAD (405), and other paths under AuditEvent (404).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, karte.Errorf(karte.MethodNotAllowed,
			"%s is not allowed on %s: the audit trail is append-only, and only the server records events", r.Method, r.URL.Path))
		return
	}
	h.fail(w, r, karte.Errorf(karte.NotFound, "no AuditEvent interaction at %s %s", r.Method, r.URL.Path))
}

// search serves GET [base]/AuditEvent.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	s, err := Parse(params, h.loc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	sc, err := h.scopeOf(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	total := int64(-1)
	// A scoped total would have to read every match: none is given.
	if s.Total && sc == nil {
		if total, err = h.log.CountAudit(ctx, s.Query); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	var recs []karte.AuditRecord
	var next int64
	if s.Count > 0 {
		if recs, next, err = h.page(ctx, *s, sc); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	base := h.baseURL(r)
	b := &fhir.Object{}
	b.Set("resourceType", "Bundle")
	b.Set("type", "searchset")
	if total >= 0 {
		b.Set("total", fhir.Number(strconv.FormatInt(total, 10)))
	}
	links := []fhir.Value{link("self", base+"/AuditEvent", params)}
	if next > 0 {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		q.Set("_cursor", strconv.FormatInt(next, 10))
		links = append(links, link("next", base+"/AuditEvent", q))
	}
	b.Set("link", links)
	if len(recs) > 0 {
		entries := make([]fhir.Value, len(recs))
		for i, rec := range recs {
			res, err := resource(rec)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			e := &fhir.Object{}
			e.Set("fullUrl", base+"/AuditEvent/"+strconv.FormatInt(rec.Seq, 10))
			e.Set("resource", res)
			e.Set("search", &fhir.Object{Members: []fhir.Member{{Key: "mode", Value: "match"}}})
			entries[i] = e
		}
		b.Set("entry", entries)
	}
	fhirapi.WriteJSON(w, r, http.StatusOK, b)
}

// page returns the records of one page of s that sc admits (all, for a
// nil sc), and the cursor of the next page, 0 if there is none.
func (h *Handler) page(ctx context.Context, s Search, sc *scope) ([]karte.AuditRecord, int64, error) {
	limit := s.Count + 1 // one more tells whether there is a next page
	if sc != nil {
		limit = max(limit, min(200, scanBudget))
	}
	var recs []karte.AuditRecord
	for read := 0; ; {
		q := s.Page()
		q.Limit = limit
		got, err := h.log.SearchAudit(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		read += len(got)
		kept := got
		if sc != nil {
			if kept, err = sc.keep(ctx, got); err != nil {
				return nil, 0, err
			}
		}
		recs = append(recs, kept...)
		switch {
		case len(recs) > s.Count:
			recs = recs[:s.Count]
			return recs, recs[len(recs)-1].Seq, nil
		case len(got) < limit:
			return recs, 0, nil
		}
		s.Cursor = got[len(got)-1].Seq
		if read >= scanBudget {
			return recs, s.Cursor, nil
		}
	}
}

func link(rel, path string, params url.Values) *fhir.Object {
	u := path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	return &fhir.Object{Members: []fhir.Member{{Key: "relation", Value: rel}, {Key: "url", Value: u}}}
}

// read serves GET [base]/AuditEvent/[id] and its version 1.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	seq, err := parseID(id)
	if vid := r.PathValue("vid"); err == nil && vid != "" && vid != "1" {
		err = errors.New("an AuditEvent has one version, 1")
	}
	if err != nil {
		h.fail(w, r, karte.Errorf(karte.NotFound, "AuditEvent/%s: not found", id))
		return
	}
	recs, err := h.log.SearchAudit(r.Context(), karte.AuditQuery{After: seq - 1, Limit: 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(recs) == 0 || recs[0].Seq != seq {
		h.fail(w, r, karte.Errorf(karte.NotFound, "AuditEvent/%s: not found", id))
		return
	}
	if err := h.admit(r.Context(), recs[0]); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := resource(recs[0])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", `W/"1"`)
	w.Header().Set("Last-Modified", recs[0].Time.UTC().Format(http.TimeFormat))
	fhirapi.WriteJSON(w, r, http.StatusOK, res)
}

// admit returns nil if the request of ctx may see rec, and why not
// otherwise.
func (h *Handler) admit(ctx context.Context, rec karte.AuditRecord) error {
	sc, err := h.scopeOf(ctx)
	if err != nil || sc == nil {
		return err
	}
	kept, err := sc.keep(ctx, []karte.AuditRecord{rec})
	if err != nil {
		return err
	}
	if len(kept) == 0 {
		return karte.Errorf(karte.Forbidden, "AuditEvent/%d is outside what this access allows: %s", rec.Seq, sc.describe())
	}
	return nil
}

// Resource returns the AuditEvent of rec as the API serves it: the stored
// event with id (the record's Seq) and meta (versionId 1, lastUpdated the
// record's Time) set. The stored bytes are not touched.
func Resource(rec karte.AuditRecord) ([]byte, error) {
	res, err := resource(rec)
	if err != nil {
		return nil, err
	}
	return fhir.Marshal(res), nil
}

func resource(rec karte.AuditRecord) (*fhir.Object, error) {
	res, err := fhir.ParseObject(rec.Event)
	if err != nil {
		return nil, karte.Errorf(karte.Internal, "audit record %d: the event is no JSON object: %w", rec.Seq, err)
	}
	meta := &fhir.Object{}
	meta.Set("versionId", "1")
	meta.Set("lastUpdated", rec.Time.UTC().Format(time.RFC3339Nano))
	res.SetAfter("resourceType", "id", strconv.FormatInt(rec.Seq, 10))
	res.SetAfter("id", "meta", meta)
	return res, nil
}

// baseURL is the absolute FHIR base for links: Base if set, else taken
// from the request.
func (h *Handler) baseURL(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	return fhirapi.RequestBase(r, h.prefix)
}

// fail answers err as an OperationOutcome, as the rest of the API does.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	fhirapi.WriteError(w, r, h.logger, err)
}
