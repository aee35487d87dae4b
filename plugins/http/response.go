package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// toResult represents a response as Mistral does.
func toResult(resp *http.Response, body []byte, elapsed time.Duration, history []Redirect) Result {
	res := Result{
		Status:   resp.StatusCode,
		Headers:  joinHeaders(resp.Header),
		URL:      resp.Request.URL.String(),
		History:  history,
		Encoding: encodingOf(resp.Header.Get("Content-Type")),
		Reason:   reason(resp),
		Cookies:  map[string]string{},
		Elapsed:  elapsed.Seconds(),
	}
	if res.History == nil {
		res.History = []Redirect{}
	}
	for _, c := range resp.Cookies() {
		res.Cookies[c.Name] = c.Value
	}
	text := decodeText(body, res.Encoding)
	// As Mistral: the body parsed as JSON when it is JSON, whatever the
	// Content-Type says; else the text.
	if v, ok := parseJSON(text); ok {
		res.Content = v
	} else {
		res.Content = text
	}
	return res
}

func joinHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// reason is the reason phrase the server sent.
func reason(resp *http.Response) string {
	return strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
}

// encodingOf guesses the body's character set from Content-Type as
// Python requests does: the charset parameter; else ISO-8859-1 for text
// types and utf-8 for JSON; else none.
func encodingOf(contentType string) *string {
	if contentType == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(contentType), ";")
	}
	var enc string
	switch cs, ok := params["charset"]; {
	case ok:
		enc = strings.Trim(cs, `'"`)
	case strings.Contains(mt, "text"):
		enc = "ISO-8859-1"
	case strings.Contains(mt, "application/json"):
		enc = "utf-8"
	default:
		return nil
	}
	return &enc
}

// decodeText turns the body into text by its encoding, as Mistral turns a
// body that is not JSON into UTF-8. Encodings other than UTF-8, ASCII and
// Latin-1 are kept as they are.
func decodeText(body []byte, enc *string) string {
	if enc != nil {
		switch strings.ToLower(strings.ReplaceAll(*enc, "_", "-")) {
		case "iso-8859-1", "latin-1", "latin1", "l1", "iso8859-1":
			if hasHighBytes(body) {
				runes := make([]rune, len(body))
				for i, b := range body {
					runes[i] = rune(b)
				}
				return string(runes)
			}
		}
	}
	// Without a declared encoding requests guesses utf-8-sig for a body
	// that starts with a byte order mark, which drops it.
	if enc == nil {
		body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	}
	return string(body)
}

func hasHighBytes(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// parseJSON parses text that is one JSON value, keeping numbers exact.
func parseJSON(text string) (any, bool) {
	if strings.TrimSpace(text) == "" {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data: not one JSON document
	}
	return v, true
}
