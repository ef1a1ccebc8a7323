#!/usr/bin/env node
// tests/bench/duckdb.js -- DuckDB (@duckdb/node-api from tests/interop) as
// the reference for atfh-count on jetstream NDJSON.
//
//   node duckdb.js FILE collection|did-top10 THREADS RUNS
//
// Runs the query RUNS times in one process (DuckDB with THREADS threads)
// and prints the best query time in seconds on the first line, then the
// result as TSV (key, count; largest first, ties by key), as atfh-count
// --tsv prints it without its header.  Only the query is timed, not the
// start of node or of DuckDB.
'use strict';
const path = require('path');
const iop = path.join(__dirname, '..', 'interop');
const { DuckDBInstance } = require(require.resolve('@duckdb/node-api', { paths: [iop] }));

const [file, what, threads = '2', runs = '3'] = process.argv.slice(2);
if (!file || !['collection', 'did-top10'].includes(what)) {
	console.error('usage: duckdb.js FILE collection|did-top10 [THREADS] [RUNS]');
	process.exit(2);
}
const src = `read_json_objects('${file.replace(/'/g, "''")}', format = 'newline_delimited')`;
const key = what === 'collection' ? '$.commit.collection' : '$.did';
const sql = `SELECT json_extract_string(json, '${key}') AS k, count(*) AS n FROM ${src} ` +
	`GROUP BY k ORDER BY n DESC, k` + (what === 'did-top10' ? ' LIMIT 10' : '');

(async () => {
	const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
	const con = await db.connect();
	let best = Infinity, rows;
	for (let i = 0; i < Number(runs); i++) {
		const t0 = process.hrtime.bigint();
		const r = await con.runAndReadAll(sql);
		rows = r.getRows();
		const s = Number(process.hrtime.bigint() - t0) / 1e9;
		if (s < best) best = s;
	}
	const out = [best.toFixed(3)];
	for (const [k, n] of rows)
		out.push(`${k === null ? 'null' : k}\t${n}`);
	process.stdout.write(out.join('\n') + '\n');
})().catch((e) => {
	console.error('duckdb.js: ' + e.message);
	process.exit(2);
});
