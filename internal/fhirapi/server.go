package fhirapi

import (
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
)

// maxBody bounds a request body. Transaction bundles of a whole patient
// record run to tens of megabytes; anything far larger is a mistake.
const maxBody = 256 << 20

// Handler serves the FHIR REST API. Mount it with its prefix, e.g.
// mux.Handle("/fhir/", h).
type Handler struct {
	// Base is the public URL of the FHIR base (https://hub.example.jp/fhir),
	// for links and fullUrls. Empty: taken from each request, which suits
	// trials but lets a client's Host header choose the links it gets.
	Base string
	// OAuth, if set, is announced in the CapabilityStatement: the API
	// takes only requests with its access tokens.
	OAuth *OAuthURIs

	svc    *record.Service
	log    *slog.Logger
	prefix string
	mux    *http.ServeMux
	start  time.Time
	// refused holds the patterns routed only to answer 405.
	refused map[string]bool
}

// New returns a Handler for the API under prefix (e.g. "/fhir").
func New(svc *record.Service, log *slog.Logger, prefix string) *Handler {
	h := &Handler{svc: svc, log: log, prefix: strings.TrimSuffix(prefix, "/"), mux: http.NewServeMux(), start: time.Now(),
		refused: map[string]bool{}}
	h.routes()
	return h
}

func (h *Handler) routes() {
	p := h.prefix
	h.mux.HandleFunc("GET "+p+"/metadata", h.metadata)
	h.mux.HandleFunc("POST "+p+"/{$}", h.bundle)
	if p != "" { // the base as clients write it, without the slash, if the mux in front routes it here
		h.mux.HandleFunc("POST "+p, h.bundle)
	}
	h.mux.HandleFunc("GET "+p+"/_history", h.history)
	h.mux.HandleFunc("GET "+p+"/{$}", h.systemSearch)
	if p != "" {
		h.mux.HandleFunc("GET "+p, h.systemSearch)
	}
	h.mux.HandleFunc("GET "+p+"/{type}", h.search)
	h.mux.HandleFunc("POST "+p+"/{type}/_search", h.search)
	h.mux.HandleFunc("GET "+p+"/{type}/{id}/$everything", h.everything)
	h.mux.HandleFunc("GET "+p+"/{ctype}/{cid}/{type}", h.compartment)
	h.mux.HandleFunc("POST "+p+"/{type}", h.create)
	h.mux.HandleFunc("PUT "+p+"/{type}", h.conditionalUpdate)
	h.mux.HandleFunc("DELETE "+p+"/{type}", h.conditionalDelete)
	h.mux.HandleFunc("GET "+p+"/{type}/_history", h.history)
	h.mux.HandleFunc("GET "+p+"/{type}/{id}", h.read)
	h.mux.HandleFunc("PUT "+p+"/{type}/{id}", h.update)
	h.mux.HandleFunc("PATCH "+p+"/{type}/{id}", h.patch)
	h.mux.HandleFunc("DELETE "+p+"/{type}/{id}", h.delete)
	h.mux.HandleFunc("GET "+p+"/{type}/{id}/_history", h.history)
	h.mux.HandleFunc("GET "+p+"/{type}/{id}/_history/{vid}", h.vread)
	// The system paths take GET only; without these routes other methods
	// would reach the type routes above with "metadata" as the type.
	for _, path := range []string{p + "/metadata", p + "/_history"} {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			h.mux.HandleFunc(m+" "+path, h.getOnly)
			h.refused[m+" "+path] = true
		}
	}
	h.mux.HandleFunc(p+"/", h.notFound)
}

