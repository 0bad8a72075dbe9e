package fhirapi_test

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

// newDatabase creates an empty PostgreSQL database for one test, drops it
// when the test ends, and returns its DSN.
func newDatabase(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("KARTEHUB_TEST_POSTGRES")
	if admin == "" {
		tb.Fatalf("-engine=postgres needs KARTEHUB_TEST_POSTGRES, a DSN allowed to create databases")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("KARTEHUB_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(context.Background())
	var b [8]byte
	rand.Read(b[:])
	name := "kartehub_fhirapi_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
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
	})
	if !strings.Contains(admin, "://") {
		return admin + " dbname=" + name // a later key=value wins
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("KARTEHUB_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
