package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// readArg reads a flag's value: the text itself, or a file's content with
// @FILE (@- for stdin).
func readArg(flag, v string, stdin io.Reader) ([]byte, error) {
	if !strings.HasPrefix(v, "@") {
		return []byte(v), nil
	}
	var data []byte
	var err error
	if v == "@-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(v[1:])
	}
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return data, nil
}

// readObject reads a JSON object given on the command line, or from a file
// with @FILE (or @- for stdin), for --input and --params. It keeps numbers
// as written so large integers survive.
func readObject(flag, v string, stdin io.Reader) (map[string]any, error) {
	if v == "" {
		return nil, nil
	}
	data, err := readArg(flag, v, stdin)
	if err != nil {
		return nil, err
	}
	parsed, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("--%s: not a JSON object: %w", flag, err)
	}
	m, ok := parsed.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("--%s: not a JSON object: got %s", flag, kind(parsed))
	}
	return m, nil
}

// readValue reads a JSON value given on the command line or with @FILE;
// text that is not JSON is the string itself, so `--output done` works.
func readValue(flag, v string, stdin io.Reader) (any, error) {
	if v == "" {
		return nil, nil
	}
	data, err := readArg(flag, v, stdin)
	if err != nil {
		return nil, err
	}
	out, err := decodeJSON(data)
	if err != nil {
		return strings.TrimRight(string(data), "\n"), nil
	}
	return out, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as written
// so large integers survive.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the value")
	}
	return v, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a mapping"
	default:
		return "a number"
	}
}
