// Command sirocco-plugin-http serves Mistral's HTTP actions (std.http,
// std.mistral_http) to a Sirocco executor host.
package main

import "github.com/sirocco-wf/sirocco/sdk"

func main() {
	sdk.Serve(Plugin())
}
