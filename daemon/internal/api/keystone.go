package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// python-mistralclient sends a token only through Keystone: given
// --os-auth-token it asks the identity service at --os-auth-url to
// validate the token (POST {auth_url}/auth/tokens) and then sends the
// token Keystone hands back as X-Auth-Token. Sirocco has no Keystone, so
// it answers those two calls itself: `mistral --os-auth-url
// http://HOST:PORT/v3 --os-auth-token TOKEN --os-mistral-url
// http://HOST:PORT/v2 ...` works with a token of this server. Only the
// token method is served; there are no users or passwords.
const (
	keystonePath       = "/v3"
	keystoneTokensPath = "/v3/auth/tokens"
)

type keystoneVersionOutput struct {
	Body struct {
		Version keystoneVersion `json:"version"`
	}
}

type keystoneVersion struct {
	ID         string         `json:"id" example:"v3.14"`
	Status     string         `json:"status" example:"stable"`
	Updated    string         `json:"updated" example:"2020-04-07T00:00:00Z"`
	Links      []keystoneLink `json:"links"`
	MediaTypes []keystoneLink `json:"media-types"`
}

type keystoneLink struct {
	Rel  string `json:"rel,omitempty"`
	Href string `json:"href,omitempty"`
	Base string `json:"base,omitempty"`
	Type string `json:"type,omitempty"`
}

// baseURL is the scheme and host a request reached the server at, kept by
// Resolve, so the links Keystone clients follow point back here.
type baseURL struct{ base string }

func (b *baseURL) Resolve(ctx huma.Context) []error {
	scheme := "http"
	if ctx.TLS() != nil {
		scheme = "https"
	}
	b.base = scheme + "://" + ctx.Host()
	return nil
}

type keystoneVersionInput struct {
	baseURL
}

// KeystoneAuthRequest is the part of Keystone v3's POST /v3/auth/tokens
// body that Sirocco reads: the token method and its token. Scopes and
// everything else a client sends are accepted and ignored.
type KeystoneAuthRequest struct {
	_    struct{} `additionalProperties:"true"`
	Auth struct {
		_        struct{} `additionalProperties:"true"`
		Identity struct {
			_       struct{} `additionalProperties:"true"`
			Methods []string `json:"methods" doc:"Must include \"token\"."`
			Token   *struct {
				_  struct{} `additionalProperties:"true"`
				ID string   `json:"id" doc:"A token of this server."`
			} `json:"token,omitempty"`
		} `json:"identity"`
	} `json:"auth"`
}

type keystoneTokenInput struct {
	Body KeystoneAuthRequest
}

type keystoneTokenOutput struct {
	SubjectToken string `header:"X-Subject-Token" doc:"The token to send as X-Auth-Token: the one given."`
	Body         struct {
		Token keystoneToken `json:"token"`
	}
}

type keystoneToken struct {
	Methods   []string       `json:"methods"`
	ExpiresAt string         `json:"expires_at"`
	IssuedAt  string         `json:"issued_at"`
	AuditIDs  []string       `json:"audit_ids"`
	User      keystoneUser   `json:"user"`
	Catalog   []any          `json:"catalog"`
	Roles     []keystoneUser `json:"roles"`
}

type keystoneUser struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	Domain *keystoneUser `json:"domain,omitempty"`
}

// keystoneTokenLife is how long clients may cache a validated token. The
// server checks the token on every request anyway; this only bounds how
// often a client asks again.
const keystoneTokenLife = time.Hour

func (s *server) registerKeystone(hapi huma.API) {
	huma.Register(hapi, huma.Operation{
		OperationID: "keystoneVersion",
		Method:      http.MethodGet,
		Path:        keystonePath,
		Summary:     "Keystone v3 version document (for python-mistralclient)",
		Description: "Lets OpenStack clients given --os-auth-url http://HOST:PORT/v3 discover the token endpoint. Open without a token.",
		Tags:        []string{"Identity"},
	}, func(_ context.Context, in *keystoneVersionInput) (*keystoneVersionOutput, error) {
		out := &keystoneVersionOutput{}
		out.Body.Version = keystoneVersion{
			ID: "v3.14", Status: "stable", Updated: "2020-04-07T00:00:00Z",
			Links:      []keystoneLink{{Rel: "self", Href: in.base + keystonePath + "/"}},
			MediaTypes: []keystoneLink{{Base: "application/json", Type: "application/vnd.openstack.identity-v3+json"}},
		}
		return out, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "keystoneIssueToken",
		Method:      http.MethodPost,
		Path:        keystoneTokensPath,
		Summary:     "Validate a token the way Keystone v3 does (for python-mistralclient)",
		Description: "python-mistralclient sends --os-auth-token here (method \"token\") before it calls /v2. " +
			"A token this server accepts is answered 201 with the same token in X-Subject-Token; any other is 401. " +
			"When the server requires no token, every token is accepted. Passwords are not supported.",
		Tags:          []string{"Identity"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  64 << 10,
		Errors:        []int{http.StatusBadRequest, http.StatusUnauthorized},
	}, func(_ context.Context, in *keystoneTokenInput) (*keystoneTokenOutput, error) {
		id := in.Body.Auth.Identity
		hasToken := false
		for _, m := range id.Methods {
			hasToken = hasToken || m == "token"
		}
		if !hasToken || id.Token == nil || id.Token.ID == "" {
			return nil, huma.Error401Unauthorized("Sirocco accepts only the token method here: run mistral with --os-auth-token TOKEN (it has no users or passwords)")
		}
		if err := wellFormed(id.Token.ID); err != nil {
			return nil, huma.Error401Unauthorized("the token is not valid: " + err.Error())
		}
		if s.opts.Auth.Len() > 0 {
			if _, ok := s.opts.Auth.Scope(id.Token.ID); !ok {
				return nil, huma.Error401Unauthorized("the token is not valid on this server")
			}
		}
		now := time.Now().UTC()
		out := &keystoneTokenOutput{SubjectToken: id.Token.ID}
		user := keystoneUser{ID: "sirocco", Name: "sirocco", Domain: &keystoneUser{ID: "default", Name: "Default"}}
		out.Body.Token = keystoneToken{
			Methods:   []string{"token"},
			IssuedAt:  now.Format("2006-01-02T15:04:05.000000Z"),
			ExpiresAt: now.Add(keystoneTokenLife).Format("2006-01-02T15:04:05.000000Z"),
			AuditIDs:  []string{},
			User:      user,
			Catalog:   []any{},
			Roles:     []keystoneUser{},
		}
		return out, nil
	})
}
