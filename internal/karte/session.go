package karte

import (
	"context"
	"time"
)

// Session is a person's login through one app, as the OAuth provider keeps
// it across restarts: who, through which client and with what scope, since
// when and last used when, the SHA-256 of its refresh tokens (never the
// tokens themselves), and its break-glass grant.
type Session struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account"`
	Login     string    `json:"login"`
	Name      string    `json:"name,omitempty"`
	Person    string    `json:"person,omitempty"`
	AuthTime  time.Time `json:"authTime"`
	ClientID  string    `json:"client"`
	Scope     string    `json:"scope"`
	Patient   string    `json:"patient,omitempty"`
	Encounter string    `json:"encounter,omitempty"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"lastUsed"`
	// Expires is when the session ends at the latest, however much it is
	// used: the store may forget it from then on.
	Expires time.Time `json:"expires"`
	// Refresh is the hash of the current refresh token (none if empty),
	// OldRefresh those of the tokens it replaced, oldest first: a client
	// that presents one of those again has had its token stolen.
	Refresh    []byte      `json:"refresh,omitempty"`
	OldRefresh [][]byte    `json:"oldRefresh,omitempty"`
	BreakGlass *BreakGlass `json:"breakGlass,omitempty"`
}

// SessionStore keeps the OAuth provider's sessions and the access tokens
// revoked before they expire, so that a restart neither logs everyone out
// nor lets a revoked token work again. It is an optional interface of a
// Store. Implementations are safe for concurrent use.
type SessionStore interface {
	// PutSession stores s, replacing the stored session with its ID.
	PutSession(ctx context.Context, s *Session) error
	// DeleteSession forgets the session with the id; if there is none, it
	// does nothing.
	DeleteSession(ctx context.Context, id string) error
	// Sessions returns the stored sessions that expire after now, ordered
	// by ID, and forgets the others.
	Sessions(ctx context.Context, now time.Time) ([]*Session, error)
	// PutRevoked records that the access token with the jti is revoked; it
	// expires at expires, after which the store may forget it.
	PutRevoked(ctx context.Context, jti string, expires time.Time) error
	// Revoked returns the revoked access tokens that expire after now, by
	// jti, and forgets the others.
	Revoked(ctx context.Context, now time.Time) (map[string]time.Time, error)
}
