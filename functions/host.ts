/**
 * The process-wide state the handlers share: the app runtime (catalogue, config, collectors,
 * store, sinks) and the authenticator, built once on first use from the app settings, or handed in
 * by a host that built its own (`vigil serve`, tests).
 */

import {
  type AppRuntime,
  type Authenticator,
  authSettingsFromEnvironment,
  createAuthenticator,
  openAppRuntime,
} from "../src/app/index.js";

/** What every handler reads. */
export interface FunctionsHost {
  rt: AppRuntime;
  authenticate: Authenticator;
}

let host: Promise<FunctionsHost> | undefined;

/**
 * The host for this process: the one set with {@link setFunctionsHost}, else one built from the
 * app settings (process.env) on first use.
 * @throws InputError naming the app setting that is wrong
 */
export function functionsHost(): Promise<FunctionsHost> {
  host ??= (async () => {
    const rt = await openAppRuntime({ env: process.env });
    return {
      rt,
      // In Azure the Functions host checks the function keys; vigil checks the Entra token.
      authenticate: createAuthenticator(authSettingsFromEnvironment(process.env)),
    };
  })();
  host.catch(() => {
    host = undefined;
  });
  return host;
}

/** Use this host for every handler of the process (`vigil serve`, tests). */
export function setFunctionsHost(value: FunctionsHost | undefined): void {
  host = value === undefined ? undefined : Promise.resolve(value);
}
