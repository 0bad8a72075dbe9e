// Package oauth is kartehub's built-in OAuth 2.0 authorization server and
// OpenID Connect provider, with SMART App Launch v2 (standalone and EHR
// launch, public and confidential apps with PKCE) and SMART Backend Services (client_credentials
// with a client secret or private_key_jwt). People log in on its own HTML
// pages with the accounts of package account (password and TOTP); every
// login, failed login, token issue, logout and break-glass grant goes to
// the audit trail through a Recorder.
//
// We wrote our own provider rather than use a library's (zitadel/oidc's
// op package, for one) because SMART scopes, facility roles, the account
// service and the MHLW session rules would have had to be wrapped behind
// its storage interface anyway; go-jose does the JOSE.
//
// # Endpoints
//
// See Provider.Register. Discovery is at Issuer+"/.well-known/openid-configuration"
// and at <FHIR base>/.well-known/smart-configuration; the rest lives under
// Issuer+"/oauth/": authorize, token, revoke, logout, jwks, break-glass.
//
// # People: authorization code with PKCE
//
// Apps are configured (Config.Apps, read from an apps file by ReadApps),
// not registered in the database: karte.Client is for systems and has no
// redirect URIs. An app is its client_id, exact redirect URIs and the
// scopes it may ask for; a public client, or a confidential one that
// signs each token request with its key (App.JWKS, private_key_jwt). The built-in console (ConsoleClientID) is always there. PKCE with
// S256 is required (plain is refused), the redirect URI must be one of the
// app's exactly, and errors go to it only once the client_id and redirect
// URI are known to be right (otherwise a page says what is wrong).
//
// The login page asks for the login name, the password and the TOTP code.
// It is bound to the authorization request (a CSRF token) and to the
// browser (a cookie), sent with a Content-Security-Policy that allows no
// script, X-Frame-Options DENY and Cache-Control no-store. A login that
// must first change its one-time password or enrol an authenticator is
// taken through those pages (the enrolment page shows the secret and a QR
// code) and then back to the login page: as package account asks, such a
// login opens no session, and the person logs in again with the new
// password and a fresh code.
//
// A person is granted the scopes asked for that the app may have. In an
// EHR launch, the EHR first posts the patient open in it to the launch
// endpoint with its own token, and opens the app with the launch
// parameter it gets; the app asks for the scope launch, and its tokens
// carry that patient. launch is granted only so; launch/encounter never
// (there is no encounter context). In a standalone launch with
// launch/patient, the login page has a patient id field; if it is left
// empty, launch/patient and the patient/ scopes are not granted (and if
// that leaves nothing, the page asks for a patient). The patient id is
// not checked against the record, at launch or at login: package authz
// still applies the person's facilities on every access.
//
// The code is 256 random bits, good once for 60 seconds, bound to the
// client, the redirect URI, the code challenge, the scopes and the
// account. Using it twice ends the session its first use opened. Its
// exchange gives an access token, an ID token if openid was granted
// (aud the client_id, with sid and fhirUser), the patient in context, and
// a refresh token if offline_access or online_access was granted.
//
// # Sessions
//
// Each exchange of a code opens a session. A refresh token is rotated at
// every use; a superseded one coming back ends the session (someone
// copied it). A session ends after Config.SessionIdle without use (access
// tokens and refresh tokens both count as use: the MHLW idle timeout),
// after Config.SessionMax in any case, at logout, when its refresh token
// is revoked, and as soon as its account is disabled, expires, is locked
// or has its password reset. offline_access is granted, but its refresh
// token obeys the same limits: there is no access beyond the session.
//
// # Systems: client_credentials
//
// Registered systems (kartehub admin client add) authenticate with their
// secret (client_secret_basic or client_secret_post) or with a JWT signed
// by one of their registered keys (private_key_jwt: RS256/384/512,
// PS256/384/512, ES256/384/512 or EdDSA, matching the key; never none or
// HMAC). An assertion's iss and sub must be the client_id, its aud the
// token endpoint, its exp at most 5 minutes ahead, and its jti is never
// accepted twice. They must ask for system/ scopes; their roles and
// facilities still limit them.
//
// # Tokens and Verify
//
// Access tokens are JWTs (typ at+jwt, RFC 9068) signed with the provider's
// key (ES256 from LoadKey, or EdDSA), with iss, sub (account or client
// id), aud (the FHIR base), exp, iat, jti, client_id, scope, sid (people)
// and kh_kind (user or client). Verify trusts only our key and algorithm
// and takes roles and facilities from the account or client record, not
// from the token, so that disabling an account takes effect within
// Config.AccountCacheTTL. Verified tokens are cached until they expire.
//
// # Break-glass
//
// A person may ask for emergency access with their access token (POST
// /oauth/break-glass, a reason, 1 to 240 minutes). The grant is recorded
// (a Rest "operation" event flagged as break-glass, with the reason)
// before it takes effect; Verify then attaches it to the principal for
// every token of the session, until it expires or the session ends.
//
// # Audit
//
// People appear in audit events by their account id (system
// AccountSystem), or by the login name typed (LoginSystem) when no
// account has it; systems and apps by their client_id. The address is
// the TCP peer's, not a forwarded header.
//
// # Known limits
//
// Sessions, with their refresh tokens and break-glass grants, and revoked
// access tokens live in memory, bounded, and in Config.Sessions if set,
// so that a restart keeps them (see keeper). Logins in progress, codes
// and the jti cache live in memory only. Since a restart
// forgets which assertion jtis were used, an assertion that may have been
// used before the start (its iat, or exp minus 5 minutes if it has no iat,
// is before the start) is refused. Several servers behind one address
// would need shared state; run one. There is one signing key and no
// rotation but replacing the key file (which ends every session). ID
// tokens are signed ES256 or EdDSA, not RS256. There is no dynamic client
// registration, encounter context, consent memory, or confidential app.
package oauth
