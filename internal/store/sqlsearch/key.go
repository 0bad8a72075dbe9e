package sqlsearch

import "hash/fnv"

// ResourceKey is the rkey of a resource: the 64-bit FNV-1a hash of
// "type/id". Engines store it, so it must never change.
func ResourceKey(typ, id string) int64 { return hash64(typ, '/', id) }

// ValueKey is the key of an identifier value of resources of type typ.
func ValueKey(typ, value string) int64 { return hash64(typ, '|', value) }

// ParamKey is the pkey of search parameter code on resources of type typ.
func ParamKey(typ, code string) int64 { return hash64(typ, '.', code) }

func hash64(a string, sep byte, b string) int64 {
	h := fnv.New64a()
	h.Write([]byte(a))
	h.Write([]byte{sep})
	h.Write([]byte(b))
	return int64(h.Sum64())
}
