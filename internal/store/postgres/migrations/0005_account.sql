-- Accounts of people and registrations of API clients (karte.AccountStore),
-- as in SQLite. Policy, hashing and sealing are package account's: these
-- tables keep what they are given. Times are unix milliseconds, UTC, NULL
-- for none. version is the revision that optimistic updates check.
CREATE TABLE account (
    id                   TEXT     PRIMARY KEY,
    login                TEXT     NOT NULL,
    name                 TEXT     NOT NULL,
    person               TEXT     NOT NULL,
    roles                TEXT[]   NOT NULL,
    facilities           TEXT[]   NOT NULL, -- Organization ids
    password_hash        TEXT     NOT NULL, -- argon2id, PHC string
    totp_secret          TEXT     NOT NULL, -- sealed with the account key
    totp_enabled         BOOLEAN  NOT NULL,
    totp_last_step       BIGINT   NOT NULL,
    must_change_password BOOLEAN  NOT NULL,
    failed_logins        INT      NOT NULL,
    locked_until         BIGINT,
    last_login           BIGINT,
    disabled             BOOLEAN  NOT NULL,
    expires_at           BIGINT,
    created              BIGINT   NOT NULL,
    updated              BIGINT   NOT NULL,
    version              BIGINT   NOT NULL,
    CONSTRAINT account_login_key UNIQUE (login)
);

CREATE TABLE api_client (
    id          TEXT     PRIMARY KEY,
    name        TEXT     NOT NULL,
    kind        TEXT     NOT NULL,
    roles       TEXT[]   NOT NULL,
    facilities  TEXT[]   NOT NULL, -- Organization ids
    secret_hash TEXT     NOT NULL, -- argon2id, PHC string; empty with jwks
    jwks        BYTEA,             -- public JSON Web Key Set, for private_key_jwt
    disabled    BOOLEAN  NOT NULL,
    expires_at  BIGINT,
    created     BIGINT   NOT NULL,
    updated     BIGINT   NOT NULL,
    version     BIGINT   NOT NULL
);
CREATE INDEX api_client_name ON api_client (name, id);
