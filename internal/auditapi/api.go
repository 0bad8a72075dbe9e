package auditapi

import (
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
}

// Handler serves the AuditEvent endpoints of the FHIR API from an audit
// log: search (GET [base]/AuditEvent) and read (GET [base]/AuditEvent/[id],
// and its only version, _history/1). Every other method is refused with
// 405: audit events are created by the server alone, and never change.
type Handler struct {
	log    karte.AuditSearcher
	base   string
	prefix string
	loc    *time.Location
	logger *slog.Logger
	mux    *http.ServeMux
}

// New returns a Handler for the AuditEvents of log under prefix, the path
// of the FHIR base ("/fhir").
func New(log karte.AuditSearcher, prefix string, opts Options) *Handler {
	h := &Handler{
		log:    log,
		base:   strings.TrimSuffix(opts.Base, "/"),
		prefix: strings.TrimSuffix(prefix, "/"),
		loc:    opts.Location,
		logger: opts.Log,
		mux:    http.NewServeMux(),
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
	total := int64(-1)
	if s.Total {
		if total, err = h.log.CountAudit(ctx, s.Query); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	var recs []karte.AuditRecord
	if s.Count > 0 {
		q := s.Page()
		q.Limit = s.Count + 1 // one more tells whether there is a next page
		if recs, err = h.log.SearchAudit(ctx, q); err != nil {
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
	if len(recs) > s.Count {
		recs = recs[:s.Count]
		next := url.Values{}
		for k, v := range params {
			next[k] = v
		}
		next.Set("_cursor", strconv.FormatInt(recs[len(recs)-1].Seq, 10))
		links = append(links, link("next", base+"/AuditEvent", next))
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
	res, err := resource(recs[0])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", `W/"1"`)
	w.Header().Set("Last-Modified", recs[0].Time.UTC().Format(http.TimeFormat))
	fhirapi.WriteJSON(w, r, http.StatusOK, res)
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
