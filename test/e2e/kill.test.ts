/**
 * A scan killed with SIGKILL (at seeded random points, six times) leaves a ledger that
 * `vigil verify` passes, and the next complete run continues the chain from the head the killed
 * runs left. The CLI runs in its own process group, so its Azurite children can be found and
 * stopped: nothing is left running.
 *
 * Two ways to die:
 * - `group`: the CLI and its local Azurite are SIGKILLed together (a container killed). Azurite
 *   saves its metadata every 5 s and on shutdown, so the store keeps what it last saved.
 * - `writer`: only the CLI is SIGKILLed; the store outlives it, as Azure Storage outlives a
 *   Functions worker, so whatever the writer had written stays: the orphaned Azurite processes
 *   are given time for their 5-second metadata autosave, then sent SIGTERM.
 *
 * A demo run spends about eight seconds collecting and only its last few hundred milliseconds
 * writing to the store, so kills spread evenly over the run would almost never land mid-write.
 * One kill lands at a random point of the run; the others at a random offset after the store's
 * folder first changes (Azurite starting, then snapshots, records and index rows being written).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type Dirent, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRandom } from "../../src/emulator/faults.js";
import { ROOT, tempDir, vigil } from "../support/cli.js";
import { liveProcesses } from "../support/processes.js";

const MIN_DELAY_MS = 1_000;
const MAX_DELAY_MS = 7_000;
const WRITE_KILLS = 5;
const MAX_WRITE_OFFSET_MS = 600;
/** Azurite saves its metadata every 5 s (LokiJS autosave); SIGTERM alone does not save it. */
const AZURITE_AUTOSAVE_WAIT_MS = 6_000;

/** When to kill: `ms` after the start (`run`) or after the store's folder first changes (`write`). */
interface KillPoint {
  after: "run" | "write";
  ms: number;
  kill: "group" | "writer";
}

const random = createRandom(20_261_123);
const KILL_POINTS: KillPoint[] = [
  {
    after: "run",
    ms: Math.round(MIN_DELAY_MS + random() * (MAX_DELAY_MS - MIN_DELAY_MS)),
    kill: "group",
  },
  ...Array.from({ length: WRITE_KILLS }, (_, i) => ({
    after: "write" as const,
    ms: Math.round(random() * MAX_WRITE_OFFSET_MS),
    kill: i === 0 ? ("group" as const) : ("writer" as const),
  })),
];

function scanArgs(storeDir: string): string[] {
  return [
    join(ROOT, "bin", "vigil.js"),
    "scan",
    "--emulate",
    "estates/demo",
    "--config",
    "estates/demo/vigil.config.json",
    "--store-dir",
    storeDir,
    "--fail-on",
    "none",
    "-q",
  ];
}

/** Every file below `dir` with its size and modification time; empty when `dir` is missing. */
function signature(dir: string): string {
  const parts: string[] = [];
  const walk = (at: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        try {
          const { size, mtimeMs } = statSync(path);
          parts.push(`${path}:${size}:${mtimeMs}`);
        } catch (error) {
          // Azurite renames its database files into place: one may vanish between list and stat.
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
    }
  };
  walk(dir);
  return parts.sort().join("\n");
}

/** Resolves when `dir` differs from `before`, or when `child` has exited (false then). */
async function firstChange(dir: string, before: string, child: ChildProcess): Promise<boolean> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (signature(dir) !== before) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Processes of group `pgid` that are still running (zombies awaiting a reaper do not count). */
function liveMembers(pgid: number): number[] {
  return liveProcesses()
    .filter((p) => p.pgrp === pgid)
    .map((p) => p.pid);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

function killGroup(pgid: number): void {
  signal(-pgid, "SIGKILL");
}

async function waitForNoMembers(pgid: number, timeoutInMs: number): Promise<number[]> {
  const until = Date.now() + timeoutInMs;
  let live = liveMembers(pgid);
  while (live.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    live = liveMembers(pgid);
  }
  return live;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** The head `vigil verify` reports, or 0 for an empty ledger. */
function headSeq(stdout: string): number {
  const match = /head #(\d+) /.exec(stdout);
  return match === null ? 0 : Number(match[1]);
}

describe.runIf(process.platform === "linux")("a scan killed with SIGKILL mid-write", () => {
  let dir: string;
  const groups: number[] = [];
  let head = 0;

  beforeAll(() => {
    dir = tempDir("vigil-kill-");
  });

  afterAll(async () => {
    for (const pgid of groups) killGroup(pgid);
    for (const pgid of groups) expect(await waitForNoMembers(pgid, 10_000)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(
    KILL_POINTS.map((point, i) => [i + 1, point.kill, point.ms, point.after, point] as const),
  )(
    "kill %i (%s), %i ms after the %s starts, leaves a ledger that verifies",
    async (_n, _kill, _ms, _after, point) => {
      const before = signature(join(dir, "azurite"));
      const child = spawn(process.execPath, scanArgs(dir), {
        cwd: ROOT,
        detached: true,
        stdio: "ignore",
      });
      const pgid = child.pid as number;
      groups.push(pgid);
      if (point.after === "write") await firstChange(join(dir, "azurite"), before, child);
      await new Promise((resolve) => setTimeout(resolve, point.ms));

      if (point.kill === "group") killGroup(pgid);
      else {
        signal(pgid, "SIGKILL");
        await exited(child);
        // The orphaned Azurite processes: let them save what the writer wrote, then stop them.
        await new Promise((resolve) => setTimeout(resolve, AZURITE_AUTOSAVE_WAIT_MS));
        signal(-pgid, "SIGTERM");
        if ((await waitForNoMembers(pgid, 15_000)).length > 0) killGroup(pgid);
      }
      await exited(child);
      const left = await waitForNoMembers(pgid, 10_000);
      const run = vigil(["verify", "--store-dir", dir]);

      expect(left).toEqual([]);
      expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^ledger intact: /);
      const now = headSeq(run.stdout);
      expect(now).toBeGreaterThanOrEqual(head);
      head = now;
    },
  );

  it("continues the chain from the head the killed runs left, and verifies", () => {
    const scan = vigil(scanArgs(dir).slice(1));
    const run = vigil(["verify", "--store-dir", dir]);

    expect(scan.code, scan.stderr).toBe(0);
    const seqs = /evidence record\(s\) \(seq (\d+)–(\d+)\)/.exec(scan.stderr);
    expect(seqs, scan.stderr).not.toBeNull();
    expect(Number(seqs?.[1])).toBe(head + 1);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
    expect(headSeq(run.stdout)).toBe(Number(seqs?.[2]));
  });
});
