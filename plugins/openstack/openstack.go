package main

import (
	_ "embed"
	"fmt"
	"os"
	"sync"

	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/cloud"
	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/runner"
	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/table"
	"github.com/sirocco-wf/sirocco/sdk"
)

//go:generate go run ./internal/gen/cmd -table actions.yaml -go actions_gen.go -readme README.md

// Version is this plugin's version.
const Version = "0.2.0"

// tableYAML is the actions table the plugin runs; the typed inputs of
// actions_gen.go are generated from the same file.
//
//go:embed actions.yaml
var tableYAML []byte

// Plugin is the plugin's definition: it reads credentials from the
// executor host's environment (OS_CLOUD, OS_AUTH_URL, ...).
func Plugin() sdk.Plugin { return newPlugin(os.Getenv) }

// newPlugin builds the plugin with env as the executor host's
// environment, so tests can point it at a fake cloud without changing the
// test process's own.
func newPlugin(env cloud.Env) sdk.Plugin {
	t := mustTable()
	run := runner.New(t, cloud.NewPool(env))
	actions := generatedActions(func(ctx sdk.Context, name string, in any) (any, error) {
		return run.Run(ctx, name, in)
	})
	actions = append(actions, sdk.Action("openstack.info", "Reports the plugin's version and how many actions it serves per OpenStack service.",
		func(sdk.Context, InfoInput) (InfoResult, error) { return info(t), nil }, sdk.Idempotent()))
	return sdk.Plugin{Name: "openstack", Version: Version, Actions: actions}
}

// mustTable is the embedded table, parsed once (it is not changed after).
// go generate and the tests parse the same bytes, so a bad table never
// gets this far.
var mustTable = sync.OnceValue(func() *table.Table {
	t, err := table.Parse(tableYAML)
	if err != nil {
		panic(fmt.Sprintf("openstack plugin: %v", err))
	}
	return t
})

// runFunc runs one row of the table with an action's decoded input.
type runFunc func(ctx sdk.Context, name string, in any) (any, error)

// common are the inputs every OpenStack action takes besides its python
// method's: the region, as in Mistral, and the credentials (see package
// cloud for where they come from when these are not given).
type common struct {
	ActionRegion string         `json:"action_region,omitempty" default:"\"\"" description:"The region whose endpoint is called; empty: the credentials' region (OS_REGION_NAME, region_name), else the first in the catalog."`
	Auth         map[string]any `json:"auth,omitempty" description:"Credentials for this run, as a clouds.yaml cloud entry: {\"auth\": {\"auth_url\", \"username\", \"password\", \"project_name\", \"user_domain_name\", \"project_domain_name\"}, \"region_name\", \"interface\", \"verify\"}. Default: the executor host's."`
	Cloud        string         `json:"cloud,omitempty" description:"The name of a cloud of the executor host's clouds.yaml. Default: OS_CLOUD, else the OS_* variables."`
}

// asList, asObject and asAny give a row's result its Go type, which sets
// the action's output schema.
func asList(v any, err error) ([]map[string]any, error) {
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("the result is %T, not a list", v)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d of the result is %T, not an object", i, it)
		}
		out[i] = m
	}
	return out, nil
}

func asObject(v any, err error) (map[string]any, error) {
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the result is %T, not an object", v)
	}
	return m, nil
}

func asAny(v any, err error) (any, error) { return v, err }

// InfoInput is empty: openstack.info takes no parameters.
type InfoInput struct{}

// InfoResult describes the plugin.
type InfoResult struct {
	Plugin   string         `json:"plugin"`
	Version  string         `json:"version"`
	Services map[string]int `json:"services" description:"Actions served per service (nova, glance, ...)."`
}

func info(t *table.Table) InfoResult {
	counts := map[string]int{}
	for _, a := range t.Actions {
		counts[a.Namespace]++
	}
	return InfoResult{Plugin: "openstack", Version: Version, Services: counts}
}
