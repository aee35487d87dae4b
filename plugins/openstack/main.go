// Command sirocco-plugin-openstack serves Mistral's OpenStack actions
// (nova.*, glance.*, neutron.*, cinder.*, keystone.*, heat.*, swift.*,
// under the names mistral-extra gives them) to a Sirocco executor host,
// through gophercloud. The actions are the rows of actions.yaml.
package main

import "github.com/sirocco-wf/sirocco/sdk"

func main() {
	sdk.Serve(Plugin())
}
