package sqlite

import (
	"strings"

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

// rowsPerInsert bounds a multi-row INSERT: one statement per table and
// resource saves most of the per-statement cost, and a bound keeps the
// number of distinct prepared statements small.
const rowsPerInsert = 32

// inserter collects the rows of one index table and inserts them with
// multi-row statements.
type inserter struct {
	c     *conn
	table string
	cols  int
	args  []any
}

func (in *inserter) add(row ...any) error {
	in.args = append(in.args, row...)
	if len(in.args) == rowsPerInsert*in.cols {
		return in.flush()
	}
	return nil
}

func (in *inserter) flush() error {
	rows := len(in.args) / in.cols
	if rows == 0 {
		return nil
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", in.cols), ", ") + ")"
	q := "INSERT OR IGNORE INTO " + in.table + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
	err := in.c.exec(q, in.args...)
	in.args = in.args[:0]
	return err
}

// writeIndex inserts the search index rows of a resource of type typ.
func writeIndex(c *conn, rid int64, typ string, ix *karte.Index) error {
	pk := func(param string) int64 { return sqlsearch.ParamKey(typ, param) }
	var ins []*inserter
	table := func(name string, cols int) *inserter {
		in := &inserter{c: c, table: name, cols: cols}
		ins = append(ins, in)
		return in
	}
	strs, toks, refs := table("sp_string", 4), table("sp_token", 5), table("sp_reference", 6)
	dates, nums, uris, comps := table("sp_date", 4), table("sp_number", 7), table("sp_uri", 3), table("sp_composite", 12)
	var err error
	add := func(in *inserter, row ...any) {
		if err == nil {
			err = in.add(row...)
		}
	}
	for _, e := range ix.Strings {
		add(strs, rid, pk(e.Param), e.Value, e.Exact)
	}
	for _, e := range ix.Tokens {
		add(toks, rid, pk(e.Param), e.System, e.Code, e.Text)
	}
	for _, e := range ix.References {
		tkey := int64(0)
		if e.ID != "" {
			tkey = sqlsearch.ResourceKey(e.Type, e.ID)
		}
		add(refs, rid, pk(e.Param), e.Type, e.ID, tkey, e.URL)
	}
	for _, e := range ix.Dates {
		add(dates, rid, pk(e.Param), e.Lo, e.Hi)
	}
	for _, e := range ix.Numbers {
		add(nums, rid, pk(e.Param), e.Value, e.System, e.Code, e.CanonicalValue, e.CanonicalCode)
	}
	for _, e := range ix.URIs {
		add(uris, rid, pk(e.Param), e.URI)
	}
	for _, e := range ix.Composites {
		var num2, cnum2, lo2, hi2 any
		if e.HasNumber2 {
			num2 = e.Number2
		}
		if e.CanonicalCode2 != "" {
			cnum2 = e.CanonicalNumber2
		}
		if e.Lo2 != 0 || e.Hi2 != 0 {
			lo2, hi2 = e.Lo2, e.Hi2
		}
		add(comps, rid, pk(e.Param), e.System1, e.Code1, e.System2, e.Code2, num2, lo2, hi2, e.String2, cnum2, e.CanonicalCode2)
	}
	for _, in := range ins {
		if err != nil {
			return err
		}
		err = in.flush()
	}
	return err
}
