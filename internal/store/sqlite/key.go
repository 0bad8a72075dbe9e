package sqlite

import "hash/fnv"

// resourceKey is the rkey of a resource: the 64-bit FNV-1a hash of
// "type/id". It is stored, so it must never change.
func resourceKey(typ, id string) int64 { return hash64(typ, '/', id) }

// valueKey is the vkey of an identifier value of resources of type typ.
func valueKey(typ, value string) int64 { return hash64(typ, '|', value) }

func hash64(a string, sep byte, b string) int64 {
	h := fnv.New64a()
	h.Write([]byte(a))
	h.Write([]byte{sep})
	h.Write([]byte(b))
	return int64(h.Sum64())
}
