package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

// Bounds of the in-memory state. Logins in progress can be started by
// anyone, so they are few and short-lived; sessions need a full login.
const (
	maxRequests    = 10_000
	maxCodes       = 10_000
	maxSessions    = 100_000
	maxRevoked     = 100_000
	maxLaunches    = 10_000
	maxOldRefresh  = 32               // superseded refresh tokens remembered per session, for reuse detection
	requestTTL     = 15 * time.Minute // time enough to install an authenticator app
	codeTTL        = 60 * time.Second
	launchTTL      = 5 * time.Minute // from the EHR's launch to the app's authorization request
	maxFormPosts   = 10              // posts of one login in progress
	randomTokenLen = 32              // bytes: 256 bits
)

// hash is the SHA-256 of a code or refresh token: only hashes are kept, so
// that a memory dump does not give out usable secrets.
type hash [sha256.Size]byte

func hashOf(s string) hash { return sha256.Sum256([]byte(s)) }

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, randomTokenLen)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// state is the provider's memory: logins in progress, codes, sessions with
// their refresh tokens, and revoked access tokens. A restart forgets it,
// but for the sessions and revoked tokens that keep writes to a store.
type state struct {
	idle, maxAge time.Duration // of sessions
	keep         *keeper       // nil: nothing outlives a restart

	mu       sync.RWMutex
	requests map[string]*authRequest
	codes    map[hash]*codeGrant
	sessions map[string]*session
	refresh  map[hash]*session // current and superseded refresh tokens
	revoked  map[string]time.Time
	launches map[hash]*launchContext
}

func newState(idle, maxAge time.Duration) *state {
	return &state{
		idle:     idle,
		maxAge:   maxAge,
		requests: make(map[string]*authRequest),
		codes:    make(map[hash]*codeGrant),
		sessions: make(map[string]*session),
		refresh:  make(map[hash]*session),
		revoked:  make(map[string]time.Time),
		launches: make(map[hash]*launchContext),
	}
}

// authRequest is a login in progress: an authorization request that has
// been checked, waiting for the person's credentials.
type authRequest struct {
	id      string
	csrf    string // in the form
	browser hash   // of the browser's login cookie
	expires time.Time

	app         *app
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scope       []karte.Scope  // requested and allowed for the app
	launch      *launchContext // of an EHR launch; nil for a standalone one

	// mu serialises the posts of one login, and guards what follows.
	mu       sync.Mutex
	step     string         // stepLogin, stepPassword or stepTOTP
	login    *account.Login // a restricted login, during stepPassword and stepTOTP
	enrol    *account.Enrolment
	posts    int
	lastName string // the login name typed, to fill in again
}

// codeGrant is an authorization code, valid once for codeTTL.
type codeGrant struct {
	expires     time.Time
	clientID    string
	redirectURI string
	challenge   string
	user        sessionUser
	scope       string
	patient     string
	encounter   string
	nonce       string
	used        bool
	sid         string // the session its exchange opened
}

// sessionUser is who a session belongs to.
type sessionUser struct {
	accountID, login, name, person string
	authTime                       time.Time
}

// session is a person's login through one app: the tokens issued from one
// authorization code, its refresh tokens, and a break-glass grant.
type session struct {
	id        string
	user      sessionUser
	clientID  string
	scope     string
	patient   string
	encounter string
	created   time.Time
	lastUsed  atomic.Int64 // Unix nanoseconds

	// refresh and old are guarded by state.mu.
	refresh hash // the current refresh token; zero if none
	old     []hash

	breakGlass atomic.Pointer[karte.BreakGlass]

	saving sync.Mutex   // serialises the writes of the session to the store
	saved  atomic.Int64 // lastUsed as last written to the store
}

// alive reports whether s has been used within idle and is younger than
// maxAge.
func (s *session) alive(now time.Time, idle, maxAge time.Duration) bool {
	return now.Before(s.created.Add(maxAge)) && now.Before(time.Unix(0, s.lastUsed.Load()).Add(idle))
}

