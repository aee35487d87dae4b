package yaql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// yaql's date and time library (yaql/standard_library/date_time.py):
// datetime() and timespan() values, their properties, arithmetic and
// comparisons. A datetime always has a UTC offset, as yaql's do. As a
// result, Mistral stores a datetime as oslo's to_primitive does
// ("2020-01-02T03:04:05.000000"); a timespan cannot be stored.

// dateTime is Python's timezone-aware datetime.
type dateTime struct{ t time.Time }

// timeSpan is Python's timedelta, at its microsecond resolution.
type timeSpan time.Duration

func (d dateTime) mistralString() string { return d.t.Format("2006-01-02T15:04:05.000000") }

// pyStr is Python's str(datetime): "2020-01-02 03:04:05+00:00".
func (d dateTime) pyStr() string {
	s := d.t.Format("2006-01-02 15:04:05")
	if us := d.t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	_, off := d.t.Zone()
	return s + pyOffset(off, ":")
}

func pyOffset(off int, sep string) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s%02d%s%02d", sign, off/3600, sep, off/60%60)
}

// pyStr is Python's str(timedelta): "1:30:00", "2 days, 0:00:00",
// "-1 day, 23:00:00".
func (ts timeSpan) pyStr() string {
	us := time.Duration(ts).Microseconds()
	days := floorDiv(us, 86400_000000)
	rest := us - days*86400_000000
	secs := rest / 1_000000
	s := fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if frac := rest % 1_000000; frac != 0 {
		s += fmt.Sprintf(".%06d", frac)
	}
	if days != 0 {
		unit := "days"
		if days == 1 || days == -1 {
			unit = "day"
		}
		s = fmt.Sprintf("%d %s, %s", days, unit, s)
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func init() {
	register("datetime", "F", 1, 8, func(c *inv) (any, error) {
		a, kw, err := c.kwArgs("year", "month", "day", "hour", "minute", "second", "microsecond", "offset")
		if err != nil {
			return nil, err
		}
		if len(a) >= 1 && len(kw) == 0 {
			switch x := a[0].(type) {
			case string:
				if len(a) > 2 {
					return nil, c.errf("datetime(string, format) takes at most 2 arguments")
				}
				var format any
				if len(a) == 2 {
					format = a[1]
				}
				return parseDateTime(c, x, format)
			case float64:
				return fromTimestamp(c, x, a[1:])
			case int64:
				if len(a) <= 2 {
					if len(a) == 1 || isTimeSpan(a[1]) {
						return fromTimestamp(c, float64(x), a[1:])
					}
				}
			}
		}
		fields := []int64{0, 0, 0, 0, 0, 0, 0}
		off := timeSpan(0)
		names := []string{"year", "month", "day", "hour", "minute", "second", "microsecond", "offset"}
		set := make([]bool, 8)
		put := func(i int, v any) error {
			if i == 7 {
				ts, ok := v.(timeSpan)
				if !ok {
					return c.errf("datetime() offset must be a timespan, got %s", typeName(v))
				}
				off = ts
			} else {
				n, ok := v.(int64)
				if !ok {
					return c.errf("datetime() %s must be an integer, got %s", names[i], typeName(v))
				}
				fields[i] = n
			}
			set[i] = true
			return nil
		}
		for i, v := range a {
			if err := put(i, v); err != nil {
				return nil, err
			}
		}
		for k, v := range kw {
			if err := put(k, v); err != nil {
				return nil, err
			}
		}
		if !set[0] || !set[1] || !set[2] {
			return nil, c.errf("datetime() needs a year, a month and a day")
		}
		return buildDateTime(c, fields, off)
	})
	register("timespan", "F", 0, 6, func(c *inv) (any, error) {
		a, kw, err := c.kwArgs("days", "hours", "minutes", "seconds", "milliseconds", "microseconds")
		if err != nil {
			return nil, err
		}
		units := []float64{86400e6, 3600e6, 60e6, 1e6, 1e3, 1}
		total := 0.0
		add := func(i int, v any) error {
			if !isNumber(v) {
				return c.errf("timespan() needs numbers, got %s", typeName(v))
			}
			total += toFloat(v) * units[i]
			return nil
		}
		for i, v := range a {
			if err := add(i, v); err != nil {
				return nil, err
			}
		}
		for k, v := range kw {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
		return spanFromMicros(c, math.RoundToEven(total))
	})
	register("now", "F", 0, 1, eager(func(c *inv, a []any) (any, error) {
		off := timeSpan(0)
		if len(a) == 1 {
			ts, ok := a[0].(timeSpan)
			if !ok {
				return nil, c.errf("now() offset must be a timespan, got %s", typeName(a[0]))
			}
			off = ts
		}
		return dateTime{t: time.Now().In(zoneOf(off)).Truncate(time.Microsecond)}, nil
	}))
	named("now", "offset")
	register("utctz", "F", 0, 0, eager(func(c *inv, a []any) (any, error) { return timeSpan(0), nil }))
	// The service runs in UTC: localtz() is the UTC offset.
	register("localtz", "F", 0, 0, eager(func(c *inv, a []any) (any, error) { return timeSpan(0), nil }))
	register("isDatetime", "F", 1, 1, eager(isType(func(v any) bool { _, ok := v.(dateTime); return ok })))
	register("isTimespan", "F", 1, 1, eager(isType(isTimeSpan)))
}

func isTimeSpan(v any) bool { _, ok := v.(timeSpan); return ok }

func zoneOf(off timeSpan) *time.Location {
	secs := int(time.Duration(off) / time.Second)
	if secs == 0 {
		return time.UTC
	}
	return time.FixedZone("", secs)
}

func spanFromMicros(c *inv, us float64) (any, error) {
	// timedelta's bounds are 999999999 days; Duration's are ±292 years.
	if math.Abs(us) > float64(math.MaxInt64/1000) {
		return nil, c.errf("timespan out of range")
	}
	return timeSpan(time.Duration(int64(us)) * time.Microsecond), nil
}

// kwArgs evaluates positional arguments and `name => value` arguments
// of a function whose parameters are names.
func (c *inv) kwArgs(names ...string) ([]any, map[int]any, error) {
	var pos []any
	kw := map[int]any{}
	for _, n := range c.args {
		if m, ok := n.(*Mapping); ok {
			k, ok := m.Key.(*Keyword)
			idx := -1
			if ok {
				for i, p := range names {
					if p == k.Name {
						idx = i
					}
				}
			}
			if idx < 0 {
				return nil, nil, c.st.errAt(m, "%s() has no parameter %s", c.name, describeKey(m.Key))
			}
			v, err := c.st.eval(m.Value, c.scope)
			if err != nil {
				return nil, nil, err
			}
			kw[idx] = v
			continue
		}
		if len(kw) > 0 {
			return nil, nil, c.st.errAt(n, "positional argument after key => value argument")
		}
		v, err := c.st.eval(n, c.scope)
		if err != nil {
			return nil, nil, err
		}
		pos = append(pos, v)
	}
	for k := range kw {
		if k < len(pos) {
			return nil, nil, c.errf("%s() got parameter %q twice", c.name, names[k])
		}
	}
	return pos, kw, nil
}

func buildDateTime(c *inv, f []int64, off timeSpan) (any, error) {
	y, mo, d, h, mi, s, us := f[0], f[1], f[2], f[3], f[4], f[5], f[6]
	if y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
		s < 0 || s > 59 || us < 0 || us > 999999 {
		return nil, c.errf("datetime(): a field is out of range")
	}
	t := time.Date(int(y), time.Month(mo), int(d), int(h), int(mi), int(s), int(us)*1000, zoneOf(off))
	if t.Day() != int(d) {
		return nil, c.errf("datetime(): day is out of range for month")
	}
	return dateTime{t: t}, nil
}

func fromTimestamp(c *inv, ts float64, rest []any) (any, error) {
	off := timeSpan(0)
	if len(rest) == 1 {
		o, ok := rest[0].(timeSpan)
		if !ok {
			return nil, c.errf("datetime() offset must be a timespan, got %s", typeName(rest[0]))
		}
		off = o
	}
	if math.IsNaN(ts) || math.Abs(ts) > 253402300799 {
		return nil, c.errf("datetime(): timestamp out of range")
	}
	sec, frac := math.Modf(ts)
	t := time.Unix(int64(sec), int64(math.RoundToEven(frac*1e6))*1000).In(zoneOf(off))
	return dateTime{t: t}, nil
}

// parseDateTime reads ISO 8601 forms (what dateutil's parser reads in
// workflows) or a strptime format.
func parseDateTime(c *inv, s string, format any) (any, error) {
	if format != nil {
		f, ok := format.(string)
		if !ok {
			return nil, c.errf("datetime() format must be a string")
		}
		layout, err := strftimeLayout(f, true)
		if err != nil {
			return nil, c.errf("datetime(): %v", err)
		}
		t, err := time.Parse(layout, s)
		if err != nil {
			return nil, c.errf("datetime(): time data %s does not match format %s", pyQuote(s), pyQuote(f))
		}
		return dateTime{t: t}, nil
	}
	str := strings.TrimSpace(s)
	for _, layout := range []string{
		time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05Z0700",
		"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02", "20060102T150405", "20060102",
	} {
		if t, err := time.Parse(layout, str); err == nil {
			return dateTime{t: t}, nil
		}
	}
	return nil, c.errf("datetime(): cannot parse %s as a date and time", pyQuote(s))
}

// strftimeLayout translates the strftime directives workflows use into a
// Go layout.
func strftimeLayout(f string, parse bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString("2006")
		case 'y':
			b.WriteString("06")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case 'H':
			b.WriteString("15")
		case 'I':
			b.WriteString("03")
		case 'M':
			b.WriteString("04")
		case 'S':
			b.WriteString("05")
		case 'f':
			b.WriteString("000000")
		case 'p':
			b.WriteString("PM")
		case 'b':
			b.WriteString("Jan")
		case 'B':
			b.WriteString("January")
		case 'a':
			b.WriteString("Mon")
		case 'A':
			b.WriteString("Monday")
		case 'j':
			b.WriteString("002")
		case 'z':
			b.WriteString("-0700")
		case 'Z':
			b.WriteString("MST")
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("unsupported format directive %%%c", f[i])
		}
	}
	return b.String(), nil
}

// strftime is Python's datetime.strftime for the directives above.
func strftime(d dateTime, f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'z':
			_, off := d.t.Zone()
			b.WriteString(pyOffset(off, ""))
		case 'Z':
			_, off := d.t.Zone()
			if off == 0 {
				b.WriteString("UTC")
			} else {
				b.WriteString("UTC" + pyOffset(off, ":"))
			}
		case 'w':
			b.WriteString(strconv.Itoa(int(d.t.Weekday())))
		default:
			layout, err := strftimeLayout("%"+string(f[i]), false)
			if err != nil {
				return "", err
			}
			b.WriteString(d.t.Format(layout))
		}
	}
	return b.String(), nil
}

