/**
 * Child process for test/unit/cli/startup.test.ts: runs the CLI's `main(argv)` quietly, then
 * imports the modules named after `--then`, and prints (JSON) the heavy packages the process has
 * loaded: Azure SDKs, the Kubernetes client, Azurite, node-forge. ES modules are seen through a
 * resolve hook, CommonJS ones through require's cache.
 *
 * Run: node --import tsx test/support/cli-loaded-packages.ts LIST_FILE ARGV_JSON [--then MODULE…]
 */
import { appendFileSync, readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

const [list, argvJson, ...rest] = process.argv.slice(2);
if (list === undefined || argvJson === undefined)
  throw new Error("usage: cli-loaded-packages.ts LIST_FILE ARGV_JSON [--then MODULE…]");
appendFileSync(list, "");
register(pathToFileURL(`${import.meta.dirname}/record-resolved-hook.mjs`), {
  data: { file: list },
});

const { main } = await import("../../src/cli/main.js");
await main(JSON.parse(argvJson) as string[], {
  stdout() {},
  stderr() {},
  now: () => Date.now(),
  env: {},
});
for (const module of rest.slice(rest.indexOf("--then") + 1))
  await import(pathToFileURL(module).href);

const files = [
  ...readFileSync(list, "utf8").split("\n"),
  ...Object.keys(createRequire(import.meta.url).cache),
];
const heavy = new Set<string>();
for (const file of files) {
  const match =
    /node_modules[\\/]((?:@azure|@azure-rest|@kubernetes)[\\/][^\\/]+|azurite|node-forge)[\\/]/.exec(
      file,
    );
  if (match?.[1] !== undefined) heavy.add(match[1].replace(/\\/g, "/"));
}
process.stdout.write(JSON.stringify([...heavy].sort()));
