package cloud

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
	lru "github.com/hashicorp/golang-lru/v2"
)

// maxConns bounds the authenticated connections kept: one per distinct
// set of credentials, so runs that each bring their own do not grow the
// plugin without end.
const maxConns = 64

// Pool keeps one authenticated connection per set of credentials.
type Pool struct {
	env Env

	mu    sync.Mutex
	conns *lru.Cache[string, *pending]
}

// pending is a connection being made or made; runs that need the same one
// wait for the first instead of authenticating again.
type pending struct {
	done chan struct{}
	conn *Conn
	err  error
}

// NewPool makes a pool that reads the executor host's settings with env.
func NewPool(env Env) *Pool {
	c, _ := lru.New[string, *pending](maxConns)
	return &Pool{env: env, conns: c}
}

// Conn returns the authenticated connection for sel's credentials,
// authenticating when none is kept yet.
func (p *Pool) Conn(ctx context.Context, sel Selection) (*Conn, error) {
	e, err := resolve(sel, p.env)
	if err != nil {
		return nil, err
	}
	opts, err := p.options(e)
	if err != nil {
		return nil, err
	}
	key := opts.key()
	p.mu.Lock()
	pd, ok := p.conns.Get(key)
	if !ok {
		pd = &pending{done: make(chan struct{})}
		p.conns.Add(key, pd)
	}
	p.mu.Unlock()
	if !ok {
		pd.conn, pd.err = p.connect(ctx, opts)
		if pd.err != nil {
			p.mu.Lock()
			p.conns.Remove(key) // the next run tries again
			p.mu.Unlock()
		}
		close(pd.done)
	}
	select {
	case <-pd.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return pd.conn, pd.err
}

// connOptions are resolved credentials in gophercloud's terms.
type connOptions struct {
	auth     gophercloud.AuthOptions
	endpoint gophercloud.EndpointOpts
	tls      *tls.Config
	source   Source
}

// key identifies the credentials without keeping a secret in clear.
func (o connOptions) key() string {
	b, _ := json.Marshal(struct {
		A gophercloud.AuthOptions
		S *gophercloud.AuthScope
		P string
		E gophercloud.EndpointOpts
		I bool
		C bool
	}{o.auth, o.auth.Scope, o.auth.Password + "\x00" + o.auth.ApplicationCredentialSecret + "\x00" + o.auth.TokenID, o.endpoint,
		o.tls != nil && o.tls.InsecureSkipVerify, o.tls != nil && o.tls.RootCAs != nil})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// options turns a cloud entry into gophercloud options with gophercloud's
// own clouds.yaml reader, so that scopes and domains mean what they mean
// to the OpenStack command-line clients.
func (p *Pool) options(e entry) (connOptions, error) {
	var parseOpts []clouds.ParseOption
	name := e.name
	if name == "" {
		name = "sirocco"
		doc, err := json.Marshal(clouds.Clouds{Clouds: map[string]clouds.Cloud{name: e.cloud}})
		if err != nil {
			return connOptions{}, err
		}
		parseOpts = append(parseOpts, clouds.WithCloudsYAML(strings.NewReader(string(doc))))
	} else if f := p.env("OS_CLIENT_CONFIG_FILE"); f != "" {
		parseOpts = append(parseOpts, clouds.WithLocations(f))
	}
	parseOpts = append(parseOpts, clouds.WithCloudName(name))
	if r := p.env("OS_REGION_NAME"); r != "" && e.source != SourceInput {
		parseOpts = append(parseOpts, clouds.WithRegion(r))
	}
	ao, eo, tlsConf, err := clouds.Parse(parseOpts...)
	if err != nil {
		err = fmt.Errorf("OpenStack credentials from %s: %w", e.source, err)
		if e.source == SourceInput || e.source == SourceCloud {
			return connOptions{}, &InputError{err}
		}
		return connOptions{}, err
	}
	if ao.IdentityEndpoint == "" {
		return connOptions{}, fmt.Errorf("OpenStack credentials from %s: no auth_url", e.source)
	}
	// A password or an application credential can get a new token when
	// the first expires; a given token cannot.
	ao.AllowReauth = ao.TokenID == ""
	return connOptions{auth: ao, endpoint: eo, tls: tlsConf, source: e.source}, nil
}

func (p *Pool) connect(ctx context.Context, o connOptions) (*Conn, error) {
	client, err := config.NewProviderClient(ctx, o.auth, config.WithTLSConfig(o.tls), config.WithHTTPClient(http.Client{}))
	if err != nil {
		return nil, &AuthError{Source: o.source, URL: o.auth.IdentityEndpoint, Err: err}
	}
	return &Conn{provider: client, endpoint: o.endpoint, services: map[serviceKey]*gophercloud.ServiceClient{}}, nil
}

// AuthError is a failed Keystone authentication.
type AuthError struct {
	Source Source
	URL    string
	Err    error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("Keystone authentication at %s with credentials from %s failed: %v", e.URL, e.Source, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// Conn is one authenticated session: a token and its service catalog.
type Conn struct {
	provider *gophercloud.ProviderClient
	endpoint gophercloud.EndpointOpts

	mu       sync.Mutex
	services map[serviceKey]*gophercloud.ServiceClient
}

type serviceKey struct{ typ, region string }

// Service describes the service a client is wanted for.
type Service struct {
	// Type is the catalog service type.
	Type string
	// Microversion is the highest microversion wanted, "" for none.
	Microversion string
}

// newClient makes a gophercloud service client per catalog type: each
// constructor knows its service's URL layout (the version part, aliases
// such as volumev3 for block-storage).
var newClient = map[string]func(*gophercloud.ProviderClient, gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error){
	"compute":       openstack.NewComputeV2,
	"image":         openstack.NewImageV2,
	"network":       openstack.NewNetworkV2,
	"block-storage": openstack.NewBlockStorageV3,
	"identity":      openstack.NewIdentityV3,
	"orchestration": openstack.NewOrchestrationV1,
	"object-store":  openstack.NewObjectStorageV1,
}

// ErrNoEndpoint is a service the catalog does not offer in the region.
var ErrNoEndpoint = errors.New("no endpoint in the service catalog")

// Client returns the service client of svc in region ("" for the
// credentials' own region, else the first the catalog lists).
func (c *Conn) Client(ctx context.Context, svc Service, region string) (*gophercloud.ServiceClient, error) {
	eo := c.endpoint
	if region != "" {
		eo.Region = region
	}
	key := serviceKey{svc.Type, eo.Region}
	c.mu.Lock()
	sc := c.services[key]
	c.mu.Unlock()
	if sc != nil {
		return sc, nil
	}
	mk, ok := newClient[svc.Type]
	if !ok {
		return nil, fmt.Errorf("service type %q is not supported", svc.Type)
	}
	sc, err := mk(c.provider, eo)
	if err != nil {
		var nf *gophercloud.ErrEndpointNotFound
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%w: service type %s, region %q, interface %s", ErrNoEndpoint, svc.Type, eo.Region, eo.Availability)
		}
		return nil, fmt.Errorf("endpoint of %s: %w", svc.Type, err)
	}
	if svc.Microversion != "" {
		sc.Microversion = c.microversion(ctx, sc, svc.Microversion)
	}
	c.mu.Lock()
	if prev := c.services[key]; prev != nil {
		sc = prev
	} else {
		c.services[key] = sc
	}
	c.mu.Unlock()
	return sc, nil
}

// microversion is the lower of want and the highest the service offers,
// as mistral-extra's discovery of "2.latest" picks; "" when the service
// does not say (the request then goes without a microversion header).
func (c *Conn) microversion(ctx context.Context, sc *gophercloud.ServiceClient, want string) string {
	base, err := utils.BaseVersionedEndpoint(sc.Endpoint)
	if err != nil {
		return ""
	}
	versions, err := utils.GetServiceVersions(ctx, sc.ProviderClient, base, true)
	if err != nil {
		return "" // no version document: requests go without a microversion
	}
	wMajor, wMinor, err := utils.ParseMicroversion(want)
	if err != nil {
		return ""
	}
	for _, v := range versions {
		if v.Major != wMajor || (v.MaxMajor == 0 && v.MaxMinor == 0) {
			continue
		}
		if v.MaxMinor < wMinor {
			return fmt.Sprintf("%d.%d", v.MaxMajor, v.MaxMinor)
		}
		return want
	}
	return ""
}
