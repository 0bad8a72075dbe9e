package search

// ucum is the code system of UCUM units.
const ucum = "http://unitsofmeasure.org"

// unit is a UCUM unit's canonical form: the base unit it converts to and
// the factor that converts a value into it.
type unit struct {
	base   string
	factor float64
}

// units are the UCUM units of clinical practice that kartehub compares
// across: a value in mg/dL and one in g/L match the same criterion. Units
// not listed compare only with themselves.
var units = map[string]unit{
	"kg": {"g", 1e3}, "g": {"g", 1}, "mg": {"g", 1e-3}, "ug": {"g", 1e-6}, "ng": {"g", 1e-9}, "pg": {"g", 1e-12},
	"L": {"L", 1}, "dL": {"L", 1e-1}, "mL": {"L", 1e-3}, "uL": {"L", 1e-6},
	"g/L": {"g/L", 1}, "g/dL": {"g/L", 10}, "mg/dL": {"g/L", 1e-2}, "mg/L": {"g/L", 1e-3},
	"ug/mL": {"g/L", 1e-3}, "ug/L": {"g/L", 1e-6}, "ng/mL": {"g/L", 1e-6}, "ng/L": {"g/L", 1e-9},
	"pg/mL": {"g/L", 1e-9}, "pg/L": {"g/L", 1e-12},
	"mol/L": {"mol/L", 1}, "mmol/L": {"mol/L", 1e-3}, "umol/L": {"mol/L", 1e-6},
	"nmol/L": {"mol/L", 1e-9}, "pmol/L": {"mol/L", 1e-12},
	"s": {"s", 1}, "ms": {"s", 1e-3}, "min": {"s", 60}, "h": {"s", 3600}, "d": {"s", 86400},
	"wk": {"s", 604800}, "mo": {"s", 2629800}, "a": {"s", 31557600},
	"m": {"m", 1}, "cm": {"m", 1e-2}, "mm": {"m", 1e-3},
}

// canonicalUnit returns the base unit of a UCUM code and the factor into it.
func canonicalUnit(code string) (string, float64, bool) {
	u, ok := units[code]
	return u.base, u.factor, ok
}
