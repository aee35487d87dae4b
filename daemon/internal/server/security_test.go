package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir, as an operator's `openssl req -x509` would.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sirocco test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

const (
	testFullToken = "full-0123456789abcdef"
	testReadToken = "read-0123456789abcdef"
)

// TestTLSWithTokens runs a server with a self-signed certificate and
// tokens, and uses it through the CLI's client as a user would: trusting
// the certificate with --ca-cert, sending a token.
func TestTLSWithTokens(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	tokens := &api.Tokens{}
	if err := tokens.Add("test", testFullToken+":full "+testReadToken+":read"); err != nil {
		t.Fatal(err)
	}
	d := start(t, Config{DataDir: dir, Security: Security{TLSCert: certFile, TLSKey: keyFile, Tokens: tokens}})
	base := "https://" + strings.TrimPrefix(d.url, "http://")
	ctx := context.Background()

	newClient := func(o client.Options) *client.Client {
		c, err := client.NewWithOptions(base, o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	full := newClient(client.Options{Token: testFullToken, CACert: certFile})
	if _, err := full.CreateWorkflows(ctx, []byte("version: '2.0'\nhi:\n  tasks:\n    t:\n      action: std.echo output=\"hi\"\n")); err != nil {
		t.Fatalf("create with a full token over TLS: %v", err)
	}
	ex, err := full.StartExecution(ctx, client.StartRequest{WorkflowName: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if ex, err = full.WaitExecution(wctx, ex.ID, 100*time.Millisecond); err != nil || ex.State != "SUCCESS" {
		t.Fatalf("execution over TLS: %v %s %v", err, ex.State, deref(ex.StateInfo))
	}

	tests := []struct {
		name   string
		opts   client.Options
		write  bool
		status int    // of the server; 0 when the request must not reach it
		errSub string // of a client-side failure
	}{
		{name: "read token reads", opts: client.Options{Token: testReadToken, CACert: certFile}},
		{name: "read token cannot start", opts: client.Options{Token: testReadToken, CACert: certFile}, write: true, status: 403},
		{name: "no token", opts: client.Options{CACert: certFile}, status: 401},
		{name: "unknown token", opts: client.Options{Token: "nope-0123456789abcdef", CACert: certFile}, status: 401},
		{name: "insecure skips the check", opts: client.Options{Token: testReadToken, Insecure: true}},
		{name: "the system roots do not trust a self-signed certificate", opts: client.Options{Token: testReadToken}, errSub: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(tc.opts)
			var err error
			if tc.write {
				_, err = c.StartExecution(ctx, client.StartRequest{WorkflowName: "hi"})
			} else {
				_, err = c.GetWorkflow(ctx, "hi")
			}
			var ce *client.Error
			switch {
			case tc.errSub != "":
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("error = %v, want one about the %s", err, tc.errSub)
				}
			case tc.status == 0:
				if err != nil {
					t.Fatal(err)
				}
			case !errors.As(err, &ce) || ce.Status != tc.status:
				t.Fatalf("error = %v, want the server's %d", err, tc.status)
			}
		})
	}

	t.Run("probes are open and plain HTTP is not served", func(t *testing.T) {
		pem, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
			resp, err := hc.Get(base + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s without a token: %d", p, resp.StatusCode)
			}
		}
		resp, err := http.Get(d.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("plain HTTP to the TLS port answered %d", resp.StatusCode)
			}
		}
	})
}

// TestLoopbackByDefault: with no flags the daemon's API and its embedded
// NATS server listen on 127.0.0.1 only, so a laptop's daemon is not open
// to its network; and a server started that way answers only there.
func TestLoopbackByDefault(t *testing.T) {
	cmd := Command("test")
	for _, name := range []string{"listen", "nats-listen"} {
		def := cmd.Flags().Lookup(name).DefValue
		host, _, err := net.SplitHostPort(def)
		if err != nil {
			t.Fatalf("--%s default %q: %v", name, def, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("--%s defaults to %q, want a loopback address", name, def)
		}
	}
	for _, name := range []string{"tls-cert", "tls-key", "auth-token-file"} {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Fatalf("no --%s flag", name)
		}
		if !strings.Contains(f.Usage, "SIROCCO_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))) {
			t.Errorf("--%s does not name its environment variable: %s", name, f.Usage)
		}
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# ops\n"+testFullToken+":full\n")
	tests := []struct {
		name, file, env string
		setEnv          bool
		want            int
		err             string
	}{
		{name: "nothing: open", want: 0},
		{name: "file", file: good, want: 1},
		{name: "environment", env: testReadToken + ":read", setEnv: true, want: 1},
		{name: "both add up", file: good, env: testReadToken + ":read", setEnv: true, want: 2},
		{name: "missing file", file: filepath.Join(dir, "nope"), err: "--auth-token-file"},
		{name: "file of comments only", file: write("empty", "# none yet\n"), err: "holds no token"},
		{name: "bad line names the file and line", file: write("bad", testFullToken+":full\nshort:read\n"), err: "bad: line 2"},
		{name: "bad environment names the variable", env: "x", setEnv: true, err: TokensEnv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setEnv {
				t.Setenv(TokensEnv, tc.env)
			} else {
				t.Setenv(TokensEnv, "")
				os.Unsetenv(TokensEnv)
			}
			s := Security{AuthTokenFile: tc.file}
			err := s.LoadTokens()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Tokens.Len() != tc.want {
				t.Errorf("%d tokens, want %d", s.Tokens.Len(), tc.want)
			}
		})
	}
}

// A certificate without its key, or a pair that does not load, stops the
// server at start with the flags named.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	tests := []struct {
		name string
		sec  Security
		err  string
	}{
		{"cert without key", Security{TLSCert: certFile}, "--tls-cert and --tls-key go together"},
		{"key is the cert", Security{TLSCert: certFile, TLSKey: certFile}, "--tls-key " + certFile},
		{"missing file", Security{TLSCert: certFile, TLSKey: keyFile + ".gone"}, "TLS:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, _, err := tc.sec.listen("127.0.0.1:0", hclog.NewNullLogger())
			if err == nil {
				ln.Close()
				t.Fatal("listen succeeded")
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
