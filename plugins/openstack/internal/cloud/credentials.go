// Package cloud turns the credentials an OpenStack action may use into
// authenticated gophercloud service clients, and keeps them for the runs
// that follow so that a workflow of many actions authenticates once.
//
// Credentials come, first match wins, from:
//
//  1. the action's `auth` input: a clouds.yaml cloud entry ({auth: {auth_url,
//     username, password, project_name, ...}, region_name, interface,
//     verify, cacert}), which a workflow takes from its own input or from
//     the execution's environment, so each run can name its own cloud;
//  2. the action's `cloud` input: the name of a cloud in the executor
//     host's clouds.yaml;
//  3. the executor host: OS_CLOUD (a cloud of its clouds.yaml), else the
//     OS_* variables of an openrc file (OS_AUTH_URL, OS_USERNAME, ...).
package cloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
)

// Env reads one variable of the executor host's environment (os.Getenv in
// the plugin; a map in tests, which cannot change the process's own).
type Env func(string) string

// Source says where credentials came from, for messages and logs.
type Source string

// The sources, in the order they are tried.
const (
	SourceInput   Source = "the action's auth input"
	SourceCloud   Source = "the action's cloud input"
	SourceOSCloud Source = "OS_CLOUD of the executor host"
	SourceOSEnv   Source = "the OS_* variables of the executor host"
)

// Selection is what an action run says about its credentials: the raw
// `auth` and `cloud` inputs (either may be empty).
type Selection struct {
	Auth  json.RawMessage
	Cloud string
}

// entry is a clouds.yaml cloud entry with the source it came from.
type entry struct {
	cloud  clouds.Cloud
	name   string // the clouds.yaml name, when read from a file
	source Source
}

// ErrNoCredentials is returned when no source gives credentials.
var ErrNoCredentials = errors.New("no OpenStack credentials: pass the action an auth input (a clouds.yaml cloud entry) or a cloud input, or give the executor host OS_CLOUD and a clouds.yaml, or the OS_* variables of an openrc file (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, ...)")

// resolve picks the credentials of one run.
func resolve(sel Selection, env Env) (entry, error) {
	if a := bytes.TrimSpace(sel.Auth); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		c, err := decodeEntry(a)
		if err != nil {
			return entry{}, &InputError{fmt.Errorf("auth input: %w", err)}
		}
		return entry{cloud: c, source: SourceInput}, nil
	}
	if sel.Cloud != "" {
		return entry{name: sel.Cloud, source: SourceCloud}, nil
	}
	if name := env("OS_CLOUD"); name != "" {
		return entry{name: name, source: SourceOSCloud}, nil
	}
	if env("OS_AUTH_URL") != "" {
		return entry{cloud: fromEnv(env), source: SourceOSEnv}, nil
	}
	return entry{}, ErrNoCredentials
}

// decodeEntry reads an auth input. Unknown keys are refused by name, so
// that a misspelt project_domain_name is not silently ignored.
func decodeEntry(raw json.RawMessage) (clouds.Cloud, error) {
	var c clouds.Cloud
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var keys map[string]json.RawMessage
		if json.Unmarshal(raw, &keys) != nil {
			return c, fmt.Errorf("must be an object like a clouds.yaml cloud entry ({\"auth\": {\"auth_url\": ..., \"username\": ...}, \"region_name\": ...}): %w", err)
		}
		return c, fmt.Errorf("not a clouds.yaml cloud entry (keys %s): %w", strings.Join(sortedKeys(keys), ", "), err)
	}
	if c.AuthInfo == nil || c.AuthInfo.AuthURL == "" {
		return c, errors.New("auth.auth_url is required")
	}
	return c, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fromEnv builds a cloud entry from the variables an openrc file sets, as
// openstacksdk's "envvars" cloud does.
func fromEnv(env Env) clouds.Cloud {
	first := func(names ...string) string {
		for _, n := range names {
			if v := env(n); v != "" {
				return v
			}
		}
		return ""
	}
	c := clouds.Cloud{
		AuthInfo: &clouds.AuthInfo{
			AuthURL:                     env("OS_AUTH_URL"),
			Token:                       first("OS_TOKEN", "OS_AUTH_TOKEN"),
			Username:                    first("OS_USERNAME", "OS_USER_NAME"),
			UserID:                      first("OS_USER_ID", "OS_USERID"),
			Password:                    env("OS_PASSWORD"),
			ApplicationCredentialID:     env("OS_APPLICATION_CREDENTIAL_ID"),
			ApplicationCredentialName:   env("OS_APPLICATION_CREDENTIAL_NAME"),
			ApplicationCredentialSecret: env("OS_APPLICATION_CREDENTIAL_SECRET"),
			SystemScope:                 env("OS_SYSTEM_SCOPE"),
			ProjectName:                 first("OS_PROJECT_NAME", "OS_TENANT_NAME"),
			ProjectID:                   first("OS_PROJECT_ID", "OS_TENANT_ID"),
			UserDomainName:              env("OS_USER_DOMAIN_NAME"),
			UserDomainID:                env("OS_USER_DOMAIN_ID"),
			ProjectDomainName:           env("OS_PROJECT_DOMAIN_NAME"),
			ProjectDomainID:             env("OS_PROJECT_DOMAIN_ID"),
			DomainName:                  env("OS_DOMAIN_NAME"),
			DomainID:                    env("OS_DOMAIN_ID"),
			TrustID:                     env("OS_TRUST_ID"),
		},
		RegionName:     env("OS_REGION_NAME"),
		Interface:      first("OS_INTERFACE", "OS_ENDPOINT_TYPE"),
		CACertFile:     env("OS_CACERT"),
		ClientCertFile: env("OS_CERT"),
		ClientKeyFile:  env("OS_KEY"),
	}
	switch strings.ToLower(env("OS_INSECURE")) {
	case "1", "true", "yes":
		no := false
		c.Verify = &no
	}
	return c
}

// InputError is an auth or cloud input that cannot be used as given.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