// touch restarts the idle timer, at most once a second, so that the hot
// path seldom writes to a shared cache line.
func (s *session) touch(now time.Time) {
	n := now.UnixNano()
	if n-s.lastUsed.Load() > int64(time.Second) {
		s.lastUsed.Store(n)
	}
}

// addRequest stores a new login in progress, or reports false if too many
// are in progress.
func (st *state) addRequest(r *authRequest, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !roomIn(st.requests, maxRequests, func(q *authRequest) bool { return !now.Before(q.expires) }) {
		return false
	}
	st.requests[r.id] = r
	return true
}

// request returns the login in progress with the id, or nil.
func (st *state) request(id string, now time.Time) *authRequest {
	st.mu.RLock()
	r := st.requests[id]
	st.mu.RUnlock()
	if r == nil || !now.Before(r.expires) {
		return nil
	}
	return r
}

func (st *state) dropRequest(id string) {
	st.mu.Lock()
	delete(st.requests, id)
	st.mu.Unlock()
}

// addCode stores a code, or reports false if too many are pending.
func (st *state) addCode(h hash, g *codeGrant, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !roomIn(st.codes, maxCodes, func(c *codeGrant) bool { return !now.Before(c.expires) }) {
		return false
	}
	st.codes[h] = g
	return true
}

func (st *state) dropCode(h hash) {
	st.mu.Lock()
	delete(st.codes, h)
	st.mu.Unlock()
}

// code returns a copy of the unexpired code grant with hash h, or nil.
func (st *state) code(h hash, now time.Time) *codeGrant {
	st.mu.RLock()
	defer st.mu.RUnlock()
	g := st.codes[h]
	if g == nil || !now.Before(g.expires) {
		return nil
	}
	c := *g
	return &c
}

// Outcomes of redeem.
type redeemResult int

const (
	redeemed       redeemResult = iota
	redeemUnknown               // expired meanwhile
	redeemReplayed              // used before
	redeemFull                  // too many sessions
)

// redeem uses up the code with hash h and opens its session s, atomically.
// A code used before ends the session its first use opened.
func (st *state) redeem(h hash, s *session, now time.Time) redeemResult {
	res, ended := st.redeemLocked(h, s, now)
	if res == redeemed {
		st.keep.opened(st, s, now)
	}
	st.keep.remove(ended)
	return res
}

// redeemLocked is redeem, with the session a replayed code ended.
func (st *state) redeemLocked(h hash, s *session, now time.Time) (redeemResult, *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	g := st.codes[h]
	switch {
	case g == nil || !now.Before(g.expires):
		return redeemUnknown, nil
	case g.used:
		return redeemReplayed, st.endLocked(g.sid)
	}
	if !st.roomForSession(now) {
		return redeemFull, nil
	}
	g.used, g.sid = true, s.id
	st.sessions[s.id] = s
	if s.refresh != (hash{}) {
		st.refresh[s.refresh] = s
	}
	return redeemed, nil
}

// replayCode ends the session opened by the used code with hash h, and
// returns its id ("" if none).
func (st *state) replayCode(h hash) string {
	st.mu.Lock()
	g := st.codes[h]
	if g == nil {
		st.mu.Unlock()
		return ""
	}
	sid := g.sid
	ended := st.endLocked(sid)
	st.mu.Unlock()
	st.keep.remove(ended)
	return sid
}

// roomForSession makes room for a session if the table is full of dead
// ones; st.mu must be held.
func (st *state) roomForSession(now time.Time) bool {
	if len(st.sessions) < maxSessions {
		return true
	}
	for _, s := range st.sessions {
		if !s.alive(now, st.idle, st.maxAge) {
			st.endLocked(s.id)
		}
	}
	return len(st.sessions) < maxSessions
}

