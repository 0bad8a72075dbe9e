package account

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// PublicKey is one registered public key of a client, with which the
// OAuth provider checks the client's signed assertions (private_key_jwt).
type PublicKey struct {
	KID string // the JWK's kid, or its RFC 7638 thumbprint if it had none
	Alg string // the JWK's alg, "" if it names none
	// Key is an *rsa.PublicKey (2048 bits or more), an *ecdsa.PublicKey
	// (P-256, P-384, P-521) or an ed25519.PublicKey.
	Key crypto.PublicKey
}

// jwk is the JSON form of a public key (RFC 7517, 7518, 8037).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

type jwkSet struct {
	Keys []json.RawMessage `json:"keys"`
}

// maxKeys bounds the keys of one client: enough to rotate.
const maxKeys = 16

// privateMembers are the JWK members of private or symmetric keys.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// algsOf are the JWS algorithms each kind of key signs with.
var algsOf = map[string][]string{
	"RSA":     {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
	"P-256":   {"ES256"},
	"P-384":   {"ES384"},
	"P-521":   {"ES512"},
	"Ed25519": {"EdDSA", "Ed25519"},
}

var b64url = base64.RawURLEncoding

// ParseJWKS reads a JSON Web Key Set of public signing keys, as stored in
// karte.Client.JWKS.
func ParseJWKS(data []byte) ([]PublicKey, error) {
	_, keys, err := readJWKS(data)
	return keys, err
}

// NormalizeKeys reads the public keys a client registers, given as a JSON
// Web Key Set, a single JWK, or PEM (PUBLIC KEY, RSA PUBLIC KEY or
// CERTIFICATE blocks), and returns them as a JWK Set to store, with a kid
// on every key. It refuses private and symmetric keys, RSA keys under 2048
// bits, keys that are not for signing, and an alg that the key cannot
// sign with.
func NormalizeKeys(data []byte) ([]byte, []PublicKey, error) {
	trimmed := bytes.TrimSpace(data)
	var jwks []jwk
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		keys, err := readPEM(trimmed)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range keys {
			j, err := toJWK(k)
			if err != nil {
				return nil, nil, err
			}
			jwks = append(jwks, j)
		}
	case bytes.HasPrefix(trimmed, []byte("{")):
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, nil, fmt.Errorf("keys: not JSON: %w", err)
		}
		if _, ok := probe["keys"]; !ok {
			trimmed = append(append([]byte(`{"keys":[`), trimmed...), "]}"...)
		}
		var err error
		if jwks, _, err = readJWKS(trimmed); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, errors.New("keys: want a JWK Set, a JWK or PEM public keys")
	}
	if len(jwks) == 0 {
		return nil, nil, errors.New("keys: no key found")
	}
	for i := range jwks {
		if jwks[i].Kid == "" {
			jwks[i].Kid = thumbprint(jwks[i])
		}
	}
	out, err := json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{jwks})
	if err != nil {
		return nil, nil, err
	}
	_, keys, err := readJWKS(out)
	return out, keys, err
}

// readJWKS parses and checks a JWK Set.
func readJWKS(data []byte) ([]jwk, []PublicKey, error) {
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, nil, fmt.Errorf("JWK Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, nil, errors.New("JWK Set: no keys")
	}
	if len(set.Keys) > maxKeys {
		return nil, nil, fmt.Errorf("JWK Set: %d keys, at most %d", len(set.Keys), maxKeys)
	}
	var jwks []jwk
	var keys []PublicKey
	for i, raw := range set.Keys {
		j, key, err := readJWK(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("JWK Set: key %d: %w", i+1, err)
		}
		kid := j.Kid
		if kid == "" {
			kid = thumbprint(j)
		}
		for _, k := range keys {
			if k.KID == kid {
				return nil, nil, fmt.Errorf("JWK Set: key %d: kid %q appears twice", i+1, kid)
			}
		}
		jwks = append(jwks, j)
		keys = append(keys, PublicKey{KID: kid, Alg: j.Alg, Key: key})
	}
	return jwks, keys, nil
}

