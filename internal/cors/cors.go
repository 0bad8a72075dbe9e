// Package cors lets the browser apps of known origins call the API: it
// answers their preflight requests and marks the responses to them as
// readable (Cross-Origin Resource Sharing). SMART apps that run in a
// browser (public clients) are served from their own origin and send the
// access token in the Authorization header, which no browser sends to
// another origin before a preflight allows it.
//
// Only the origins of the configured apps are allowed: the API sends no
// cookies and reads none, so CORS opens no session to other sites, but a
// list keeps the API closed to pages that no operator vetted.
package cors

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// What an allowed origin may send and read: the FHIR API's methods and
// request headers, and the response headers that FHIR clients read.
const (
	allowMethods  = "GET, HEAD, POST, PUT, PATCH, DELETE"
	allowHeaders  = "Authorization, Accept, Content-Type, If-Match, If-None-Exist, If-None-Match, If-Modified-Since, Prefer, X-Request-Id"
	exposeHeaders = "Location, Content-Location, ETag, Last-Modified, X-Request-Id, WWW-Authenticate"
	maxAge        = "600" // seconds a browser may reuse a preflight's answer
)

// Policy allows a set of origins.
type Policy struct {
	origins []string
}

// New returns a Policy that allows origins, each "scheme://host[:port]"
// as browsers send it in the Origin header.
func New(origins []string) *Policy {
	return &Policy{origins: slices.Clone(origins)}
}

// Origins returns the origins of the http and https URIs among uris (an
// app's redirect URIs, say), each once; other schemes have none.
func Origins(uris []string) []string {
	var out []string
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			continue
		}
		scheme := strings.ToLower(u.Scheme)
		if scheme != "http" && scheme != "https" {
			continue
		}
		o := scheme + "://" + strings.ToLower(u.Host)
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// Wrap returns a handler that answers the preflight requests of allowed
// origins itself (they carry no token and read nothing, so they go
// neither to authentication nor to the audit trail), marks next's
// responses to them as readable, and passes everything else to next
// unchanged.
func (p *Policy) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		if !slices.Contains(p.origins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", allowMethods)
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(&writer{ResponseWriter: w, origin: origin}, r)
	})
}

// writer adds the headers of an allowed origin to a response when it is
// sent, after whatever the handler set.
type writer struct {
	http.ResponseWriter
	origin string
	sent   bool
}

func (w *writer) WriteHeader(status int) {
	w.mark()
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(b []byte) (int, error) {
	w.mark()
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *writer) mark() {
	if w.sent {
		return
	}
	w.sent = true
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", w.origin)
	h.Set("Access-Control-Expose-Headers", exposeHeaders)
	if !slices.Contains(h.Values("Vary"), "Origin") {
		h.Add("Vary", "Origin")
	}
}
