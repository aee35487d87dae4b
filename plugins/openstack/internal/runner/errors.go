package runner

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// apiError is an OpenStack service's error answer, worded as the python
// clients word it: the service's message and "(HTTP code)".
type apiError struct {
	status    int
	message   string
	requestID string
}

func newAPIError(status int, h http.Header, body []byte) *apiError {
	e := &apiError{status: status, message: errorMessage(body)}
	if e.message == "" {
		e.message = http.StatusText(status)
	}
	for _, k := range []string{"X-Openstack-Request-Id", "X-Compute-Request-Id"} {
		if id := h.Get(k); id != "" {
			e.requestID = id
			break
		}
	}
	return e
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%s (HTTP %d)", e.message, e.status)
	if e.requestID != "" {
		s += fmt.Sprintf(" (Request-ID: %s)", e.requestID)
	}
	return s
}

// errorMessage finds the message of an error body in the shapes OpenStack
// services use: {"itemNotFound": {"message": ...}} (nova, cinder),
// {"NeutronError": {"message": ...}}, {"error": {"message": ...}}
// (keystone, heat), {"message": ...}, or plain text (glance, swift).
func errorMessage(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return plain(body)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return plain(body)
	}
	if s, ok := m["message"].(string); ok {
		return s
	}
	if e, ok := m["error"].(map[string]any); ok {
		if s, ok := e["message"].(string); ok {
			return s
		}
	}
	for _, k := range sortedKeys(m) {
		if inner, ok := m[k].(map[string]any); ok {
			if s, ok := inner["message"].(string); ok {
				return s
			}
		}
	}
	if s, ok := m["explanation"].(string); ok {
		return s
	}
	return plain(body)
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plain is a text or HTML error body on one line, without its tags.
func plain(body []byte) string {
	s := strings.Join(strings.Fields(tagRE.ReplaceAllString(string(body), " ")), " ")
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}
