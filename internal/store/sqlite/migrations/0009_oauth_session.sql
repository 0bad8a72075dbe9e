-- The OAuth provider's sessions and revoked access tokens
-- (karte.SessionStore), so that a restart ends neither. data is the
-- karte.Session as JSON; it holds hashes of refresh tokens, never tokens.
-- Times are unix milliseconds, UTC.
CREATE TABLE oauth_session (
	id      TEXT PRIMARY KEY,
	expires INTEGER NOT NULL,
	data    TEXT NOT NULL
);
CREATE TABLE oauth_revoked (
	jti     TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
);
