package yaql

// unstorable returns the first value inside v that the JSON model cannot
// hold (an endless iterator, a regex, a timespan), or nil.
func unstorable(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return nil
	case []any:
		for _, e := range x {
			if b := unstorable(e); b != nil {
				return b
			}
		}
		return nil
	case map[string]any:
		for _, e := range x {
			if b := unstorable(e); b != nil {
				return b
			}
		}
		return nil
	}
	return v
}
