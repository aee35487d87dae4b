// Command sirocco-plugin-openstack will serve Mistral's OpenStack actions
// (nova.*, glance.*, neutron.*, cinder.*, keystone.*) to a Sirocco executor
// host. For now it describes itself through openstack.info.
package main

import "github.com/sirocco-wf/sirocco/sdk"

func main() {
	sdk.Serve(Plugin())
}
