-- Accounts of people and registrations of API clients (karte.AccountStore).
-- Policy, hashing and sealing are package account's: these tables keep what
-- they are given. Times are unix milliseconds, UTC, NULL for none. version
-- is the revision that optimistic updates check.
CREATE TABLE account (
	id                   TEXT    PRIMARY KEY,
	login                TEXT    NOT NULL UNIQUE,
	name                 TEXT    NOT NULL,
	person               TEXT    NOT NULL,
	roles                TEXT    NOT NULL, -- JSON array of strings
	facilities           TEXT    NOT NULL, -- JSON array of Organization ids
	password_hash        TEXT    NOT NULL, -- argon2id, PHC string
	totp_secret          TEXT    NOT NULL, -- sealed with the account key
	totp_enabled         INTEGER NOT NULL,
	totp_last_step       INTEGER NOT NULL,
	must_change_password INTEGER NOT NULL,
	failed_logins        INTEGER NOT NULL,
	locked_until         INTEGER,
	last_login           INTEGER,
	disabled             INTEGER NOT NULL,
	expires_at           INTEGER,
	created              INTEGER NOT NULL,
	updated              INTEGER NOT NULL,
	version              INTEGER NOT NULL
);

CREATE TABLE api_client (
	id          TEXT    PRIMARY KEY,
	name        TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	roles       TEXT    NOT NULL, -- JSON array of strings
	facilities  TEXT    NOT NULL, -- JSON array of Organization ids
	secret_hash TEXT    NOT NULL, -- argon2id, PHC string; empty with jwks
	jwks        BLOB,             -- public JSON Web Key Set, for private_key_jwt
	disabled    INTEGER NOT NULL,
	expires_at  INTEGER,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	version     INTEGER NOT NULL
);
CREATE INDEX api_client_name ON api_client (name, id);
