// node's object churn and JSON, for A/B runs of node (bench/alternate,
// bench/exit_time): a short process whose report at exit names sites in
// a 90 MB binary with DWARF for a few of its objects only.
let live = [];
for (let i = 0; i < 200000; i++) {
	live.push({ k: 'x' + i, v: [i, i + 1] });
	if (live.length > 5000)
		live = [];
}
const text = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ i, s: 'abc' + i })));
console.log(JSON.parse(text).length);
