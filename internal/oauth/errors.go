package oauth

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"

	"kartehub/internal/karte"
)

// oauthError is an error response of the token, revocation and
// break-glass endpoints (RFC 6749 5.2).
type oauthError struct {
	status int
	code   string // invalid_request, invalid_client, invalid_grant, ...
	desc   string
	basic  bool // the client tried HTTP Basic: answer with a challenge
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: desc}
}

func serverError(desc string) *oauthError {
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: desc}
}

func unavailable(desc string) *oauthError {
	return &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: desc}
}

// noStore marks a response as one that no cache may keep (RFC 6749 5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// writeJSON writes v as a JSON response that no cache keeps.
func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *oauthError) {
	if e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="kartehub", charset="UTF-8"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// maxForm bounds the body of every form the provider reads.
const maxForm = 64 << 10

// readForm reads a POSTed application/x-www-form-urlencoded body, without
// the URL's query. A parameter given twice is refused, as RFC 6749 3.1
// and 3.2 ask.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "the form cannot be read")
	}
	if name := repeated(r.PostForm); name != "" {
		return nil, badRequest("invalid_request", "the parameter "+name+" is given more than once")
	}
	return r.PostForm, nil
}

// repeated returns the name of a parameter given more than once, or "".
func repeated(v url.Values) string {
	for k, vs := range v {
		if len(vs) > 1 {
			return k
		}
	}
	return ""
}

// unauthorized is the error of Verify: Kind Unauthorized with a short
// reason, which never quotes the token.
func unauthorized(reason string) error {
	return &karte.Error{Kind: karte.Unauthorized, Message: reason}
}
