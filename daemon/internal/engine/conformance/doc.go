// Package conformance holds the test that runs the Mistral conformance
// workflows (the corpus and the inline definitions of Mistral's unit tests
// that need only the std actions) on a real Sirocco server and compares
// every execution with what the real Mistral 15 did with the same
// definition and input.
//
// The reference lives in testdata/mistral15.json, and for the workflows
// of testdata/extra (written for this test) in
// testdata/mistral15_extra.json, both written by testdata/record.py
// against a running Mistral, so that CI needs no Mistral.
// testdata/mismatches.txt lists, with a reason, the cases Sirocco does
// not match yet; the test fails on a new mismatch and on a listed one
// that starts to match, so the list only shrinks. The package has no code
// outside its test.
package conformance