func readJWK(raw json.RawMessage) (jwk, crypto.PublicKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jwk{}, nil, err
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return jwk{}, nil, fmt.Errorf("it has the private member %q: register the public key only", m)
		}
	}
	var j jwk
	if err := json.Unmarshal(raw, &j); err != nil {
		return jwk{}, nil, err
	}
	if j.Use != "" && j.Use != "sig" {
		return jwk{}, nil, fmt.Errorf("use %q: a client's key is for signing (sig)", j.Use)
	}
	key, curve, err := fromJWK(j)
	if err != nil {
		return jwk{}, nil, err
	}
	if j.Alg != "" && !slices.Contains(algsOf[curve], j.Alg) {
		return jwk{}, nil, fmt.Errorf("alg %q does not go with a %s key (%s)", j.Alg, curve, strings.Join(algsOf[curve], ", "))
	}
	return j, key, nil
}

// fromJWK returns the key of j and its family: "RSA" or the curve.
func fromJWK(j jwk) (crypto.PublicKey, string, error) {
	switch j.Kty {
	case "RSA":
		n, err1 := b64url.DecodeString(j.N)
		e, err2 := b64url.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, "", errors.New("RSA key: bad n or e")
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if key.N.BitLen() < 2048 {
			return nil, "", fmt.Errorf("RSA key of %d bits: at least 2048 are needed", key.N.BitLen())
		}
		if key.E < 3 || key.E%2 == 0 {
			return nil, "", fmt.Errorf("RSA key: bad exponent %d", key.E)
		}
		return key, "RSA", nil
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, "", fmt.Errorf("EC key on curve %q: want P-256, P-384 or P-521", j.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64url.DecodeString(j.X)
		y, err2 := b64url.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, "", errors.New("EC key: bad x or y")
		}
		key, err := ecdsa.ParseUncompressedPublicKey(curve, slices.Concat([]byte{4}, x, y))
		if err != nil {
			return nil, "", fmt.Errorf("EC key: %w", err)
		}
		return key, j.Crv, nil
	case "OKP":
		x, err := b64url.DecodeString(j.X)
		if j.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, "", fmt.Errorf("OKP key: want an Ed25519 public key (crv %q)", j.Crv)
		}
		return ed25519.PublicKey(x), "Ed25519", nil
	case "oct":
		return nil, "", errors.New("a symmetric key (oct) is a shared secret: register a public key, or use a client secret")
	}
	return nil, "", fmt.Errorf("key type %q: want RSA, EC or OKP", j.Kty)
}

// toJWK is the JWK of a public key read from PEM.
func toJWK(key crypto.PublicKey) (jwk, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64url.EncodeToString(k.N.Bytes()),
			E: b64url.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return jwk{}, err
		}
		size := (len(b) - 1) / 2
		return jwk{Kty: "EC", Crv: k.Curve.Params().Name,
			X: b64url.EncodeToString(b[1 : 1+size]), Y: b64url.EncodeToString(b[1+size:])}, nil
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64url.EncodeToString(k)}, nil
	}
	return jwk{}, fmt.Errorf("PEM: unsupported public key type %T", key)
}

// readPEM returns the public keys of the PEM blocks in data.
func readPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var key crypto.PublicKey
		var err error
		switch {
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("PEM: a %s: register the public key only (openssl pkey -pubout)", block.Type)
		case block.Type == "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case block.Type == "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case block.Type == "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM: unexpected block %q", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %w", block.Type, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("PEM: no public key found")
	}
	return keys, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a key, base64url: the
// kid of a key registered without one.
func thumbprint(j jwk) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var canon string
	switch j.Kty {
	case "RSA":
		canon = `{"e":` + q(j.E) + `,"kty":"RSA","n":` + q(j.N) + `}`
	case "EC":
		canon = `{"crv":` + q(j.Crv) + `,"kty":"EC","x":` + q(j.X) + `,"y":` + q(j.Y) + `}`
	default:
		canon = `{"crv":` + q(j.Crv) + `,"kty":` + q(j.Kty) + `,"x":` + q(j.X) + `}`
	}
	sum := sha256.Sum256([]byte(canon))
	return b64url.EncodeToString(sum[:])
}
