/** Runs the real `vigil` executable (bin/vigil.js over the built dist/) as a child process. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The outcome of one CLI run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `vigil ARGS` in `cwd` (default: the repository) with the same Node as the tests. */
export function vigil(args: readonly string[], cwd: string = ROOT): CliRun {
  const result = spawnSync(process.execPath, [join(ROOT, "bin", "vigil.js"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh temporary folder. */
export function tempDir(prefix = "vigil-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write files (path → JSON value or raw string) below `dir`. */
export function writeTree(dir: string, files: Record<string, unknown>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(
      full,
      typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`,
    );
  }
}