// timeAttr reads a datetime or timespan property (.year, .hours, ...).
func timeAttr(v any, name string) (any, bool) {
	switch x := v.(type) {
	case dateTime:
		t := x.t
		switch name {
		case "year":
			return int64(t.Year()), true
		case "month":
			return int64(t.Month()), true
		case "day":
			return int64(t.Day()), true
		case "hour":
			return int64(t.Hour()), true
		case "minute":
			return int64(t.Minute()), true
		case "second":
			return int64(t.Second()), true
		case "microsecond":
			return int64(t.Nanosecond() / 1000), true
		case "weekday":
			return int64((t.Weekday() + 6) % 7), true
		case "date":
			return dateTime{t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())}, true
		case "time":
			d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
			return timeSpan(t.Sub(d)), true
		case "offset":
			_, off := t.Zone()
			return timeSpan(time.Duration(off) * time.Second), true
		case "utc":
			return dateTime{t: t.UTC()}, true
		case "timestamp":
			return float64(t.UnixMicro()) / 1e6, true
		}
	case timeSpan:
		us := float64(time.Duration(x).Microseconds())
		switch name {
		case "microseconds":
			return int64(us), true
		case "milliseconds":
			return us / 1e3, true
		case "seconds":
			return us / 1e6, true
		case "minutes":
			return us / 60e6, true
		case "hours":
			return us / 3600e6, true
		case "days":
			return us / 86400e6, true
		}
	}
	return nil, false
}

