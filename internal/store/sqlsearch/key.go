package sqlsearch

// ResourceKey is the rkey of a resource: the 64-bit FNV-1a hash of
// "type/id". Engines store it, so it must never change.
func ResourceKey(typ, id string) int64 { return hash64(typ, '/', id) }

// ValueKey is the key of an identifier value of resources of type typ.
func ValueKey(typ, value string) int64 { return hash64(typ, '|', value) }

// ParamKey is the pkey of search parameter code on resources of type typ.
func ParamKey(typ, code string) int64 { return hash64(typ, '.', code) }

// hash64 is FNV-1a (as hash/fnv's New64a) of a, sep and b, without
// allocating: search statements compute many keys.
func hash64(a string, sep byte, b string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ uint64(sep)) * prime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	return int64(h)
}
