// Package listen opens kartehub's network listeners with the transport
// security that the MHLW guideline asks for over open networks: TLS 1.2 or
// 1.3 (Go prefers 1.3 whenever the client offers it), only ECDHE key
// exchange with AEAD ciphers under TLS 1.2, and optionally client
// certificates checked against a CA (mutual TLS).
//
// Plain text is allowed only on loopback addresses unless the caller
// explicitly opts in (Config.AllowPlaintext): Open refuses anything else with
// an error that wraps ErrPlaintext.
//
// For a trial without a certificate from a CA, SelfSigned keeps an ECDSA
// P-256 certificate in a directory and reuses it on later starts, so that
// clients can pin its fingerprint (Fingerprint, PublicKeyPin).
//
// With mutual TLS, IdentifyClient puts the verified client certificate into
// each request's context, where ClientCertificate finds it for audit and
// authorisation.
package listen
