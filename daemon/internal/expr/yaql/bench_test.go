package yaql

import "testing"

func BenchmarkEvalPath(b *testing.B) {
	n, err := Parse("$.a.b.c")
	if err != nil {
		b.Fatal(err)
	}
	env := &Env{Data: map[string]any{"a": map[string]any{"b": map[string]any{"c": int64(1)}}}}
	for b.Loop() {
		if _, err := Eval("$.a.b.c", n, env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAndEvalQuery(b *testing.B) {
	l := make([]any, 100)
	for i := range l {
		l[i] = map[string]any{"v": int64(i), "s": "ACTIVE"}
	}
	env := &Env{Data: map[string]any{"l": l}}
	const src = "$.l.where($.s = 'ACTIVE' and $.v mod 2 = 0).select($.v * 2).sum()"
	for b.Loop() {
		if _, err := EvalString(src, env); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEval evaluates src against l (100 dicts {v, s}) b.N times.
func benchEval(b *testing.B, src string) {
	b.Helper()
	l := make([]any, 100)
	for i := range l {
		l[i] = map[string]any{"v": int64(i), "s": "ACTIVE"}
	}
	env := &Env{Data: map[string]any{"l": l}}
	for b.Loop() {
		if _, err := EvalString(src, env); err != nil {
			b.Fatal(err)
		}
	}
}

// Dicts built inside an expression and read back in order.
func BenchmarkDictBuild(b *testing.B) {
	benchEval(b, "$.l.toDict(str($.v), $.v).values().sum()")
}

// The dict functions a workflow uses to shape data.
func BenchmarkDictOps(b *testing.B) {
	benchEval(b, "$.l.select({id => $.v, state => $.s}.set(ok, true).mergeWith({tags => [$.v]})).where($.ok).len()")
}

// Hashing operations: distinct and toSet over scalars and tuples.
func BenchmarkDistinct(b *testing.B) {
	benchEval(b, "$.l.select([$.v mod 10, $.s]).distinct().len() + $.l.select($.v mod 7).toSet().len()")
}
