package oauth

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"kartehub/internal/karte"
)

// keeper writes the provider's sessions and revoked access tokens to a
// karte.SessionStore, so that a restart neither logs everyone out nor lets
// a revoked token work again. The state in memory stays what requests
// read; the store is written after it changes, outside state.mu. A nil
// keeper keeps nothing.
//
// What is written: a session when it opens, when its refresh token turns
// over or it gets a break-glass grant, and when it ends (deleted); its
// idle timer only every keepIdleEvery of use, so a restart may find a
// session that much more idle than it was, never less. A write that fails
// is logged: the session goes on in memory.
type keeper struct {
	store  karte.SessionStore
	log    *slog.Logger
	pruned atomic.Int64 // when expired sessions and revocations were last deleted, Unix nanoseconds
}

// keepIdleEvery is how much use of a session, at most, a restart forgets.
const keepIdleEvery = time.Minute

// pruneEvery is how often, at most, opening a session also deletes the
// stored sessions and revocations past their end, which a server that
// runs for months would otherwise gather (sessions that went idle and
// were never looked up again are not deleted one by one).
const pruneEvery = time.Hour

// put writes s as it is now, unless it has ended; saving s serialises
// the writes of one session, so that an older state never overwrites a
// newer one and an ended session is never written back.
func (k *keeper) put(st *state, s *session) {
	if k == nil {
		return
	}
	s.saving.Lock()
	defer s.saving.Unlock()
	st.mu.RLock()
	live := st.sessions[s.id] == s
	stored := s.stored(st.maxAge)
	st.mu.RUnlock()
	if !live {
		return
	}
	s.saved.Store(stored.LastUsed.UnixNano())
	if err := k.store.PutSession(context.Background(), stored); err != nil {
		k.log.Error("oauth: a session could not be stored; a restart would end it", "err", err)
	}
}

// opened writes the new session s, and prunes the store if it is time.
func (k *keeper) opened(st *state, s *session, now time.Time) {
	if k == nil {
		return
	}
	k.put(st, s)
	last := k.pruned.Load()
	if now.UnixNano()-last < int64(pruneEvery) || !k.pruned.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	ctx := context.Background()
	if _, err := k.store.Sessions(ctx, now); err != nil {
		k.log.Error("oauth: expired sessions could not be deleted", "err", err)
	}
	if _, err := k.store.Revoked(ctx, now); err != nil {
		k.log.Error("oauth: expired revocations could not be deleted", "err", err)
	}
}

// touched writes s if its idle timer has moved keepIdleEvery since it was
// last written.
func (k *keeper) touched(st *state, s *session) {
	if k != nil && s.lastUsed.Load()-s.saved.Load() >= int64(keepIdleEvery) {
		k.put(st, s)
	}
}

// remove deletes the ended session s.
func (k *keeper) remove(s *session) {
	if k == nil || s == nil {
		return
	}
	s.saving.Lock()
	defer s.saving.Unlock()
	if err := k.store.DeleteSession(context.Background(), s.id); err != nil {
		k.log.Error("oauth: an ended session could not be deleted from the store; a restart would bring it back", "err", err)
	}
}

// revoked records the revoked access token jti until exp.
func (k *keeper) revoked(jti string, exp time.Time) {
	if k == nil {
		return
	}
	if err := k.store.PutRevoked(context.Background(), jti, exp); err != nil {
		k.log.Error("oauth: a revoked token could not be stored; a restart would let it work again until it expires", "err", err)
	}
}

// stored is s as the store keeps it; st.mu must be held (for refresh and
// old).
func (s *session) stored(maxAge time.Duration) *karte.Session {
	ks := &karte.Session{
		ID: s.id, AccountID: s.user.accountID, Login: s.user.login, Name: s.user.name, Person: s.user.person,
		AuthTime: s.user.authTime, ClientID: s.clientID, Scope: s.scope, Patient: s.patient, Encounter: s.encounter,
		Created: s.created, LastUsed: time.Unix(0, s.lastUsed.Load()).UTC(), Expires: s.created.Add(maxAge),
		BreakGlass: s.breakGlass.Load(),
	}
	if s.refresh != (hash{}) {
		ks.Refresh = s.refresh[:]
	}
	for _, h := range s.old {
		ks.OldRefresh = append(ks.OldRefresh, h[:])
	}
	return ks
}

// restore fills st with the sessions and revoked tokens of the store that
// are still alive at now, and deletes the sessions that are not.
func (k *keeper) restore(ctx context.Context, st *state, now time.Time) error {
	if k == nil {
		return nil
	}
	stored, err := k.store.Sessions(ctx, now)
	if err != nil {
		return err
	}
	revoked, err := k.store.Revoked(ctx, now)
	if err != nil {
		return err
	}
	k.pruned.Store(now.UnixNano())
	st.mu.Lock()
	defer st.mu.Unlock()
	for jti, exp := range revoked {
		st.revoked[jti] = exp
	}
	for _, ks := range stored {
		s := restoredSession(ks)
		if !s.alive(now, st.idle, st.maxAge) || len(st.sessions) >= maxSessions {
			if err := k.store.DeleteSession(ctx, ks.ID); err != nil {
				return err
			}
			continue
		}
		st.sessions[s.id] = s
		if s.refresh != (hash{}) {
			st.refresh[s.refresh] = s
		}
		for _, h := range s.old {
			st.refresh[h] = s
		}
	}
	return nil
}

// restoredSession is the session that ks keeps.
func restoredSession(ks *karte.Session) *session {
	s := &session{
		id:       ks.ID,
		user:     sessionUser{accountID: ks.AccountID, login: ks.Login, name: ks.Name, person: ks.Person, authTime: ks.AuthTime},
		clientID: ks.ClientID, scope: ks.Scope, patient: ks.Patient, encounter: ks.Encounter, created: ks.Created,
	}
	s.lastUsed.Store(ks.LastUsed.UnixNano())
	s.saved.Store(ks.LastUsed.UnixNano())
	copy(s.refresh[:], ks.Refresh)
	for _, h := range ks.OldRefresh {
		var old hash
		copy(old[:], h)
		s.old = append(s.old, old)
	}
	if ks.BreakGlass != nil {
		s.breakGlass.Store(ks.BreakGlass)
	}
	return s
}
