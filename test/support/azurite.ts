/** Starts an in-memory Azurite on random ports for a test file and stops it after the file. */

import { afterAll } from "vitest";
import { type LocalStore, startLocalStore } from "../../src/store/index.js";

/**
 * Starts Azurite in memory on ports the OS picks and closes it in `afterAll`. Call it from a
 * `beforeAll`, a `describe` body or the module's top level.
 * @throws {LocalStoreError} when Azurite does not start
 */
export async function startTestAzurite(): Promise<LocalStore> {
  const store = await startLocalStore({ inMemory: true });
  afterAll(() => store.close());
  return store;
}

let counter = 0;

/** A container or table name no other test in this process uses (letters and digits only). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}`.toLowerCase().replace(/[^a-z0-9]/g, "");
}
