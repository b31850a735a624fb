/**
 * The process-wide state the handlers share: the app runtime (catalogue, config, collectors,
 * store, sinks) and the authenticator, built once on first use from the app settings, or handed in
 * by a host that built its own (`vigil serve`, tests).
 */

import type { AppRuntime, Authenticator } from "../src/app/index.js";

/** The use cases, loaded on first use: importing the entry point registers functions and no more. */
export type UseCases = typeof import("../src/app/index.js");

let useCases: Promise<UseCases> | undefined;

/**
 * The use-case layer, imported once on first use. The Functions host imports the entry point to
 * register the functions; keeping the SDKs out of that import keeps cold starts short.
 */
export function loadUseCases(): Promise<UseCases> {
  useCases ??= import("../src/app/index.js");
  return useCases;
}

/** What every handler reads. */
export interface FunctionsHost {
  rt: AppRuntime;
  authenticate: Authenticator;
  /** The use cases (the same module for every handler). */
  app: UseCases;
}

let host: Promise<FunctionsHost> | undefined;

/**
 * The host for this process: the one set with {@link setFunctionsHost}, else one built from the
 * app settings (process.env) on first use.
 * @throws InputError naming the app setting that is wrong
 */
export function functionsHost(): Promise<FunctionsHost> {
  host ??= (async () => {
    const app = await loadUseCases();
    // One state cache per instance: the gate and findings answer from memory until a write
    // through this runtime, or for at most STATE_CACHE_TTL_MS after another instance's write.
    const rt = app.withStateCache(await app.openAppRuntime({ env: process.env }));
    return {
      rt,
      // In Azure the Functions host checks the function keys; vigil checks the Entra token.
      authenticate: app.createAuthenticator(app.authSettingsFromEnvironment(process.env)),
      app,
    };
  })();
  host.catch(() => {
    host = undefined;
  });
  return host;
}

/**
 * Use this host for every handler of the process (`vigil serve`, tests). Its runtime gets a state
 * cache unless it has one over its store already (`withStateCache`); writes made around the
 * handlers through another store object are seen only after the cache's TTL.
 */
export function setFunctionsHost(value: Omit<FunctionsHost, "app"> | undefined): void {
  host =
    value === undefined
      ? undefined
      : loadUseCases().then((app) => ({ ...value, rt: app.withStateCache(value.rt), app }));
}
