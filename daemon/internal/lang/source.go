package lang

import (
	"bytes"
	"encoding/json"
	"math"
)

// Mistral's task() and execution() return a task's or workflow's "spec":
// the mapping as the author wrote it, in document order (PyYAML builds
// dicts in that order and Mistral stores them as they are), with the keys
// its spec classes write into it while loading. A workflow gets 'name' (its
// key in the document) and 'version', each of its tasks 'type' (the
// workflow's type), 'name' and 'version' (WorkflowSpec and BaseSpecList).
// A key that is already there keeps its place and takes the new value, as
// in a Python dict.

// sourceKey is one key Mistral adds to a mapping, with its value.
type sourceKey struct {
	key string
	val any
}

// workflowSource is the JSON of a workflow's mapping as Mistral keeps it
// (see above); name is the workflow's key in its document.
func workflowSource(name, wfType string, n *node) json.RawMessage {
	var b bytes.Buffer
	writeSource(&b, n, func(key string, val *node, b *bytes.Buffer) bool {
		if key != "tasks" || val.kind != kindMap {
			return false
		}
		// Every task gets its type, name and version.
		b.WriteByte('{')
		for i, k := range val.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k.keyStr())
			b.WriteByte(':')
			t := val.vals[i]
			if t.kind != kindMap {
				writeSource(b, t, nil)
				continue
			}
			writeMapping(b, t, nil, []sourceKey{{"type", wfType}, {"name", k.keyStr()}, {"version", "2.0"}})
		}
		b.WriteByte('}')
		return true
	}, sourceKey{"name", name}, sourceKey{"version", "2.0"})
	return b.Bytes()
}

// valueWriter writes the value of key in its own way and reports true, or
// reports false to have it written as it is.
type valueWriter func(key string, val *node, b *bytes.Buffer) bool

// writeSource writes n as JSON; a mapping's keys keep their order, and
// added keys (only at this level) come after them.
func writeSource(b *bytes.Buffer, n *node, custom valueWriter, added ...sourceKey) {
	switch n.kind {
	case kindMap:
		writeMapping(b, n, custom, added)
	case kindSeq:
		b.WriteByte('[')
		for i, it := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeSource(b, it, nil)
		}
		b.WriteByte(']')
	default:
		writeScalar(b, n.val)
	}
}

func writeMapping(b *bytes.Buffer, n *node, custom valueWriter, added []sourceKey) {
	b.WriteByte('{')
	written := 0
	sep := func() {
		if written > 0 {
			b.WriteByte(',')
		}
		written++
	}
	for i, k := range n.keys {
		key := k.keyStr()
		sep()
		writeJSONString(b, key)
		b.WriteByte(':')
		if v, ok := addedValue(added, key); ok {
			writeScalar(b, v)
			continue
		}
		if custom == nil || !custom(key, n.vals[i], b) {
			writeSource(b, n.vals[i], nil)
		}
	}
	for _, a := range added {
		if n.getKey(a.key) != nil {
			continue
		}
		sep()
		writeJSONString(b, a.key)
		b.WriteByte(':')
		writeScalar(b, a.val)
	}
	b.WriteByte('}')
}

func addedValue(added []sourceKey, key string) (any, bool) {
	for _, a := range added {
		if a.key == key {
			return a.val, true
		}
	}
	return nil, false
}

// writeScalar writes a resolved scalar. A float keeps a fraction (Python's
// json.dumps writes 2.0, which reads back as a float); one JSON cannot hold
// is written as null.
func writeScalar(b *bytes.Buffer, v any) {
	if f, ok := v.(float64); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null")
			return
		}
		b.WriteString(pyFloatRepr(f))
		return
	}
	enc, err := json.Marshal(v)
	if err != nil {
		b.WriteString("null")
		return
	}
	b.Write(enc)
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}
