/**
 * The estate's blob storage: Azurite from node_modules over HTTPS with basic OAuth, one account per
 * `<seed>/blob/<account>` folder, preloaded with every file of the seed's containers.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, relative, sep } from "node:path";
import {
  BlobServiceClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import type { CertificateAuthority } from "./certificates.js";
import { SeedError } from "./errors.js";

/** A running Azurite blob service. */
export interface BlobStoreHandle {
  /** `https://<host>:<port>/{account}`: replace `{account}` with an account (folder) name. */
  blobEndpointTemplate: string;
  /** Account names, in folder order. */
  accounts: string[];
  /** Stops Azurite and removes its certificate files. */
  close(): Promise<void>;
}

/** Options of {@link startBlobStore}. */
export interface StartBlobStoreOptions {
  /** Issues Azurite's server certificate (for 127.0.0.1, localhost and `host`). */
  ca: CertificateAuthority;
  /** Address Azurite listens on. */
  host: string;
  /** Gives up when Azurite has not reported its port within this time; default 30 000. */
  startTimeoutInMs?: number;
}

/**
 * Ends the name of a blob's sidecar file (`<blob path>.meta.json`): seed metadata for the blob
 * proxy (see blob-proxy.ts), never uploaded as a blob itself.
 */
export const SIDECAR_SUFFIX = ".meta.json";

/** Azure storage account names: 3 to 24 lowercase letters and digits. */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
/** Placeholder files that keep an empty container folder in git; never uploaded. */
const PLACEHOLDERS = new Set([".gitkeep", ".keep"]);
const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".gz": "application/gzip",
  ".sql": "application/sql",
};
const DAY_IN_MS = 24 * 60 * 60 * 1000;

/**
 * Starts Azurite's blob service (in memory, HTTPS with a certificate from `ca`, `--oauth basic`,
 * `--skipApiVersionCheck`) with one account per folder of `dir`, then uploads each file under
 * `dir/<account>/<container>/` as a block blob named by its relative path, except sidecar files
 * (names ending in {@link SIDECAR_SUFFIX}).
 *
 * Blob `lastModified` is the upload time: Azure's API (and so Azurite) has no way to set it; the
 * blob proxy (blob-proxy.ts) rewrites it from the sidecars.
 * Clients must trust `ca.caPem`; with `@azure/storage-blob` pass it as
 * `{ tlsOptions: { ca } }` in the client options (see {@link blobClientOptions}).
 *
 * @throws SeedError when `dir` holds something other than account folders with container
 *   folders, an account or container name Azure would refuse, or a file Azurite will not take.
 * @throws Error when Azurite exits or stays silent before reporting its port.
 */
