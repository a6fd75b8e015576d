// Runs a Worker module's fetch handler under Node 20 and prints the response body: the
// expected output for crates/nanod/tests/web_api.rs.
//
//   node scripts/node-oracle.mjs crates/nanod/tests/web/url.js > crates/nanod/tests/web/url.expected
//
// Where Node and workerd disagree, the module says so in a comment and the .expected file
// follows workerd (checked with scripts/differential/run.py-style runs of workerd).
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/node-oracle.mjs MODULE.js");
  process.exit(2);
}
const worker = (await import(pathToFileURL(resolve(file)).href)).default;
const ctx = { waitUntil() {}, passThroughOnException() {} };
const response = await worker.fetch(new Request("http://example.com/"), {}, ctx);
process.stdout.write(await response.text());
