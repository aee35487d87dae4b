package executor

import (
	"context"
	"encoding/json"
	"testing"
)

// The built-in actions give back numbers with the digits they were given:
// integers beyond float64's 53 bits stay exact, as in Mistral's Python.
func TestBuiltinsKeepNumbers(t *testing.T) {
	tests := []struct {
		name   string
		action string
		input  string
		want   string // the output as JSON, or the error data
	}{
		{name: "big integer", action: "std.echo", input: `{"output": 9007199254740993}`, want: `9007199254740993`},
		{name: "beyond int64", action: "std.echo", input: `{"output": 123456789012345678901234567890}`, want: `123456789012345678901234567890`},
		{name: "nested and negative", action: "std.echo", input: `{"output": {"a": [-9223372036854775807, 0.1, 1.5e-7]}}`, want: `{"a":[-9223372036854775807,0.1,1.5e-7]}`},
		{name: "null output", action: "std.echo", input: `{"output": null}`, want: `null`},
		{name: "no input", action: "std.noop", input: ``, want: `null`},
		{name: "error data", action: "std.fail", input: `{"error_data": {"code": 9007199254740993}}`, want: `{"code":9007199254740993}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := builtinInput(json.RawMessage(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			out, aerr := builtins[tt.action](context.Background(), in)
			var got []byte
			if aerr != nil {
				got = aerr.Data
			} else if got, err = json.Marshal(out); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("%s(%s) = %s, want %s", tt.action, tt.input, got, tt.want)
			}
		})
	}
	if _, err := builtinInput(json.RawMessage(`[1]`)); err == nil {
		t.Fatal("an array was taken for an input object")
	}
	secs, err := number(mustInput(t, `{"seconds": 2.5}`)["seconds"])
	if err != nil || secs != 2.5 {
		t.Fatalf("std.sleep's seconds from json.Number = %v, %v", secs, err)
	}
}

func mustInput(t *testing.T, s string) map[string]any {
	t.Helper()
	in, err := builtinInput(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return in
}
