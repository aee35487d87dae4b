package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestInfo(t *testing.T) {
	h := sdktest.New(t, Plugin())
	require.Equal(t, "openstack", h.Info(context.Background()).Name)
	run := h.Execute(context.Background(), "openstack.info", map[string]any{})
	require.Nil(t, run.Error)
	require.JSONEq(t, `{"plugin":"openstack","version":"0.1.0","services":["nova","glance","neutron","cinder","keystone"]}`, string(run.Output))
}
