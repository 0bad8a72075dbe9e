// Package account manages the accounts of people and the registrations of
// API clients, as the MHLW "Guideline for the security management of
// medical information systems" 6.0 asks: one account per person, passwords
// of at least 13 mixed characters (8 with a second factor), stored only as
// argon2id hashes, lock-out after repeated failures, and two-factor
// authentication with TOTP, required by default.
//
// Service holds the rules over a karte.AccountStore (an optional interface
// of both storage engines). It has no HTTP of its own: the OAuth provider
// calls Authenticate for a person's login (then SetPassword, BeginTOTP and
// ConfirmTOTP when the Login is Restricted), AuthenticateClient for a
// client secret and ClientKeys for private_key_jwt; "kartehub admin"
// manages accounts and clients from the command line, and the server calls
// EnsureAdmin on a new database.
//
// Secrets: passwords, one-time passwords and client secrets are kept only
// as argon2id hashes (PHC strings, see Hash and DefaultHashParams), and are
// returned to the caller once, when made. TOTP secrets must be read back
// to check codes, so they are kept encrypted with AES-256-GCM under the
// account key (KeyFile in the data directory, see LoadKey), bound to their
// account. Nothing in this package logs; karte.Account and karte.Client
// print and log without their hashes, and the accounts and clients this
// package returns have them removed.
//
// Failures: every failed authentication returns the same message
// (ErrLoginFailed or ErrClientFailed) and lasts at least
// Config.FailureFloor, whether the login name is unknown or the password
// wrong. The reason is in the *AuthError inside, for the audit trail.
package account
