package api

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
)

// Scope is what a bearer token allows.
type Scope int

const (
	// ScopeRead allows GET and HEAD only: dashboards, monitoring scripts
	// and people who look but must not start or stop anything.
	ScopeRead Scope = iota + 1
	// ScopeFull allows every request.
	ScopeFull
)

func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeFull:
		return "full"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// MinTokenLength is the shortest token accepted: a token is the only
// secret between the network and the API, so it must not be guessable.
const MinTokenLength = 16

// Tokens is the set of bearer tokens a server accepts, each with its
// scope. A nil or empty *Tokens leaves the API open, which is the
// embedded default (it listens on 127.0.0.1 only).
//
// Tokens are kept as SHA-256 digests and looked up by digest, so the time
// a lookup takes says nothing about how much of a guess was right, and a
// memory dump does not show the tokens themselves.
type Tokens struct {
	byDigest map[[sha256.Size]byte]Scope
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byDigest)
}

// Scope returns the scope of token, and false when the token is unknown.
func (t *Tokens) Scope(token string) (Scope, bool) {
	if t == nil || token == "" {
		return 0, false
	}
	s, ok := t.byDigest[sha256.Sum256([]byte(token))]
	return s, ok
}

// Add parses entries and adds them to t. An entry is "TOKEN:SCOPE" with
// SCOPE read or full; entries are separated by newlines, commas or spaces,
// and a line starting with # is a comment. source names where the text
// came from (a file name, an environment variable), so an error points
// the operator at the right line of the right place. A token listed twice
// with different scopes is an error, not a silent choice.
func (t *Tokens) Add(source, text string) error {
	if t.byDigest == nil {
		t.byDigest = map[[sha256.Size]byte]Scope{}
	}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, entry := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			if err := t.addEntry(entry); err != nil {
				return fmt.Errorf("%s: line %d: %w", source, i+1, err)
			}
		}
	}
	return nil
}

func (t *Tokens) addEntry(entry string) error {
	cut := strings.LastIndexByte(entry, ':')
	if cut < 0 {
		return fmt.Errorf("entry %s has no scope: write TOKEN:read or TOKEN:full", redact(entry))
	}
	token, scopeName := entry[:cut], entry[cut+1:]
	var scope Scope
	switch scopeName {
	case "read":
		scope = ScopeRead
	case "full":
		scope = ScopeFull
	default:
		return fmt.Errorf("token %s: unknown scope %q (want read or full)", redact(token), scopeName)
	}
	if len(token) < MinTokenLength {
		return fmt.Errorf("token %s is %d characters long; use at least %d random ones (e.g. openssl rand -hex 32)",
			redact(token), len(token), MinTokenLength)
	}
	if err := wellFormed(token); err != nil {
		return err
	}
	d := sha256.Sum256([]byte(token))
	if old, ok := t.byDigest[d]; ok && old != scope {
		return fmt.Errorf("token %s is listed twice, as %s and as %s", redact(token), old, scope)
	}
	t.byDigest[d] = scope
	return nil
}

// maxTokenLength bounds a token; longer ones are surely not a token.
const maxTokenLength = 4096

// wellFormed checks that token can travel in an HTTP header as a bearer
// token. A token that cannot is refused before it is used anywhere, so it
// is never echoed into a header (the Keystone stand-in's X-Subject-Token).
func wellFormed(token string) error {
	if len(token) > maxTokenLength {
		return fmt.Errorf("token %s is longer than %d characters", redact(token), maxTokenLength)
	}
	for _, r := range token {
		if !isToken68(r) {
			return fmt.Errorf("token %s contains %q; a bearer token may hold letters, digits and - . _ ~ + / =", redact(token), r)
		}
	}
	return nil
}

// isToken68 is RFC 6750's b64token alphabet, the characters a bearer
// token may contain in an Authorization header.
func isToken68(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/=", r)
}

// redact shows enough of a token for an operator to find it in a file,
// and not enough to use it.
func redact(token string) string {
	if len(token) <= 4 {
		return `"…"`
	}
	return fmt.Sprintf("%q", token[:4]+"…")
}

// openPaths answer without a token. The probes (/healthz, /readyz) and the
// metrics are read by load balancers, orchestrators and Prometheus, which
// carry no credentials, and tell nothing about workflows or their data;
// the OpenAPI document, its schemas and /docs describe the API, not
// anything stored in it, and a person needs them to learn how to
// authenticate. /v3 is the Keystone stand-in through which
// python-mistralclient exchanges its --os-auth-token: it checks the token
// itself.
func openPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/docs",
		"/openapi.json", "/openapi.yaml", "/openapi-3.0.json", "/openapi-3.0.yaml",
		keystonePath, keystonePath + "/", keystoneTokensPath:
		return true
	}
	return strings.HasPrefix(path, "/schemas/")
}

// authRealm names the protected space in WWW-Authenticate challenges.
const authRealm = "sirocco"

// requestToken reads the token of a request: "Authorization: Bearer T" (RFC
// 6750), or "X-Auth-Token: T", the header python-mistralclient and other
// OpenStack clients send.
func requestToken(r *http.Request) (token string, given bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", true
		}
		return strings.TrimSpace(tok), true
	}
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		return strings.TrimSpace(tok), true
	}
	return "", false
}

// authenticate lets a request through when it needs no token or carries a
// token whose scope allows its method. Otherwise it answers 401 (no token,
// or one the server does not know) or 403 (a read-only token on a write),
// with an RFC 6750 challenge and a problem+json body that says what to do.
func authenticate(tokens *Tokens, next http.Handler) http.Handler {
	if tokens.Len() == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		token, given := requestToken(r)
		if !given {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q", authRealm))
			writeProblem(w, http.StatusUnauthorized,
				"this server requires a token: send \"Authorization: Bearer TOKEN\" (or X-Auth-Token: TOKEN)")
			return
		}
		scope, ok := tokens.Scope(token)
		if !ok {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\"", authRealm))
			writeProblem(w, http.StatusUnauthorized,
				"the token is not valid on this server (an Authorization header must read \"Bearer TOKEN\")")
			return
		}
		if scope == ScopeRead && r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=\"insufficient_scope\", scope=\"full\"", authRealm))
			writeProblem(w, http.StatusForbidden,
				fmt.Sprintf("the token is read-only: it allows GET and HEAD, not %s; use a token with scope full", r.Method))
			return
		}
		next.ServeHTTP(w, r)
	})
}
