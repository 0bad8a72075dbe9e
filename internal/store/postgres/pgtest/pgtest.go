// Package pgtest gives tests a PostgreSQL database of their own.
//
// The server is named by KARTEHUB_TEST_POSTGRES (default: the local server,
// user postgres, trust authentication). When it cannot be reached the test is
// skipped with a message, unless KARTEHUB_REQUIRE_POSTGRES=1 (as in CI), where
// it fails instead, so that a missing server can never pass unnoticed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the server used unless KARTEHUB_TEST_POSTGRES names another.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN returns the DSN of the server that tests create databases on.
func AdminDSN() string {
	if dsn := os.Getenv("KARTEHUB_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// NewDatabase creates an empty database for one test, drops it when the
// test ends, and returns its DSN.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	conn, err := pgx.Connect(ctx, admin)
	cancel()
	if err != nil {
		if os.Getenv("KARTEHUB_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL not reachable at %s and KARTEHUB_REQUIRE_POSTGRES=1: %v", admin, err)
		}
		tb.Skipf("PostgreSQL not reachable at %s: set KARTEHUB_TEST_POSTGRES (%v)", admin, err)
	}
	defer conn.Close(context.Background())
	var b [8]byte
	rand.Read(b[:])
	name := "kartehub_test_" + hex.EncodeToString(b[:])
	// No deadline: on a busy machine CREATE DATABASE can take seconds.
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() { drop(tb, admin, name) })
	return withDatabase(tb, admin, name)
}

func drop(tb testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Errorf("drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		tb.Errorf("drop database %s: %v", name, err)
	}
}

// withDatabase returns dsn naming database name instead of its own, for
// both forms of DSN.
func withDatabase(tb testing.TB, dsn, name string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " dbname=" + name // a later key=value wins
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("KARTEHUB_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