// timeOp applies an operator whose operands include a datetime or a
// timespan; ok is false when neither is one.
func timeOp(op string, l, r any) (v any, ok bool, err error) {
	ld, lIsD := l.(dateTime)
	rd, rIsD := r.(dateTime)
	lt, lIsT := l.(timeSpan)
	rt, rIsT := r.(timeSpan)
	if !lIsD && !rIsD && !lIsT && !rIsT {
		return nil, false, nil
	}
	bad := func() (any, bool, error) {
		return nil, true, fmt.Errorf("cannot apply %s to %s and %s", op, typeName(l), typeName(r))
	}
	switch op {
	case "+":
		switch {
		case lIsD && rIsT:
			return dateTime{t: ld.t.Add(time.Duration(rt))}, true, nil
		case lIsT && rIsD:
			return dateTime{t: rd.t.Add(time.Duration(lt))}, true, nil
		case lIsT && rIsT:
			return lt + rt, true, nil
		}
	case "-":
		switch {
		case lIsD && rIsT:
			return dateTime{t: ld.t.Add(-time.Duration(rt))}, true, nil
		case lIsD && rIsD:
			return timeSpan(ld.t.Sub(rd.t)), true, nil
		case lIsT && rIsT:
			return lt - rt, true, nil
		}
	case "*":
		switch {
		case lIsT && isNumber(r):
			return scaleSpan(lt, toFloat(r)), true, nil
		case rIsT && isNumber(l):
			return scaleSpan(rt, toFloat(l)), true, nil
		}
	case "/":
		switch {
		case lIsT && rIsT:
			if rt == 0 {
				return nil, true, fmt.Errorf("division by zero")
			}
			return float64(lt) / float64(rt), true, nil
		case lIsT && isNumber(r):
			if toFloat(r) == 0 {
				return nil, true, fmt.Errorf("division by zero")
			}
			return scaleSpan(lt, 1/toFloat(r)), true, nil
		}
	case "=":
		return equal(l, r), true, nil
	case "!=":
		return !equal(l, r), true, nil
	}
	return bad()
}

func scaleSpan(ts timeSpan, k float64) timeSpan {
	us := math.RoundToEven(float64(time.Duration(ts).Microseconds()) * k)
	return timeSpan(time.Duration(int64(us)) * time.Microsecond)
}

// compareTime orders two datetimes or two timespans.
func compareTime(a, b any) (int, bool) {
	switch x := a.(type) {
	case dateTime:
		if y, ok := b.(dateTime); ok {
			return x.t.Compare(y.t), true
		}
	case timeSpan:
		if y, ok := b.(timeSpan); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	return 0, false
}
