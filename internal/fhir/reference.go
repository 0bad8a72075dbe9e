package fhir

// WalkReferences calls fn for every Reference.reference string in v, with
// the object holding it and the member's index, so that callers can read
// or rewrite it in place (obj.Members[i].Value = ...).
func WalkReferences(v Value, fn func(obj *Object, i int, ref string)) {
	switch v := v.(type) {
	case *Object:
		for i, m := range v.Members {
			if s, ok := m.Value.(string); ok && m.Key == "reference" {
				fn(v, i, s)
				continue
			}
			WalkReferences(m.Value, fn)
		}
	case []Value:
		for _, e := range v {
			WalkReferences(e, fn)
		}
	}
}
