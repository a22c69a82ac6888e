#!/usr/bin/env node
// Prints the size of the built app's JavaScript and CSS, raw and gzip (level 9), from dist/.
// Run `npm run build` first.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'assets');
/** @param {number} n */
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

let files;
try {
  files = (await readdir(dist)).filter((f) => /\.(js|css)$/.test(f)).sort();
} catch {
  console.error('bundle-size: no dist/assets; run `npm run build` first');
  process.exit(1);
}
const totals = { js: [0, 0], css: [0, 0] };
for (const file of files) {
  const bytes = await readFile(path.join(dist, file));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const kind = file.endsWith('.css') ? 'css' : 'js';
  totals[kind][0] += bytes.length;
  totals[kind][1] += gz;
  console.log(`${file.padEnd(32)} ${kib(bytes.length).padStart(10)}  gzip ${kib(gz).padStart(9)}`);
}
const all = [totals.js[0] + totals.css[0], totals.js[1] + totals.css[1]];
console.log(`JS  total ${kib(totals.js[0])}, gzip ${kib(totals.js[1])}`);
console.log(`CSS total ${kib(totals.css[0])}, gzip ${kib(totals.css[1])}`);
console.log(`JS+CSS gzip: ${kib(all[1])} (${all[1]} bytes; raw ${kib(all[0])})`);
