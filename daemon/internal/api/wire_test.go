package api

import (
	"encoding/json"
	"testing"
)

// The interface's output names keep the order of the document (the
// engine's compiled spec keeps it; a Go map would not).
func TestWorkflowInterface(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{`{"input":["a",{"b":1}],"output":{"z":1,"a":2,"m":3}}`, `{"input":["a",{"b":1}],"output":["z","a","m"]}`},
		{`{}`, `{"input":[],"output":[]}`},
		{``, `{"input":[],"output":[]}`},
		{`not json`, `{"input":[],"output":[]}`},
		{`{"output":["not","a","map"]}`, `{"input":[],"output":[]}`},
	}
	for _, tc := range tests {
		got, _ := json.Marshal(workflowInterface([]byte(tc.spec)))
		if string(got) != tc.want {
			t.Errorf("workflowInterface(%s) = %s, want %s", tc.spec, got, tc.want)
		}
	}
}

func TestJSONText(t *testing.T) {
	tests := []struct {
		in, def, want string
	}{
		{``, `{}`, `{}`},
		{` {"a": 1,  "b": [1, 2]} `, `{}`, `{"a":1,"b":[1,2]}`},
		{`"x"`, `null`, `"x"`},
		{``, `null`, `null`},
		{`not json`, `{}`, `"not json"`},
	}
	for _, tc := range tests {
		if got := jsonText([]byte(tc.in), tc.def); got != tc.want {
			t.Errorf("jsonText(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
