package postgres

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

// deleteIndex removes the search index rows of resource $1/$2, from all
// tables in one statement: those of its previous version, which had the
// same rid (after a deletion there are none).
const deleteIndex = `WITH r AS (SELECT rid FROM resource WHERE type = $1 AND id = $2),
s AS (DELETE FROM sp_string WHERE rid = (SELECT rid FROM r)),
t AS (DELETE FROM sp_token WHERE rid = (SELECT rid FROM r)),
f AS (DELETE FROM sp_reference WHERE rid = (SELECT rid FROM r)),
d AS (DELETE FROM sp_date WHERE rid = (SELECT rid FROM r)),
n AS (DELETE FROM sp_number WHERE rid = (SELECT rid FROM r)),
u AS (DELETE FROM sp_uri WHERE rid = (SELECT rid FROM r)),
c AS (DELETE FROM sp_composite WHERE rid = (SELECT rid FROM r))
SELECT count(*) FROM r`

// The insert statements add the index rows of resource $1/$2 to one table,
// one row per element of the arrays that follow, which hold a column each.
// The rid comes from the resource's row, which the same batch has just
// written.
const (
	insertStrings = `INSERT INTO sp_string (rid, pkey, value, exact)
SELECT r.rid, u.pkey, u.value, u.exact
FROM resource r, unnest($3::bigint[], $4::text[], $5::text[]) AS u(pkey, value, exact)
WHERE r.type = $1 AND r.id = $2`

	insertTokens = `INSERT INTO sp_token (rid, pkey, system, code, text)
SELECT r.rid, u.pkey, u.system, u.code, u.text
FROM resource r, unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) AS u(pkey, system, code, text)
WHERE r.type = $1 AND r.id = $2`

	insertReferences = `INSERT INTO sp_reference (rid, pkey, ttype, tid, tkey, url)
SELECT r.rid, u.pkey, u.ttype, u.tid, u.tkey, u.url
FROM resource r, unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[]) AS u(pkey, ttype, tid, tkey, url)
WHERE r.type = $1 AND r.id = $2`

	insertDates = `INSERT INTO sp_date (rid, pkey, lo, hi)
SELECT r.rid, u.pkey, u.lo, u.hi
FROM resource r, unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS u(pkey, lo, hi)
WHERE r.type = $1 AND r.id = $2`

	insertNumbers = `INSERT INTO sp_number (rid, pkey, value, system, code, cvalue, ccode)
SELECT r.rid, u.pkey, u.value, u.system, u.code, u.cvalue, u.ccode
FROM resource r, unnest($3::bigint[], $4::float8[], $5::text[], $6::text[], $7::float8[], $8::text[])
	AS u(pkey, value, system, code, cvalue, ccode)
WHERE r.type = $1 AND r.id = $2`

	insertURIs = `INSERT INTO sp_uri (rid, pkey, uri)
SELECT r.rid, u.pkey, u.uri
FROM resource r, unnest($3::bigint[], $4::text[]) AS u(pkey, uri)
WHERE r.type = $1 AND r.id = $2`

	insertComposites = `INSERT INTO sp_composite (rid, pkey, system1, code1, system2, code2, number2, lo2, hi2, string2, cnumber2, ccode2)
SELECT r.rid, u.pkey, u.system1, u.code1, u.system2, u.code2, u.number2, u.lo2, u.hi2, u.string2, u.cnumber2, u.ccode2
FROM resource r, unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::float8[], $9::bigint[], $10::bigint[], $11::text[], $12::float8[], $13::text[])
	AS u(pkey, system1, code1, system2, code2, number2, lo2, hi2, string2, cnumber2, ccode2)
WHERE r.type = $1 AND r.id = $2`
)

