package mistralclient

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMistralClientToken runs the real client against a server that
// requires tokens. python-mistralclient sends --os-auth-token only through
// Keystone, so it is pointed at the server's Keystone stand-in with
// --os-auth-url http://HOST:PORT/v3: the documented way to use it.
func TestMistralClientToken(t *testing.T) {
	if _, err := exec.LookPath("mistral"); err != nil {
		t.Skip("python-mistralclient not installed (Debian: python3-mistralclient); .ci/run installs it")
	}
	const (
		full = "mc-full-0123456789abcdef"
		read = "mc-read-0123456789abcdef"
	)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(full+":full\n"+read+":read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, "--auth-token-file", tokens)
	c := newClient(t, s)
	with := func(token string, args ...string) []string {
		return append([]string{"--os-auth-url", s.url + "/v3", "--os-auth-token", token}, args...)
	}

	// The `mistral` script itself, once, so the test covers what a user runs.
	sameColumns(t, c.exec(t, with(full, "workflow-create", "hello.yaml")...).ok(t), "workflow-create.txt")

	tests := []struct {
		name string
		args []string
		fail string // a failing command's message; "" when it must succeed
	}{
		{"a read-only token lists", with(read, "workflow-list"), ""},
		{"a read-only token reads", with(read, "workflow-get", "mc_hello"), ""},
		{"a read-only token cannot start an execution", with(read, "execution-create", "mc_hello"), "read-only"},
		{"a full token starts one", with(full, "execution-create", "mc_hello", `{"name": "token"}`), ""},
		{"an unknown token is refused by the Keystone stand-in", with("nope-0123456789abcdef", "workflow-list"), "the token is not valid"},
		{"no token at all", []string{"workflow-list"}, "requires a token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(t, tc.args...)
			if tc.fail == "" {
				r.ok(t)
				return
			}
			if r.code == 0 || !strings.Contains(r.both, tc.fail) {
				t.Fatalf("mistral %s: exit %d, want a failure mentioning %q\n%s", strings.Join(r.args, " "), r.code, tc.fail, r.both)
			}
		})
	}
}
