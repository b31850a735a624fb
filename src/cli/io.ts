/** Shared by the CLI's commands: where the store is, and writing an output file whole or not at all. */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { defaultCredential, FileAccessError, type OpenEvidenceStoreOptions } from "../app/index.js";
import type { CliIo } from "./main.js";

/**
 * Where `--store` records: an Azure Storage account when VIGIL_STORAGE_CONNECTION_STRING or
 * VIGIL_STORAGE_ACCOUNT_URL is set (managed identity or DefaultAzureCredential for the URL),
 * else a local store persisted under `--store-dir` (default `.vigil` in the working directory).
 */
export function storeLocation(
  dir: string | boolean | undefined,
  io: CliIo,
): OpenEvidenceStoreOptions {
  const env = io.env ?? {};
  if (env.VIGIL_STORAGE_CONNECTION_STRING !== undefined)
    return { connectionString: env.VIGIL_STORAGE_CONNECTION_STRING };
  if (env.VIGIL_STORAGE_ACCOUNT_URL !== undefined)
    return {
      accountUrl: env.VIGIL_STORAGE_ACCOUNT_URL,
      credential: defaultCredential("https://login.microsoftonline.com", env),
    };
  return { localDir: resolve(typeof dir === "string" ? dir : ".vigil") };
}

/** Write a file whole or not at all: a temporary file beside it, then a rename. */
export function writeAtomically(path: string, content: string | Uint8Array): void {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(temp, content, { flag: "wx" });
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new FileAccessError(
      `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      path,
      { cause: error },
    );
  }
}
