/**
 * `vigil gate --url URL (--scope S | --environment E)`: ask a running vigil (Azure or `vigil
 * serve`) whether a release may proceed. Exit 0 pass, 1 fail, 2 unknown or no answer, so that a
 * pipeline step can use the exit code as it is.
 */

import { parseArgs } from "node:util";
import { terminalSafe } from "../reports/index.js";
import { type CliIo, UsageError } from "./main.js";

/** Help for `vigil gate`. */
export const GATE_HELP = `Usage: vigil gate --url URL (--scope S | --environment E) [options]

Ask vigil's gate whether a release may proceed, and exit with its answer:
0 pass, 1 fail (failing controls at or above --min-severity), 2 unknown (never scanned, stale
state, controls that could not be evaluated) or no usable answer. Fails closed.

  --url URL            vigil's base URL (https://<app>.azurewebsites.net or http://127.0.0.1:7071)
  --scope S            a subscription id, cluster name, TLS set or tenant id
  --environment E      an environment of vigil's config (its match.scopes)
  --min-severity S     critical, high, medium or low (default low)
  --max-age MIN        state older than this many minutes is unknown (default 60)
  --timeout SEC        give up after this many seconds (default 30)
  --json               print the gate's JSON answer instead of a summary

The function key comes from VIGIL_FUNCTION_KEY (sent as x-functions-key); an Entra ID access
token for vigil's API, when it asks for one, from VIGIL_GATE_TOKEN.
`;

/** `vigil gate ARGS`; resolves to the exit code. @throws UsageError for a bad flag */
export async function gateCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        url: { type: "string" },
        scope: { type: "string" },
        environment: { type: "string" },
        "min-severity": { type: "string" },
        "max-age": { type: "string" },
        timeout: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new UsageError(
      (error as Error).message.replace(/\. To specify a positional argument.*$/s, ""),
    );
  }
  if (values.help === true) {
    io.stdout(GATE_HELP);
    return 0;
  }
  if (typeof values.url !== "string") throw new UsageError("gate needs --url");
  if ((values.scope === undefined) === (values.environment === undefined))
    throw new UsageError("gate needs exactly one of --scope and --environment");
  let base: URL;
  try {
    base = new URL(values.url);
  } catch {
    throw new UsageError(`--url is not a URL: '${values.url}'`);
  }
  const url = new URL("api/gate", base.href.endsWith("/") ? base.href : `${base.href}/`);
  if (typeof values.scope === "string") url.searchParams.set("scope", values.scope);
  if (typeof values.environment === "string")
    url.searchParams.set("environment", values.environment);
  if (typeof values["min-severity"] === "string")
    url.searchParams.set("minSeverity", values["min-severity"]);
  if (typeof values["max-age"] === "string")
    url.searchParams.set("maxAgeMinutes", values["max-age"]);
  const timeout = Number(values.timeout ?? "30");
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError("--timeout must be a number of seconds");
  const env = io.env ?? {};
  const headers: Record<string, string> = { accept: "application/json" };
  if (env.VIGIL_FUNCTION_KEY) headers["x-functions-key"] = env.VIGIL_FUNCTION_KEY;
  if (env.VIGIL_GATE_TOKEN) headers.authorization = `Bearer ${env.VIGIL_GATE_TOKEN}`;

  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(timeout * 1000) });
  } catch (error) {
    io.stderr(
      `vigil gate: no answer from ${url.origin}: ${terminalSafe((error as Error).message)}; failing closed\n`,
    );
    return 2;
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) {
    // The Functions host answers a missing or wrong key with an empty body.
    let detail = "";
    try {
      const refused = JSON.parse(text) as { error?: { code?: string; message?: string } };
      detail = ` ${terminalSafe(refused.error?.code ?? "")}: ${terminalSafe(refused.error?.message ?? "")}`;
    } catch {
      detail = "";
    }
    io.stderr(
      `vigil gate: ${response.status}${detail}${response.status === 401 ? " (set VIGIL_FUNCTION_KEY, and VIGIL_GATE_TOKEN when vigil asks for an Entra ID token)" : " (the token lacks the Gate.Read role)"}; failing closed\n`,
    );
    return 2;
  }
  let body: {
    decision?: unknown;
    reasons?: unknown;
    failing?: { controlId?: string; resourceId?: string; severity?: string; status?: string }[];
    error?: { code?: string; message?: string };
  };
  try {
    body = JSON.parse(text);
  } catch {
    io.stderr(
      `vigil gate: ${url.origin} answered ${response.status} without JSON; failing closed\n`,
    );
    return 2;
  }
  if (response.status === 400) {
    io.stderr(
      `vigil gate: 400 ${terminalSafe(body.error?.code ?? "")}: ${terminalSafe(body.error?.message ?? "")}; failing closed\n`,
    );
    return 2;
  }
  const expected = { 200: "pass", 409: "fail", 503: "unknown" } as Record<number, string>;
  if (expected[response.status] === undefined || body.decision !== expected[response.status]) {
    io.stderr(`vigil gate: unexpected answer ${response.status}; failing closed\n`);
    return 2;
  }
  if (values.json === true) io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  else {
    io.stdout(`vigil gate: ${String(body.decision).toUpperCase()}\n`);
    for (const reason of Array.isArray(body.reasons) ? body.reasons : [])
      io.stdout(`  ${terminalSafe(String(reason))}\n`);
    for (const f of (body.failing ?? []).slice(0, 50))
      io.stdout(
        `  ${terminalSafe(String(f.status)).padEnd(5)} ${terminalSafe(String(f.severity)).padEnd(8)} ${terminalSafe(String(f.controlId))}  ${terminalSafe(String(f.resourceId))}\n`,
      );
  }
  return body.decision === "pass" ? 0 : body.decision === "fail" ? 1 : 2;
}
