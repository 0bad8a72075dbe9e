package fhir

// Value is a node of a JSON tree: one of *Object, []Value, string, Number,
// bool, or nil for JSON null.
type Value = any

// Number is a JSON number kept as its literal text, so that FHIR decimals
// keep their precision ("1.50" stays "1.50").
type Number string

// Object is a JSON object whose members keep their document order.
type Object struct {
	Members []Member
}

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value Value
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (Value, bool) {
	for i := range o.Members {
		if o.Members[i].Key == key {
			return o.Members[i].Value, true
		}
	}
	return nil, false
}

// String returns the value of key if it is a string, else "".
func (o *Object) String(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// Object returns the value of key if it is an object, else nil.
func (o *Object) Object(key string) *Object {
	v, _ := o.Get(key)
	obj, _ := v.(*Object)
	return obj
}

// Set replaces the value of key in place, or appends the member if absent.
func (o *Object) Set(key string, v Value) {
	for i := range o.Members {
		if o.Members[i].Key == key {
			o.Members[i].Value = v
			return
		}
	}
	o.Members = append(o.Members, Member{key, v})
}

// SetAfter sets key like Set, but a new member is placed right after the
// member named after (or first if after is absent), so that, for example,
// "id" can follow "resourceType" as FHIR JSON convention has it.
func (o *Object) SetAfter(after, key string, v Value) {
	if _, ok := o.Get(key); ok {
		o.Set(key, v)
		return
	}
	at := 0
	for i := range o.Members {
		if o.Members[i].Key == after {
			at = i + 1
			break
		}
	}
	o.Members = append(o.Members, Member{})
	copy(o.Members[at+1:], o.Members[at:])
	o.Members[at] = Member{key, v}
}

// Delete removes key and reports whether it was present.
func (o *Object) Delete(key string) bool {
	for i := range o.Members {
		if o.Members[i].Key == key {
			o.Members = append(o.Members[:i], o.Members[i+1:]...)
			return true
		}
	}
	return false
}
