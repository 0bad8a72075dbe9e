package listen

import (
	"context"
	"crypto/x509"
	"net/http"
)

type clientCertKey struct{}

// ContextWithClientCertificate returns a copy of ctx that carries the
// verified client certificate c.
func ContextWithClientCertificate(ctx context.Context, c *x509.Certificate) context.Context {
	return context.WithValue(ctx, clientCertKey{}, c)
}

// ClientCertificate returns the verified client certificate that the
// request of ctx came with (under mutual TLS), or nil. Its Subject names the
// client, and Fingerprint(c) identifies the certificate itself.
func ClientCertificate(ctx context.Context) *x509.Certificate {
	c, _ := ctx.Value(clientCertKey{}).(*x509.Certificate)
	return c
}

// IdentifyClient wraps h so that requests over a connection with a verified
// client certificate carry it in their context (see ClientCertificate).
// Only a certificate that the TLS handshake verified against the client
// CAs is taken, never one merely presented.
func IdentifyClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
			r = r.WithContext(ContextWithClientCertificate(r.Context(), r.TLS.VerifiedChains[0][0]))
		}
		h.ServeHTTP(w, r)
	})
}
