// node's object churn and JSON (bench/run's node workload; bench/alternate,
// bench/exit_time): short-lived objects, strings and arrays in V8's heap,
// with malloc under it for V8's own tables, OpenSSL's start-up and the
// JSON text.  A short process whose report at exit names sites in a
// 90 MB binary with DWARF for a few of its objects only.
//
//	node objects.js [SCALE]    (default 1: about a second)
const scale = Number(process.argv[2] || 1);
const rounds = Math.max(1, Math.round(2000000 * scale));
let live = [];
for (let i = 0; i < rounds; i++) {
	live.push({ k: 'x' + i, v: [i, i + 1] });
	if (live.length > 5000)
		live = [];
}
const text = JSON.stringify(Array.from({ length: Math.max(1, Math.round(200000 * scale)) },
					(_, i) => ({ i, s: 'abc' + i })));
console.log(JSON.parse(text).length);