// getOnly answers the methods that a GET-only path does not take.
func (h *Handler) getOnly(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	h.fail(w, r, karte.Errorf(karte.MethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
}

// ServeHTTP implements http.Handler. It refuses formats other than JSON
// before any route runs.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := CheckFormat(r); err != nil {
		h.fail(w, r, err)
		return
	}
	h.note(r)
	_, pattern := h.mux.Handler(r)
	if pattern == "" || pattern == h.prefix+"/" {
		h.notFoundOrMethod(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// notFoundOrMethod tells a path that exists for other methods (405, with
// the methods it takes in Allow, as RFC 9110 requires) from one that does
// not exist at all (404).
func (h *Handler) notFoundOrMethod(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != h.prefix+"/" && !h.refused[pattern] {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		h.notFound(w, r)
		return
	}
	if allow[0] == "GET" {
		allow = append(allow, "HEAD")
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	h.fail(w, r, karte.Errorf(karte.MethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, karte.Errorf(karte.NotFound, "no FHIR interaction at %s %s", r.Method, r.URL.Path))
}

// CheckFormat accepts only FHIR JSON in both directions: the server speaks
// no XML, and says so with 406 (here) or 415 (readBody) rather than
// answering in JSON anyway. _format stands in for Accept (R4 3.1.0.1.9), so
// an unsupported one is also 406.
func CheckFormat(r *http.Request) error {
	if f := r.URL.Query().Get("_format"); f != "" && !isJSONType(f) && f != "json" {
		return notAcceptable("_format " + strconv.Quote(f) + " is not supported; this server answers only in application/fhir+json")
	}
	if acc := r.Header.Get("Accept"); acc != "" && !acceptsJSON(acc) {
		return notAcceptable("Accept " + acc + ": this server answers only in application/fhir+json")
	}
	return nil
}

// statusError gives an error an HTTP status that no karte.Kind maps to:
// the content negotiation statuses 406 and 415, which exist only at the
// HTTP edge.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func notAcceptable(msg string) error {
	return &statusError{http.StatusNotAcceptable, notSupported(msg)}
}

func unsupportedMediaType(msg string) error {
	return &statusError{http.StatusUnsupportedMediaType, notSupported(msg)}
}

func notSupported(msg string) *karte.Error {
	return &karte.Error{Kind: karte.NotSupported, Message: msg,
		Issues: []karte.Issue{{Severity: "error", Code: "not-supported", Diagnostics: msg}}}
}

func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if isJSONType(mt) || mt == "*/*" || mt == "application/*" {
			return true
		}
	}
	return false
}

func isJSONType(mt string) bool {
	switch mt {
	case "application/fhir+json", "application/json", "application/json+fhir":
		return true
	}
	return false
}

// readBody reads a JSON request body, checking its Content-Type.
func readBody(r *http.Request, types ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	ok := ct == ""
	for _, t := range types {
		ok = ok || mt == t
	}
	if !ok {
		return nil, unsupportedMediaType("Content-Type " + ct + " is not supported; send " + strings.Join(types, " or "))
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "reading the body: %w", err)
	}
	if len(b) == 0 {
		return nil, karte.Errorf(karte.Invalid, "the request has no body")
	}
	return b, nil
}

var resourceTypes = []string{"application/fhir+json", "application/json", "application/json+fhir"}

// ifMatch parses If-Match: W/"3" (or "3") into 3; 0 if absent.
func ifMatch(r *http.Request) (int64, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return 0, nil
	}
	n, err := parseETag(v)
	if err != nil {
		return 0, karte.Errorf(karte.Invalid, "If-Match %q is not a version ETag like W/\"3\"", v)
	}
	return n, nil
}

func parseETag(v string) (int64, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n < 1 {
		err = strconv.ErrRange
	}
	return n, err
}

func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// writeJSON encodes v with the FHIR content type, indented if _pretty=true.
// WriteJSON sends v as FHIR JSON with status, indented if _pretty=true.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v fhir.Value) {
	var b []byte
	if r.URL.Query().Get("_pretty") == "true" {
		b = fhir.AppendIndent(nil, v, "  ")
	} else {
		b = fhir.Append(nil, v)
	}
	writeBytes(w, status, b)
}

func writeBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeResource sends a stored version with its version headers.
func (h *Handler) writeResource(w http.ResponseWriter, r *http.Request, status int, res *karte.Resource) {
	notePatients(r, res)
	setVersionHeaders(w, res)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	if r.URL.Query().Get("_pretty") == "true" {
		if v, err := fhir.Parse(res.Body); err == nil {
			WriteJSON(w, r, status, v)
			return
		}
	}
	writeBytes(w, status, res.Body)
}

func setVersionHeaders(w http.ResponseWriter, res *karte.Resource) {
	w.Header().Set("ETag", etag(res.VersionID))
	w.Header().Set("Last-Modified", res.LastUpdated.UTC().Format(http.TimeFormat))
}

// WriteError sends err as an OperationOutcome with the status of its Kind
// (406 and 415 for content negotiation), and tells the request's audit
// note why it failed. An internal error's text goes to log only.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := errorStatus(err)
	if status == http.StatusInternalServerError && karte.KindOf(err) == karte.Internal {
		audit.NoteFrom(r.Context()).Fail("internal server error")
	} else {
		audit.NoteFrom(r.Context()).Fail(err.Error())
	}
	WriteJSON(w, r, status, operationOutcome(log, err))
}

// fail sends err as an OperationOutcome.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, h.log, err)
}

// baseURL is the absolute FHIR base of this request, for Location headers
// and fullUrls: Base if set, else taken from the request's Host and
// X-Forwarded-Proto, which the client controls.
func (h *Handler) baseURL(r *http.Request) string {
	if h.Base != "" {
		return h.Base
	}
	return RequestBase(r, h.prefix)
}

// RequestBase is the absolute URL of the API prefix as the request reached
// it: from its Host and X-Forwarded-Proto, which the client controls, so
// only for servers without a configured public base.
func RequestBase(r *http.Request, prefix string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + prefix
}
