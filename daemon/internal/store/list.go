package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// table describes a listable table: which API names may be sorted and
// filtered on, and the columns they map to. The whitelists keep user input
// out of the SQL text and turn a typo into an error instead of an empty page.
type table struct {
	name     string
	what     string // for error messages: "workflow", "execution"
	cols     []string
	sortable map[string]string // API key -> column
	filters  map[string]string // API key -> column, equality only
}

// ErrBadListOpts is returned (wrapped) when ListOpts names a sort key, sort
// direction or filter that the listing does not support; the API maps it to
// 400.
var ErrBadListOpts = errors.New("invalid list options")

func keysOf(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// listQuery builds the SELECT for one page. Marker pagination returns the
// rows strictly after the marker row in the requested order; id is always
// the last sort key, so the order is total and no row is skipped or repeated
// between pages even when other keys tie.
func (tb *table) listQuery(o ListOpts) (string, []any, error) {
	if o.Limit < 0 {
		return "", nil, fmt.Errorf("list %ss: limit %d is negative: %w", tb.what, o.Limit, ErrBadListOpts)
	}
	keys := o.SortKeys
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if len(o.SortDirs) > len(keys) {
		return "", nil, fmt.Errorf("list %ss: %d sort directions for %d sort keys: %w", tb.what, len(o.SortDirs), len(keys), ErrBadListOpts)
	}
	type order struct {
		col  string
		desc bool
	}
	var orders []order
	seen := map[string]bool{}
	for i, k := range keys {
		col, ok := tb.sortable[k]
		if !ok {
			return "", nil, fmt.Errorf("list %ss: unknown sort key %q (valid: %s): %w", tb.what, k, keysOf(tb.sortable), ErrBadListOpts)
		}
		if seen[col] {
			return "", nil, fmt.Errorf("list %ss: sort key %q given twice: %w", tb.what, k, ErrBadListOpts)
		}
		seen[col] = true
		desc := false
		if i < len(o.SortDirs) {
			switch strings.ToLower(o.SortDirs[i]) {
			case "asc", "":
			case "desc":
				desc = true
			default:
				return "", nil, fmt.Errorf("list %ss: sort direction %q is neither asc nor desc: %w", tb.what, o.SortDirs[i], ErrBadListOpts)
			}
		}
		orders = append(orders, order{col, desc})
	}
	if !seen["id"] {
		orders = append(orders, order{"id", false})
	}

	var q strings.Builder
	var args []any
	q.WriteString("SELECT ")
	for i, c := range tb.cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("t." + c)
	}
	q.WriteString(" FROM " + tb.name + " t")
	var where []string
	if o.Marker != "" {
		// Join the marker row once and compare against its values, so the
		// database compares like with like (text, timestamptz) itself.
		q.WriteString(" CROSS JOIN (SELECT ")
		for i, ord := range orders {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "%s AS m%d", ord.col, i)
		}
		q.WriteString(" FROM " + tb.name + " WHERE id = ?) m")
		args = append(args, o.Marker)
		// (k0 > m0) OR (k0 = m0 AND k1 > m1) OR ...
		var ors []string
		for i, ord := range orders {
			var ands []string
			for j := 0; j < i; j++ {
				ands = append(ands, fmt.Sprintf("t.%s = m.m%d", orders[j].col, j))
			}
			op := ">"
			if ord.desc {
				op = "<"
			}
			ands = append(ands, fmt.Sprintf("t.%s %s m.m%d", ord.col, op, i))
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	fkeys := make([]string, 0, len(o.Filters))
	for k := range o.Filters {
		fkeys = append(fkeys, k)
	}
	sort.Strings(fkeys) // stable SQL text, so prepared statements are reused
	for _, k := range fkeys {
		col, ok := tb.filters[k]
		if !ok {
			return "", nil, fmt.Errorf("list %ss: unknown filter %q (valid: %s): %w", tb.what, k, keysOf(tb.filters), ErrBadListOpts)
		}
		where = append(where, "t."+col+" = ?")
		args = append(args, o.Filters[k])
	}
	if len(where) > 0 {
		q.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	q.WriteString(" ORDER BY ")
	for i, ord := range orders {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("t." + ord.col)
		if ord.desc {
			q.WriteString(" DESC")
		}
	}
	if o.Limit > 0 {
		fmt.Fprintf(&q, " LIMIT %d", o.Limit)
	}
	return q.String(), args, nil
}

// list runs tb's query for o and scans each row with scan. A marker that
// names no row is ErrNotFound, as in Mistral, rather than an empty page.
func list[T any](t *sqlTx, tb *table, o ListOpts, scan func(scanner) (T, error)) ([]T, error) {
	q, args, err := tb.listQuery(o)
	if err != nil {
		return nil, err
	}
	if o.Marker != "" {
		var one int
		if err := t.getOne(fmt.Sprintf("marker %s %q", tb.what, o.Marker), func(s scanner) error { return s.Scan(&one) },
			"SELECT 1 FROM "+tb.name+" WHERE id = ?", o.Marker); err != nil {
			return nil, err
		}
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %ss: %w", tb.what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.fail(fmt.Errorf("store: list %ss: %w", tb.what, err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("store: list %ss: %w", tb.what, err))
	}
	return out, nil
}
