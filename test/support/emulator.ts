/** Starts the estate emulator for a test file and gives tests its credential and a plain HTTPS client. */

import { request as httpsRequest } from "node:https";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { afterAll } from "vitest";
import {
  type RunningEmulator,
  type StartEmulatorOptions,
  startEmulator,
} from "../../src/emulator/index.js";

/** `test/fixtures/seeds`: the seed folders tests share (`basic`, …). */
export const SEEDS_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "seeds",
);

/** The path of a shared seed folder by name, e.g. `seedPath("basic")`. */
export function seedPath(name: string): string {
  return join(SEEDS_DIR, name);
}

/**
 * Starts an emulator over `seedDir` (a path, or the name of a folder under test/fixtures/seeds)
 * and closes it in `afterAll`. Call it from a `beforeAll`, a `describe` body or the module's top
 * level, not inside a test (there, use `startEmulator` with `onTestFinished(() => e.close())`).
 * @throws {SeedError} when the seed is broken
 */
export async function startTestEmulator(
  seedDir: string,
  options: Omit<StartEmulatorOptions, "seedDir"> = {},
): Promise<RunningEmulator> {
  const dir = seedDir.includes("/") || seedDir.includes("\\") ? seedDir : seedPath(seedDir);
  const emulator = await startEmulator({ ...options, seedDir: dir });
  afterAll(() => emulator.close());
  return emulator;
}

/** A `TokenCredential` that hands out the emulator's static bearer token (for Azure SDK clients). */
export function emulatorCredential(emulator: Pick<RunningEmulator, "token">): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token: emulator.token, expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
    },
  };
}

/** One HTTP response as a plain client sees it. */
export interface EmulatorHttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** Options of {@link emulatorRequest}. */
export interface EmulatorRequestOptions {
  method?: string;
  body?: unknown;
  /** Authorization header; default `Bearer <emulator.token>`, `null` sends none. */
  authorization?: string | null;
  headers?: Record<string, string>;
}

/**
 * Sends one request to the emulator over HTTPS trusting its CA. `path` is absolute (`/subscriptions…`)
 * or a full URL (a `nextLink`).
 */
export function emulatorRequest(
  emulator: Pick<RunningEmulator, "armEndpoint" | "caPem" | "token">,
  path: string,
  options: EmulatorRequestOptions = {},
): Promise<EmulatorHttpResponse> {
  const url = new URL(path, emulator.armEndpoint);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const authorization =
    options.authorization === undefined ? `Bearer ${emulator.token}` : options.authorization;
  if (authorization !== null) headers.authorization = authorization;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    payload = Buffer.from(
      typeof options.body === "string" ? options.body : JSON.stringify(options.body),
    );
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(payload.length);
  }
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest(
      url,
      { method: options.method ?? "GET", headers, ca: emulator.caPem, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text === "" ? undefined : (JSON.parse(text) as unknown);
          } catch (error) {
            if (!(error instanceof SyntaxError)) throw error;
            json = undefined;
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
