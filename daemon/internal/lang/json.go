package lang

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// The engine stores a compiled Workflow as JSON and reads it back. Plain
// encoding/json would turn every number held in an `any` field (a
// default, a policy value, a published literal) into float64, so that a
// retry count of 3 came back as 3.0. Workflow and Task therefore decode
// numbers as json.Number and turn them back into int64 or float64, the
// types ParseWorkflows produces.

// UnmarshalJSON decodes a Workflow, keeping integers as int64.
func (w *Workflow) UnmarshalJSON(b []byte) error {
	type plain Workflow
	if err := decodeNumbers(b, (*plain)(w)); err != nil {
		return err
	}
	normalizeStruct(reflect.ValueOf(w).Elem())
	return nil
}

// UnmarshalJSON decodes a Task, keeping integers as int64.
func (t *Task) UnmarshalJSON(b []byte) error {
	type plain Task
	if err := decodeNumbers(b, (*plain)(t)); err != nil {
		return err
	}
	normalizeStruct(reflect.ValueOf(t).Elem())
	return nil
}

func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// normalizeStruct applies normalizeJSON to every interface value reachable
// from v (struct fields, slices, maps, pointers).
func normalizeStruct(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normalizeStruct(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				normalizeStruct(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes (Workflow.Source) hold no interface values
		}
		for i := 0; i < v.Len(); i++ {
			normalizeStruct(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.Interface {
			for _, k := range v.MapKeys() {
				e := v.MapIndex(k)
				if !e.IsNil() {
					v.SetMapIndex(k, reflect.ValueOf(normalizeJSON(e.Interface())))
				}
			}
		}
	case reflect.Interface:
		if !v.IsNil() && v.CanSet() {
			v.Set(reflect.ValueOf(normalizeJSON(v.Interface())))
		}
	}
}
