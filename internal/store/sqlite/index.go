package sqlite

import (
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

// indexTables are the search index tables, each with a rid column.
var indexTables = []string{"sp_string", "sp_token", "sp_reference", "sp_date", "sp_number", "sp_uri", "sp_composite"}

// dropIndex removes the search index rows of a resource.
func dropIndex(c *conn, rid int64) error {
	for _, table := range indexTables {
		if err := c.exec(`DELETE FROM `+table+` WHERE rid = ?`, rid); err != nil {
			return err
		}
	}
	return nil
}

// writeIndex inserts the search index rows of a resource of type typ.
func writeIndex(c *conn, rid int64, typ string, ix *karte.Index) error {
	pk := func(param string) int64 { return sqlsearch.ParamKey(typ, param) }
	for _, e := range ix.Strings {
		if err := c.exec(`INSERT INTO sp_string VALUES (?, ?, ?, ?)`, rid, pk(e.Param), e.Value, e.Exact); err != nil {
			return err
		}
	}
	for _, e := range ix.Tokens {
		if err := c.exec(`INSERT INTO sp_token VALUES (?, ?, ?, ?, ?)`, rid, pk(e.Param), e.System, e.Code, e.Text); err != nil {
			return err
		}
	}
	for _, e := range ix.References {
		tkey := int64(0)
		if e.ID != "" {
			tkey = sqlsearch.ResourceKey(e.Type, e.ID)
		}
		if err := c.exec(`INSERT INTO sp_reference VALUES (?, ?, ?, ?, ?, ?)`, rid, pk(e.Param), e.Type, e.ID, tkey, e.URL); err != nil {
			return err
		}
	}
	for _, e := range ix.Dates {
		if err := c.exec(`INSERT INTO sp_date VALUES (?, ?, ?, ?)`, rid, pk(e.Param), e.Lo, e.Hi); err != nil {
			return err
		}
	}
	for _, e := range ix.Numbers {
		if err := c.exec(`INSERT INTO sp_number VALUES (?, ?, ?, ?, ?, ?, ?)`, rid, pk(e.Param), e.Value,
			e.System, e.Code, e.CanonicalValue, e.CanonicalCode); err != nil {
			return err
		}
	}
	for _, e := range ix.URIs {
		if err := c.exec(`INSERT INTO sp_uri VALUES (?, ?, ?)`, rid, pk(e.Param), e.URI); err != nil {
			return err
		}
	}
	for _, e := range ix.Composites {
		var num2, lo2, hi2 any
		if e.HasNumber2 {
			num2 = e.Number2
		}
		if e.Lo2 != 0 || e.Hi2 != 0 {
			lo2, hi2 = e.Lo2, e.Hi2
		}
		if err := c.exec(`INSERT INTO sp_composite VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rid, pk(e.Param),
			e.System1, e.Code1, e.System2, e.Code2, num2, lo2, hi2, e.String2); err != nil {
			return err
		}
	}
	return nil
}
