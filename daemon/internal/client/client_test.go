package client

import (
	"net/http"
	"testing"
)

// The CLI must show a person the server's explanation: RFC 9457 detail
// from Sirocco, faultstring from a real Mistral, and never a raw dump.
func TestProblem(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"problem+json", 404, `{"title":"Not Found","status":404,"detail":"workflow \"x\": not found"}`, `workflow "x": not found`},
		{"Mistral fault", 400, `{"faultcode":"Client","faultstring":"Invalid input [name=x]","debuginfo":null}`, "Invalid input [name=x]"},
		{"short text", 502, "bad gateway\n", "bad gateway"},
		{"HTML page", 502, "<html><body>proxy error</body></html>", "server answered 502 Bad Gateway"},
		{"empty", 500, "", "server answered 500 Internal Server Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := problem(&http.Response{StatusCode: tc.status}, []byte(tc.body))
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
		})
	}
}
