package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

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
		return createKey(dir, path)
	}
	return key, err
}

func readKey(path string) (crypto.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("oauth key %s has mode %#o: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("oauth key %s: not a PEM PRIVATE KEY (PKCS #8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("oauth key %s: %w", path, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("oauth key %s: a %T cannot sign", path, k)
	}
	if _, err := algorithmOf(signer); err != nil {
		return nil, fmt.Errorf("oauth key %s: %w", path, err)
	}
	return signer, nil
}

// createKey makes a key and links it into place, so that a crash never
// leaves half a key file and two servers starting at once agree on one key
// (the loser reads the winner's), as the audit key does.
func createKey(dir, path string) (crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	tmp, err := writeTemp(dir, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		return nil, fmt.Errorf("oauth key: %w", err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return readKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("oauth key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, nil
}

// writeTemp writes data to a new file in dir, mode 0600, synced, and
// returns its name.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".oauth-key-*") // created 0600
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
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