// session returns the live session with the id, or nil; an idle or
// expired one is ended. It restarts the idle timer.
func (st *state) session(id string, now time.Time) *session {
	st.mu.RLock()
	s := st.sessions[id]
	st.mu.RUnlock()
	if s == nil {
		return nil
	}
	if !s.alive(now, st.idle, st.maxAge) {
		st.end(id)
		return nil
	}
	s.touch(now)
	st.keep.touched(st, s)
	return s
}

// refreshSession returns the session of a refresh token, whether the token
// is the current one, or nil.
func (st *state) refreshSession(h hash) (*session, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	s := st.refresh[h]
	if s == nil {
		return nil, false
	}
	return s, s.refresh == h
}

// rotate replaces the current refresh token h of s by next. It reports
// false if h is no longer current (another use got there first) or the
// session has ended.
func (st *state) rotate(s *session, h, next hash) bool {
	st.mu.Lock()
	if st.sessions[s.id] != s || s.refresh != h {
		st.mu.Unlock()
		return false
	}
	s.old = append(s.old, h)
	if len(s.old) > maxOldRefresh {
		delete(st.refresh, s.old[0])
		s.old = s.old[1:]
	}
	s.refresh = next
	st.refresh[next] = s
	st.mu.Unlock()
	st.keep.put(st, s)
	return true
}

// grantBreakGlass gives session s the break-glass grant g.
func (st *state) grantBreakGlass(s *session, g *karte.BreakGlass) {
	s.breakGlass.Store(g)
	st.keep.put(st, s)
}

// end ends a session: its refresh tokens and access tokens stop working.
// It returns the session ended, or nil if there was none.
func (st *state) end(id string) *session {
	st.mu.Lock()
	s := st.endLocked(id)
	st.mu.Unlock()
	st.keep.remove(s)
	return s
}

func (st *state) endLocked(id string) *session {
	s := st.sessions[id]
	if s == nil {
		return nil
	}
	delete(st.sessions, id)
	delete(st.refresh, s.refresh)
	for _, h := range s.old {
		delete(st.refresh, h)
	}
	return s
}

// revoke records a revoked access token until it expires. It reports false
// if the table is full of unexpired revocations.
func (st *state) revoke(jti string, exp, now time.Time) bool {
	if !st.revokeLocked(jti, exp, now) {
		return false
	}
	st.keep.revoked(jti, exp)
	return true
}

func (st *state) revokeLocked(jti string, exp, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !roomIn(st.revoked, maxRevoked, func(t time.Time) bool { return now.After(t) }) {
		return false
	}
	st.revoked[jti] = exp
	return true
}

// isRevoked reports whether the access token jti has been revoked.
func (st *state) isRevoked(jti string) bool {
	st.mu.RLock()
	_, ok := st.revoked[jti]
	st.mu.RUnlock()
	return ok
}

// launchContext is what an EHR launch gives the app it launches: the
// patient open in the EHR, and who launched it.
type launchContext struct {
	patient   string // a Patient id
	encounter string // an Encounter id, or ""
	by        string // the launching principal, for the audit trail
	expires   time.Time
}

// addLaunch stores a launch context under the hash of its launch
// parameter, or reports false if too many are waiting.
func (st *state) addLaunch(h hash, l *launchContext, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !roomIn(st.launches, maxLaunches, func(l *launchContext) bool { return !now.Before(l.expires) }) {
		return false
	}
	st.launches[h] = l
	return true
}

// takeLaunch uses up the unexpired launch context with hash h: a launch
// parameter opens one authorization request. It returns nil if there is
// none.
func (st *state) takeLaunch(h hash, now time.Time) *launchContext {
	st.mu.Lock()
	defer st.mu.Unlock()
	l := st.launches[h]
	delete(st.launches, h)
	if l == nil || !now.Before(l.expires) {
		return nil
	}
	return l
}

// roomIn makes room for one more entry in m, which holds at most max, by
// deleting the expired ones if it is full, and reports whether there is
// room; st.mu must be held.
func roomIn[K comparable, V any](m map[K]V, max int, expired func(V) bool) bool {
	if len(m) < max {
		return true
	}
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	return len(m) < max
}
