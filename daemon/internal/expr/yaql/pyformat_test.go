package yaql

import "testing"

// Python's format(value, spec), as '{0:spec}'.format(value) applies it;
// the answers are CPython's.
func TestFormatSpec(t *testing.T) {
	for _, c := range []struct {
		v          any
		spec, want string
	}{
		{int64(3), ">+08,.2f", "000+3.00"}, {int64(1234567), ",", "1,234,567"}, {int64(255), "#X", "0XFF"},
		{int64(-5), "=6", "-    5"}, {"ab", "*^7", "**ab***"}, {2.5, "", "2.5"}, {1e20, ".3", "1e+20"},
		{0.000123, "g", "0.000123"}, {0.5, ".1%", "50.0%"}, {true, ">3", "  1"}, {int64(7), "b", "111"},
		{-3.0, "+", "-3.0"}, {"xyz", ".2", "xy"}, {12.0, ".3g", "12"}, {100.0, "e", "1.000000e+02"},
		{int64(1), ">5", "    1"}, {2.5, ".2f", "2.50"},
	} {
		got, err := formatSpec(c.v, c.spec, 1<<20)
		if err != nil || got != c.want {
			t.Errorf("format(%v, %q) = %q, %v; want %q", c.v, c.spec, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		v    any
		spec string
	}{{nil, ">5"}, {"s", "d"}, {int64(1), ".2d"}, {[]any{}, "x"}, {int64(1), "9999999999"}} {
		if got, err := formatSpec(bad.v, bad.spec, 1<<20); err == nil {
			t.Errorf("format(%v, %q) = %q, want an error", bad.v, bad.spec, got)
		}
	}
}
