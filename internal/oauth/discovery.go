package oauth

import (
	"encoding/json"
	"net/http"
)

// The grant types, client authentication methods and algorithms the
// provider supports, as discovery announces them.
var (
	grantTypes  = []string{"authorization_code", "refresh_token", "client_credentials"}
	authMethods = []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "none"}
	// systemAuthMethods are those of registered systems alone, which the
	// introspection endpoint asks for.
	systemAuthMethods = []string{"private_key_jwt", "client_secret_basic", "client_secret_post"}
	// assertionAlgNames are the algorithms of client assertions; SMART
	// Backend Services requires RS384 and ES384.
	assertionAlgNames = []string{"RS384", "ES384", "RS256", "RS512", "PS256", "PS384", "PS512", "ES256", "ES512", "EdDSA"}
	scopesSupported   = []string{
		"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter", "offline_access", "online_access",
		"patient/*.cruds", "patient/*.rs", "user/*.cruds", "user/*.rs", "system/*.cruds", "system/*.rs",
		"patient/*.read", "user/*.read", "system/*.read",
	}
	// smartCapabilities describe what apps can do: a public app, or a
	// confidential one with its keys (apps keep no client secrets).
	smartCapabilities = []string{
		"launch-standalone", "launch-ehr", "context-ehr-patient", "context-ehr-encounter", "client-public",
		"client-confidential-asymmetric", "context-standalone-patient", "permission-v1", "permission-v2",
		"sso-openid-connect", "permission-offline", "permission-online", "permission-patient", "permission-user",
	}
)

// openidConfiguration serves OpenID Connect Discovery 1.0.
func (p *Provider) openidConfiguration(w http.ResponseWriter, r *http.Request) {
	alg := string(p.keys.alg)
	writeDiscovery(w, map[string]any{
		"issuer":                                           p.issuer,
		"authorization_endpoint":                           p.url.authorize,
		"token_endpoint":                                   p.url.token,
		"jwks_uri":                                         p.url.jwks,
		"revocation_endpoint":                              p.url.revoke,
		"end_session_endpoint":                             p.url.logout,
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            grantTypes,
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{alg},
		"token_endpoint_auth_methods_supported":            authMethods,
		"token_endpoint_auth_signing_alg_values_supported": assertionAlgNames,
		"revocation_endpoint_auth_methods_supported":       authMethods,
		"introspection_endpoint":                           p.url.introspect,
		"introspection_endpoint_auth_methods_supported":    systemAuthMethods,
		"code_challenge_methods_supported":                 []string{"S256"},
		"scopes_supported":                                 scopesSupported,
		"claims_supported":                                 []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "fhirUser", "name"},
		"authorization_response_iss_parameter_supported":   true,
		"ui_locales_supported":                             []string{"ja", "en"},
	})
}

// smartConfiguration serves the SMART App Launch v2 discovery document.
func (p *Provider) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	writeDiscovery(w, map[string]any{
		"issuer":                                p.issuer,
		"jwks_uri":                              p.url.jwks,
		"authorization_endpoint":                p.url.authorize,
		"token_endpoint":                        p.url.token,
		"revocation_endpoint":                   p.url.revoke,
		"introspection_endpoint":                p.url.introspect,
		"token_endpoint_auth_methods_supported": authMethods,
		"token_endpoint_auth_signing_alg_values_supported": assertionAlgNames,
		"grant_types_supported":                            grantTypes,
		"scopes_supported":                                 scopesSupported,
		"response_types_supported":                         []string{"code"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"capabilities":                                     smartCapabilities,
	})
}

// serveJWKS serves the public key that verifies our tokens.
func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(p.keys.jwks)
}

// writeDiscovery writes a discovery document, readable by browser apps of
// any origin.
func writeDiscovery(w http.ResponseWriter, doc map[string]any) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}
