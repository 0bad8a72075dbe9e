package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"kartehub/internal/keyfile"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyFile is the name of the token signing key in the data directory: a
// PKCS #8 PEM private key readable by its owner only (0600). Losing it
// only ends the sessions (a new key is made and everyone logs in again);
// anyone who copies it can mint tokens, so keep it out of backups that
// others may read.
const KeyFile = "oauth-signing.key"

// LoadKey returns the token signing key kept in the data directory dir,
// creating it on first use: an ECDSA P-256 key (ES256, which SMART apps'
// JWT libraries widely support). It also accepts an Ed25519 key put there
// by the operator. It refuses a key file that others may read.
func LoadKey(dir string) (crypto.Signer, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	return key, err
}

func readKey(path string) (crypto.Signer, error) {
	return signingKey(keyfile.PrivateKey(path))
}

// createKey makes a key and stores it; if another server made one first,
// it returns that one.
func createKey(path string) (crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return signingKey(keyfile.CreatePrivateKey(path, key))
}

func signingKey(k crypto.PrivateKey, err error) (crypto.Signer, error) {
	if err != nil {
		return nil, fmt.Errorf("oauth key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("oauth key: a %T cannot sign", k)
	}
	if _, err := algorithmOf(signer); err != nil {
		return nil, fmt.Errorf("oauth key: %w", err)
	}
	return signer, nil
}

// algorithmOf returns the JWS algorithm a signing key signs with.
func algorithmOf(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("an ECDSA key on %s: want P-256 (ES256)", k.Curve.Params().Name)
		}
		return jose.ES256, nil
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("a %T: want an ECDSA P-256 or an Ed25519 private key", key)
}

// signingKeys holds the key that signs tokens and what verifies them.
type signingKeys struct {
	alg  jose.SignatureAlgorithm
	kid  string // RFC 7638 thumbprint
	pub  crypto.PublicKey
	jwks []byte // the JWK Set served at /oauth/jwks

	access jose.Signer // typ at+jwt (RFC 9068)
	id     jose.Signer // typ JWT
}

func newSigningKeys(key crypto.Signer) (*signingKeys, error) {
	if key == nil {
		return nil, errors.New("oauth: Config.Key is required (see LoadKey)")
	}
	alg, err := algorithmOf(key)
	if err != nil {
		return nil, fmt.Errorf("oauth: Config.Key: %w", err)
	}
	pub := jose.JSONWebKey{Key: key.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("oauth: Config.Key: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, err
	}
	sk := &signingKeys{alg: alg, kid: pub.KeyID, pub: key.Public(), jwks: jwks}
	signing := jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: pub.KeyID}}
	if sk.access, err = jose.NewSigner(signing, (&jose.SignerOptions{}).WithType("at+jwt")); err != nil {
		return nil, err
	}
	if sk.id, err = jose.NewSigner(signing, (&jose.SignerOptions{}).WithType("JWT")); err != nil {
		return nil, err
	}
	return sk, nil
}
