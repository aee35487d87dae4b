package main

import "github.com/sirocco-wf/sirocco/sdk"

// Version is this plugin's version.
const Version = "0.1.0"

// services are the OpenStack services whose Mistral actions this plugin
// will serve; listed so operators and workflow authors can see the plan.
var services = []string{"nova", "glance", "neutron", "cinder", "keystone"}

// Plugin is the plugin's definition, shared by main and the tests.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "openstack",
		Version: Version,
		Actions: []sdk.ActionDef{
			sdk.Action("openstack.info", "Reports the plugin's version and the OpenStack services it covers.", info, sdk.Idempotent()),
		},
	}
}

// InfoInput is empty: openstack.info takes no parameters.
type InfoInput struct{}

// InfoResult describes the plugin.
type InfoResult struct {
	Plugin   string   `json:"plugin"`
	Version  string   `json:"version"`
	Services []string `json:"services"`
}

func info(sdk.Context, InfoInput) (InfoResult, error) {
	return InfoResult{Plugin: "openstack", Version: Version, Services: services}, nil
}
