/**
 * The CLI loads the use cases (and with them the Azure SDKs, the store and the emulator) only for
 * commands that use them, after their arguments are checked: help and usage errors answer without
 * them. Checked by the packages a child process has loaded, not by time.
 */

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../support/cli.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");

const CHILD = join(ROOT, "test", "support", "cli-loaded-packages.ts");

/** The heavy packages (scope/name) a child has loaded after `main(argv)` and importing `then`. */
function packagesLoadedBy(argv: string[], then: string[] = []): string[] {
  const list = join(tempDir(), "resolved.txt");
  const child = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      CHILD,
      list,
      JSON.stringify(argv),
      ...(then.length > 0 ? ["--then", ...then] : []),
    ],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
  if (child.status !== 0) throw new Error(`the child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout) as string[];
}

describe("CLI startup", { timeout: 60_000 }, () => {
  it.each([
    [["--help"]],
    [["frobnicate"]],
    [["scan", "--help"]],
    [["scan", "--bogus"]],
    [["scan", "--snapshot", "a", "--emulate", "b"]],
    [["policies", "--help"]],
  ])("%j loads no Azure SDK, store or emulator package", (argv) => {
    expect(packagesLoadedBy(argv)).toEqual([]);
  });

  it("the check sees the SDKs once a command needs them, but not the Kubernetes client", () => {
    const loaded = packagesLoadedBy(["--help"], [join(ROOT, "src", "app", "index.ts")]);

    expect(loaded).toEqual(expect.arrayContaining(["@azure/identity", "@azure/storage-blob"]));
    // The Kubernetes client (the slowest to load) waits until a cluster is read.
    expect(loaded).not.toContain("@kubernetes/client-node");
  });
});
