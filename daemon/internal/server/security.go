package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/envflag"
)

// TokensEnv holds bearer tokens given in the environment ("TOKEN:full,
// TOKEN:read"), for containers whose secrets arrive as variables. It is
// not a flag, since a command line is visible to every user of the host.
const TokensEnv = "SIROCCO_AUTH_TOKENS"

// Security is how the API protects itself: TLS when a certificate is
// given, bearer tokens when any are configured. The zero value is plain
// HTTP with no tokens, the embedded default that listens on 127.0.0.1.
type Security struct {
	TLSCert, TLSKey string // PEM files; both or neither
	// AuthTokenFile holds "TOKEN:SCOPE" lines (scope read or full).
	AuthTokenFile string
	// Tokens is what the API accepts; LoadTokens fills it from
	// AuthTokenFile and TokensEnv, tests set it directly.
	Tokens *api.Tokens
}

func addSecurityFlags(f *pflag.FlagSet, s *Security) {
	f.StringVar(&s.TLSCert, "tls-cert", "", "PEM certificate (chain) of the HTTP API; with --tls-key the API serves HTTPS only")
	f.StringVar(&s.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&s.AuthTokenFile, "auth-token-file", "", "file of bearer tokens, one TOKEN:read or TOKEN:full a line; "+
		"with tokens every API request but /healthz, /readyz, /metrics and the docs needs one "+
		"(env "+envflag.Name("auth-token-file")+"; tokens may also come in "+TokensEnv+")")
}

// LoadTokens reads the token file and TokensEnv into s.Tokens. Tokens
// from both places are accepted together.
func (s *Security) LoadTokens() error {
	tokens := &api.Tokens{}
	if s.AuthTokenFile != "" {
		b, err := os.ReadFile(s.AuthTokenFile)
		if err != nil {
			return fmt.Errorf("--auth-token-file: %w", err)
		}
		if err := tokens.Add("--auth-token-file "+s.AuthTokenFile, string(b)); err != nil {
			return err
		}
		if tokens.Len() == 0 {
			return fmt.Errorf("--auth-token-file %s holds no token: an empty file would leave the API open", s.AuthTokenFile)
		}
	}
	if v, ok := os.LookupEnv(TokensEnv); ok {
		if err := tokens.Add(TokensEnv, v); err != nil {
			return err
		}
	}
	s.Tokens = tokens
	return nil
}

// listen opens the API's listener, with TLS when a certificate is
// configured, and returns the scheme clients use.
func (s *Security) listen(addr string, log hclog.Logger) (net.Listener, string, error) {
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return nil, "", errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	var cfg *tls.Config
	if s.TLSCert != "" {
		certs, err := newCertReloader(s.TLSCert, s.TLSKey, log)
		if err != nil {
			return nil, "", err
		}
		cfg = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get, NextProtos: []string{"h2", "http/1.1"}}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen %s: %w", addr, err)
	}
	if s.Tokens.Len() == 0 && !loopback(ln.Addr()) {
		log.Warn("the API listens beyond this host without tokens: anyone who reaches it can run workflows; "+
			"give --auth-token-file or "+TokensEnv, "address", ln.Addr().String())
	}
	if cfg == nil {
		return ln, "http", nil
	}
	return tls.NewListener(ln, cfg), "https", nil
}

func loopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// certReloader serves the certificate in its files and reads them again
// when they change, so a renewed certificate (cert-manager, certbot) is
// picked up without a restart. A renewal that cannot be read (a key
// written after its certificate, say) keeps the previous certificate, and
// is logged.
type certReloader struct {
	certFile, keyFile string
	log               hclog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
}

func newCertReloader(certFile, keyFile string, log hclog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if _, err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// load reads the pair when either file is newer than what was read.
func (r *certReloader) load() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var newest time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return r.cert, fmt.Errorf("TLS: %w", err)
		}
		if st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	if r.cert != nil && !newest.After(r.modTime) {
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return r.cert, fmt.Errorf("TLS: --tls-cert %s and --tls-key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.modTime = &cert, newest
	return r.cert, nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := r.load()
	if err != nil && cert != nil {
		r.log.Warn("keeping the previous TLS certificate", "error", err)
	}
	if cert == nil {
		return nil, err
	}
	return cert, nil
}
