// Package guard stands in front of kartehub's HTTP handlers: it lets
// through only requests with a valid bearer token, and records every
// request in the audit trail before its response leaves the server.
//
// The order is fixed by what each step needs: Audit wraps Authenticate,
// so that a request refused for want of a token is audited too, and the
// response is held back until the audit event is durable, so that no
// acknowledged request is missing from the trail. A request whose event
// cannot be recorded is answered 503 instead.
package guard

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// Verifier turns a bearer token into the principal it stands for, or
// fails with an *karte.Error of Kind Unauthorized that says why.
type Verifier interface {
	Verify(ctx context.Context, token string) (*karte.Principal, error)
}

// Recorder records an audit event durably: when Record returns nil, the
// event survives a crash.
type Recorder interface {
	Record(ctx context.Context, e *audit.Event) error
}

// ErrorWriter writes err as the response to r: for the FHIR API, an
// OperationOutcome with the status of the error's Kind.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Authenticate returns a handler that serves next only for requests that
// carry a valid bearer token (RFC 6750), with the token's principal in
// their context (karte.WithPrincipal). Others get 401 with a
// WWW-Authenticate challenge, written by fail.
func Authenticate(v Verifier, fail ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note := audit.NoteFrom(r.Context())
		token, err := bearer(r)
		if err == nil {
			var p *karte.Principal
			if p, err = v.Verify(r.Context(), token); err == nil {
				note.SetPrincipal(p)
				next.ServeHTTP(w, r.WithContext(karte.WithPrincipal(r.Context(), p)))
				return
			}
		}
		challenge := `Bearer realm="kartehub"`
		if token != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		note.Fail(err.Error())
		fail(w, r, err)
	})
}

// bearer returns the bearer token of r.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", karte.Errorf(karte.Unauthorized, "authentication required: send an access token as Authorization: Bearer <token>")
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", karte.Errorf(karte.Unauthorized, "the Authorization header must be Bearer <access token>")
	}
	return strings.TrimSpace(token), nil
}

// RequireRole returns a handler that serves next only to principals that
// hold role; others get 403 from fail. It goes inside Authenticate.
func RequireRole(role string, fail ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := karte.PrincipalFrom(r.Context()); !p.HasRole(role) {
			reason := p.String() + " does not hold the role " + role
			audit.NoteFrom(r.Context()).Fail(reason)
			fail(w, r, karte.Errorf(karte.Forbidden, "%s", reason))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Authorize returns a handler that serves next only if a allows the
// request's principal the interaction that classify names, on typ; others
// get 403 from fail. It guards handlers that do not go through the record
// service, which asks the authoriser itself, and hands them the decision
// in the request's context (karte.DecisionFrom), whose limits they apply.
// It goes inside Authenticate.
func Authorize(a karte.Authorizer, typ string, classify Classifier, fail ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := classify(r)
		d := a.Authorize(r.Context(), karte.PrincipalFrom(r.Context()), karte.Request{Interaction: in, Type: typ})
		if !d.Allow {
			audit.NoteFrom(r.Context()).Fail(d.Reason)
			fail(w, r, karte.Errorf(karte.Forbidden, "%s", d.Reason))
			return
		}
		next.ServeHTTP(w, r.WithContext(karte.WithDecision(r.Context(), d)))
	})
}

// Classifier names the interaction of a request that no handler noted,
// such as one refused before it reached the API.
type Classifier func(r *http.Request) (in karte.Interaction, resource string)

// Auditor records the audit event of every request it serves.
type Auditor struct {
	Recorder Recorder
	Classify Classifier
	Fail     ErrorWriter
	Log      *slog.Logger // nil: nothing is logged
}

// Wrap returns a handler that serves next with an audit.Note in the
// request's context, then records the request's event and only then sends
// the response, which it holds in memory until the event is durable.
func (a *Auditor) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, note := audit.WithNote(r.Context())
		r = r.WithContext(ctx)
		held := &heldResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(held, r)

		req := audit.Request{Address: remoteIP(r), UserAgent: r.UserAgent(), RequestID: r.Header.Get("X-Request-Id"),
			Interaction: karte.InteractionOperation}
		if a.Classify != nil && !note.Noted() {
			req.Interaction, req.Resource = a.Classify(r)
		}
		// Recorded even if the client has gone: the data was read.
		if err := a.Recorder.Record(context.WithoutCancel(ctx), note.Event(req, held.status)); err != nil {
			a.logger().Error("audit trail unavailable: request refused", "method", r.Method, "path", r.URL.Path, "err", err)
			a.Fail(w, r, karte.Errorf(karte.Unavailable, "the audit trail cannot record this request, so it is not served; try again later"))
			return
		}
		held.send(w)
	})
}

func (a *Auditor) logger() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

// remoteIP is the address of the peer, without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// heldResponse keeps a response in memory until it may be sent.
type heldResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if !h.wroteHeader {
		h.status, h.wroteHeader = status, true
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	h.wroteHeader = true
	return h.body.Write(p)
}

// send writes the held response to w.
func (h *heldResponse) send(w http.ResponseWriter) {
	dst := w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	w.WriteHeader(h.status)
	w.Write(h.body.Bytes())
}
