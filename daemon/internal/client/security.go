package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Options is how the client reaches a server that asks for more than
// plain HTTP: a bearer token, and the CA of a certificate the system does
// not trust (a private CA, a self-signed certificate).
type Options struct {
	// Token is sent as "Authorization: Bearer TOKEN" on every request.
	Token string
	// CACert is a PEM file of the certificates that may sign the server's;
	// empty means the system's roots.
	CACert string
	// Insecure skips the verification of the server's certificate. Only for
	// a test rig: anyone on the path can then read the token.
	Insecure bool
	// Timeout bounds each request; zero means 30 s.
	Timeout time.Duration
}

// NewWithOptions is New for a server that needs a token or a CA.
func NewWithOptions(baseURL string, o Options) (*Client, error) {
	if o.CACert != "" && o.Insecure {
		return nil, errors.New("--ca-cert and --insecure exclude each other: a CA to check the server with, or no check")
	}
	hc := &http.Client{Timeout: o.Timeout}
	if hc.Timeout == 0 {
		hc.Timeout = 30 * time.Second
	}
	if o.CACert != "" || o.Insecure {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // asked for by --insecure
		if o.CACert != "" {
			pem, err := os.ReadFile(o.CACert)
			if err != nil {
				return nil, fmt.Errorf("--ca-cert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in it", o.CACert)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		hc.Transport = tr
	}
	c, err := New(baseURL, hc)
	if err != nil {
		return nil, err
	}
	c.token = o.Token
	return c, nil
}

// authorize adds the client's token, if it has one, to a request; every
// request the client sends goes through it.
func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}
