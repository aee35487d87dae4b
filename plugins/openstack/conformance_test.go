package main

import (
	"testing"

	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestConformance(t *testing.T) { sdktest.Conformance(t, Plugin()) }
