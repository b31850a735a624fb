/**
 * Azure Storage locally: starts Azurite from its npm package on free loopback ports (in memory, or
 * persisted under a folder such as `.vigil/azurite`) and gives back its connection string.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { LocalStoreError } from "./errors.js";

/** Azurite's well-known development account (public, documented; not a secret). */
export const DEV_ACCOUNT_NAME = "devstoreaccount1";
/** The well-known key of {@link DEV_ACCOUNT_NAME} (published in Azurite's README). */
export const DEV_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Options of {@link startLocalStore}. */
export interface StartLocalStoreOptions {
  /** Folder Azurite persists to (created if missing), e.g. `.vigil/azurite`. Default: `.vigil/azurite`. */
  location?: string;
  /** Keep everything in memory (tests); `location` is then ignored. */
  inMemory?: boolean;
  /** Do not pass Azurite's own output through to this process's stderr. Default: true. */
  silent?: boolean;
  /** How long to wait for the three services to listen. Default: 30 000. */
  timeoutInMs?: number;
  /**
   * Ports to listen on (default 0: any free port). A restarted store passes the ports it had, so
   * that clients built on its connection string reach it again.
   */
  ports?: { blob: number; queue: number; table: number };
}

/** A running local Azurite. */
export interface LocalStore {
  /** Connection string with the development account and the three endpoints. */
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  tableEndpoint: string;
  queueEndpoint: string;
  /** The ports the three services listen on. */
  ports: { blob: number; queue: number; table: number };
  /** Stops Azurite (SIGTERM, so a persistent store flushes; SIGKILL after 10 s). */
  close(): Promise<void>;
}

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/\S+)/;

/**
 * Starts Azurite in a child Node process with `--skipApiVersionCheck` (needed by the SDK versions
 * vigil uses; TOOLCHAIN.md) and telemetry off, on ports the OS picks, and resolves once all three
 * services listen.
 * @throws {LocalStoreError} when Azurite is not installed, exits early or does not listen in time
 */
export async function startLocalStore(options: StartLocalStoreOptions = {}): Promise<LocalStore> {
  const bin = azuriteBin();
  const args = [
    bin,
    "--blobPort",
    String(options.ports?.blob ?? 0),
    "--queuePort",
    String(options.ports?.queue ?? 0),
    "--tablePort",
    String(options.ports?.table ?? 0),
    "--blobHost",
    "127.0.0.1",
    "--queueHost",
    "127.0.0.1",
    "--tableHost",
    "127.0.0.1",
    "--skipApiVersionCheck",
    "--disableTelemetry",
    "--silent",
  ];
  if (options.inMemory === true) {
    args.push("--inMemoryPersistence");
  } else {
    const location = resolve(options.location ?? join(".vigil", "azurite"));
    await mkdir(location, { recursive: true });
    args.push("--location", location);
  }

  // An orphaned Azurite would hold its folder and ports after this process ends. On a normal exit
  // the handler below kills it; when this process is killed outright (SIGKILL), the pipe on
  // Azurite's stdin closes and the guard loaded before Azurite exits it.
  const child = spawn(process.execPath, ["--import", PARENT_GUARD, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let endpoints: Record<string, string>;
  try {
    endpoints = await waitForEndpoints(child, options);
  } catch (error) {
    process.removeListener("exit", killOnExit);
    await stop(child);
    throw error;
  }
  const blobEndpoint = `${endpoints.Blob}/${DEV_ACCOUNT_NAME}`;
  const queueEndpoint = `${endpoints.Queue}/${DEV_ACCOUNT_NAME}`;
  const tableEndpoint = `${endpoints.Table}/${DEV_ACCOUNT_NAME}`;
  let closing: Promise<void> | undefined;
  return {
    connectionString: [
      "DefaultEndpointsProtocol=http",
      `AccountName=${DEV_ACCOUNT_NAME}`,
      `AccountKey=${DEV_ACCOUNT_KEY}`,
      `BlobEndpoint=${blobEndpoint}`,
      `QueueEndpoint=${queueEndpoint}`,
      `TableEndpoint=${tableEndpoint}`,
    ].join(";"),
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    ports: {
      blob: Number(new URL(blobEndpoint).port),
      queue: Number(new URL(queueEndpoint).port),
      table: Number(new URL(tableEndpoint).port),
    },
    close() {
      closing ??= stop(child).finally(() => process.removeListener("exit", killOnExit));
      return closing;
    },
  };
}

/** Loaded into the Azurite process: it exits when its parent's end of the stdin pipe closes. */
const PARENT_GUARD =
  "data:text/javascript,process.stdin.on('end',()=>process.exit(0));process.stdin.on('error',()=>process.exit(0));process.stdin.resume();";

/** The path of Azurite's command-line entry (`bin.azurite` of its package.json). */
function azuriteBin(): string {
  const require = createRequire(import.meta.url);
  let packageJsonPath: string;
  try {
    packageJsonPath = require.resolve("azurite/package.json");
  } catch (error) {
    throw new LocalStoreError(
      "Azurite is not installed: the local store needs the `azurite` package (npm install)",
      { cause: error },
    );
  }
  const manifest = require(packageJsonPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.azurite;
  if (bin === undefined) {
    throw new LocalStoreError(`Azurite's package.json names no "azurite" bin: ${packageJsonPath}`);
  }
  return join(dirname(packageJsonPath), bin);
}

function waitForEndpoints(
  child: ChildProcess,
  options: StartLocalStoreOptions,
): Promise<Record<string, string>> {
  const silent = options.silent ?? true;
  const timeoutInMs = options.timeoutInMs ?? 30_000;
  return new Promise((resolvePromise, reject) => {
    const found: Record<string, string> = {};
    let output = "";
    let pending = "";
    const timer = setTimeout(
      () => finish(new LocalStoreError(`Azurite did not listen within ${timeoutInMs} ms${tail()}`)),
      timeoutInMs,
    );
    const tail = () => (output.trim() === "" ? "" : `:\n${output.trim().slice(-2000)}`);
    let done = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      if (!silent) process.stderr.write(text);
      if (done) return;
      output += text;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const match = LISTENING.exec(line);
        if (match?.[1] !== undefined && match[2] !== undefined) found[match[1]] = match[2];
      }
      if (found.Blob && found.Queue && found.Table) finish(undefined);
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(
        new LocalStoreError(
          `Azurite exited before listening (code ${code}, signal ${signal})${tail()}`,
        ),
      );
    const onError = (error: Error) =>
      finish(
        new LocalStoreError(`Azurite could not be started: ${error.message}`, { cause: error }),
      );
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);

    function finish(error: LocalStoreError | undefined) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.removeListener("exit", onExit);
      child.removeListener("error", onError);
      if (error !== undefined) {
        reject(error);
        return;
      }
      // Keep draining the pipes so that a chatty Azurite never blocks on a full pipe.
      if (silent) {
        child.stdout?.removeListener("data", onData);
        child.stderr?.removeListener("data", onData);
        child.stdout?.resume();
        child.stderr?.resume();
      }
      resolvePromise({ ...found });
    }
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill("SIGTERM");
  });
}