// queueIndex queues the statements that insert the search index rows of
// ix for resource typ/id: one per table that gets rows.
func queueIndex(b *pgx.Batch, typ, id string, ix *karte.Index) {
	pk := func(param string) int64 { return sqlsearch.ParamKey(typ, param) }
	if n := len(ix.Strings); n > 0 {
		pkeys, values, exacts := make([]int64, n), make([]string, n), make([]string, n)
		for i, e := range ix.Strings {
			pkeys[i], values[i], exacts[i] = pk(e.Param), e.Value, e.Exact
		}
		b.Queue(insertStrings, typ, id, pkeys, values, exacts)
	}
	if n := len(ix.Tokens); n > 0 {
		pkeys, systems, codes, texts := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
		for i, e := range ix.Tokens {
			pkeys[i], systems[i], codes[i], texts[i] = pk(e.Param), e.System, e.Code, e.Text
		}
		b.Queue(insertTokens, typ, id, pkeys, systems, codes, texts)
	}
	if n := len(ix.References); n > 0 {
		pkeys, ttypes, tids, tkeys, urls := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([]string, n)
		for i, e := range ix.References {
			pkeys[i], ttypes[i], tids[i], urls[i] = pk(e.Param), e.Type, e.ID, e.URL
			if e.ID != "" {
				tkeys[i] = sqlsearch.ResourceKey(e.Type, e.ID)
			}
		}
		b.Queue(insertReferences, typ, id, pkeys, ttypes, tids, tkeys, urls)
	}
	if n := len(ix.Dates); n > 0 {
		pkeys, los, his := make([]int64, n), make([]int64, n), make([]int64, n)
		for i, e := range ix.Dates {
			pkeys[i], los[i], his[i] = pk(e.Param), e.Lo, e.Hi
		}
		b.Queue(insertDates, typ, id, pkeys, los, his)
	}
	if n := len(ix.Numbers); n > 0 {
		pkeys, values, systems, codes := make([]int64, n), make([]float64, n), make([]string, n), make([]string, n)
		cvalues, ccodes := make([]float64, n), make([]string, n)
		for i, e := range ix.Numbers {
			pkeys[i], values[i], systems[i], codes[i] = pk(e.Param), e.Value, e.System, e.Code
			cvalues[i], ccodes[i] = e.CanonicalValue, e.CanonicalCode
		}
		b.Queue(insertNumbers, typ, id, pkeys, values, systems, codes, cvalues, ccodes)
	}
	if n := len(ix.URIs); n > 0 {
		pkeys, uris := make([]int64, n), make([]string, n)
		for i, e := range ix.URIs {
			pkeys[i], uris[i] = pk(e.Param), e.URI
		}
		b.Queue(insertURIs, typ, id, pkeys, uris)
	}
	if n := len(ix.Composites); n > 0 {
		pkeys := make([]int64, n)
		systems1, codes1, systems2, codes2 := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		numbers2, los2, his2, strings2 := make([]pgtype.Float8, n), make([]pgtype.Int8, n), make([]pgtype.Int8, n), make([]string, n)
		cnumbers2, ccodes2 := make([]pgtype.Float8, n), make([]string, n)
		for i, e := range ix.Composites {
			pkeys[i], strings2[i] = pk(e.Param), e.String2
			systems1[i], codes1[i], systems2[i], codes2[i] = e.System1, e.Code1, e.System2, e.Code2
			// NULL where the second component is not a number or a date,
			// as in SQLite.
			numbers2[i] = pgtype.Float8{Float64: e.Number2, Valid: e.HasNumber2}
			cnumbers2[i], ccodes2[i] = pgtype.Float8{Float64: e.CanonicalNumber2, Valid: e.CanonicalCode2 != ""}, e.CanonicalCode2
			if e.Lo2 != 0 || e.Hi2 != 0 {
				los2[i], his2[i] = pgtype.Int8{Int64: e.Lo2, Valid: true}, pgtype.Int8{Int64: e.Hi2, Valid: true}
			}
		}
		b.Queue(insertComposites, typ, id, pkeys, systems1, codes1, systems2, codes2, numbers2, los2, his2, strings2, cnumbers2, ccodes2)
	}
}