export async function startBlobStore(
  dir: string,
  options: StartBlobStoreOptions,
): Promise<BlobStoreHandle> {
  const layout = readLayout(dir);
  const keys = new Map(layout.map((account) => [account.name, randomBytes(64).toString("base64")]));
  const workDir = mkdtempSync(join(tmpdir(), "vigil-azurite-"));
  let child: ChildProcess | undefined;
  const killOnExit = (): void => {
    child?.kill("SIGKILL");
  };
  const close = async (): Promise<void> => {
    process.off("exit", killOnExit);
    if (child !== undefined) await stop(child);
    rmSync(workDir, { recursive: true, force: true });
  };

  try {
    // Clients check the certificate against the real clock, not the estate's "now".
    const now = Date.now();
    const issued = options.ca.issue({
      names: [...new Set(["127.0.0.1", "localhost", options.host])],
      commonName: "azurite",
      notBefore: new Date(now - DAY_IN_MS),
      notAfter: new Date(now + 365 * DAY_IN_MS),
    });
    const certFile = join(workDir, "cert.pem");
    const keyFile = join(workDir, "key.pem");
    writeFileSync(certFile, issued.certPem, { mode: 0o600 });
    writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });

    const env: NodeJS.ProcessEnv = { ...process.env };
    if (keys.size > 0) {
      env.AZURITE_ACCOUNTS = [...keys].map(([name, key]) => `${name}:${key}`).join(";");
    }
    // An orphaned Azurite would keep its port and memory after this process ends. On a normal
    // exit the handler below kills it; when this process ends without running exit handlers
    // (SIGKILL, a terminated worker thread), the pipe on Azurite's stdin closes and the guard
    // loaded before Azurite exits it (as vigil's local store does for its own Azurite).
    child = spawn(
      process.execPath,
      [
        "--import",
        PARENT_GUARD,
        azuriteBlobEntry(),
        "--blobHost",
        options.host,
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--disableProductStyleUrl",
        "--silent",
        "--oauth",
        "basic",
        "--cert",
        certFile,
        "--key",
        keyFile,
      ],
      { cwd: workDir, env, stdio: ["pipe", "pipe", "pipe"] },
    );
    process.on("exit", killOnExit);
    const port = await waitForPort(child, options.startTimeoutInMs ?? 30_000);
    const blobEndpointTemplate = `https://${hostForUrl(options.host)}:${port}/{account}`;

    for (const account of layout) {
      const client = new BlobServiceClient(
        blobEndpointTemplate.replace("{account}", account.name),
        new StorageSharedKeyCredential(account.name, keys.get(account.name) ?? ""),
        blobClientOptions(options.ca.caPem),
      );
      for (const container of account.containers) {
        const containerClient = client.getContainerClient(container.name);
        await createContainer(containerClient, join(dir, account.name, container.name));
        for (const file of container.files) {
          const blobName = relative(join(dir, account.name, container.name), file)
            .split(sep)
            .join("/");
          try {
            await containerClient.getBlockBlobClient(blobName).uploadData(readFileSync(file), {
              blobHTTPHeaders: {
                blobContentType: CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
              },
            });
          } catch (error) {
            throw new SeedError(`Azurite refused the blob: ${message(error)}`, file, {
              cause: error,
            });
          }
        }
      }
    }

    return { blobEndpointTemplate, accounts: layout.map((account) => account.name), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Client options for `@azure/storage-blob` that trust `caPem`. The storage SDK's options type
 * does not declare it, but it hands its options to core-rest-pipeline's
 * `createPipelineFromOptions`, whose `tlsOptions` installs the TLS policy (`request.tlsSettings`).
 */
export function blobClientOptions(caPem: string): StoragePipelineOptions {
  const options: StoragePipelineOptions & { tlsOptions: { ca: string } } = {
    tlsOptions: { ca: caPem },
  };
  return options;
}

interface AccountLayout {
  name: string;
  containers: { name: string; files: string[] }[];
}

function readLayout(dir: string): AccountLayout[] {
  return entries(dir).map((account) => {
    const accountDir = join(dir, account);
    if (!statSync(accountDir).isDirectory() || !ACCOUNT_NAME.test(account)) {
      throw new SeedError(
        "expected a storage account folder (3-24 lowercase letters and digits)",
        accountDir,
      );
    }
    return {
      name: account,
      containers: entries(accountDir).map((container) => {
        const containerDir = join(accountDir, container);
        if (!statSync(containerDir).isDirectory()) {
          throw new SeedError("expected a container folder, not a file", containerDir);
        }
        return { name: container, files: filesUnder(containerDir) };
      }),
    };
  });
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (error) {
    throw new SeedError("cannot read the folder", dir, { cause: error });
  }
}

function filesUnder(dir: string): string[] {
  return entries(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return PLACEHOLDERS.has(name) || name.endsWith(SIDECAR_SUFFIX) ? [] : [path];
  });
}

async function createContainer(
  client: ReturnType<BlobServiceClient["getContainerClient"]>,
  folder: string,
): Promise<void> {
  try {
    await client.create();
  } catch (error) {
    throw new SeedError(`Azurite refused the container: ${message(error)}`, folder, {
      cause: error,
    });
  }
}

/** The blob service's entry script (`azurite-blob` bin) inside the installed azurite package. */
function azuriteBlobEntry(): string {
  const require = createRequire(import.meta.url);
  const packageFile = require.resolve("azurite/package.json");
  const manifest = JSON.parse(readFileSync(packageFile, "utf8")) as {
    bin?: Record<string, string>;
  };
  return join(dirname(packageFile), manifest.bin?.["azurite-blob"] ?? "dist/src/blob/main.js");
}

/** Resolves with the port Azurite prints ("successfully listens on https://host:port"). */
function waitForPort(child: ChildProcess, timeoutInMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`Azurite did not report its port within ${timeoutInMs} ms: ${output}`));
    }, timeoutInMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const match = /successfully listens on https?:\/\/\S+:(\d+)/.exec(output);
      if (match) {
        finish();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null): void => {
      finish();
      reject(new Error(`Azurite exited (code ${code}) before listening: ${output.trim()}`));
    };
    const finish = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      // Keep draining so a chatty Azurite never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Loaded into the Azurite process: it exits when its parent's end of the stdin pipe closes. */
const PARENT_GUARD =
  "data:text/javascript,process.stdin.on('end',()=>process.exit(0));process.stdin.on('error',()=>process.exit(0));process.stdin.resume();";
