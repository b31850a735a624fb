/**
 * The findings API's use case: current state, filtered and paged, each row with the finding that
 * set it (reason, family, frameworks, trace). Deterministic order (scope, control, resource), so
 * that a cursor names a position that stays put between pages.
 */

import {
  FAMILIES,
  type Family,
  type Finding,
  InputError,
  SEVERITIES,
  type Severity,
  STATUSES,
  type StateRow,
  type Status,
} from "../core/index.js";
import { type AppRuntime, readState } from "./runtime.js";

/** The formats the findings API renders. */
export const FINDINGS_FORMATS = ["json", "csv", "sarif", "ocsf"] as const;
export type FindingsFormat = (typeof FINDINGS_FORMATS)[number];

/** A findings query: every filter is optional; several values of one filter are alternatives. */
export interface FindingsQuery {
  status?: Status[];
  severity?: Severity[];
  family?: Family[];
  control?: string[];
  /** Resource ids that start with this text. */
  resource?: string;
  scope?: string[];
  format: FindingsFormat;
  /** Page size (default 100, at most 1000). */
  limit: number;
  /** Where the page starts: the `next` of the previous page. */
  cursor?: string;
}

/** One page of findings. */
export interface FindingsPage {
  findings: Finding[];
  /** Findings matching the filters, over all pages. */
  total: number;
  /** The cursor of the next page; absent on the last page. */
  next?: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const PARAMETERS = [
  "status",
  "severity",
  "family",
  "control",
  "resource",
  "scope",
  "format",
  "limit",
  "cursor",
];

/**
 * Parse the findings API's query parameters (a filter may repeat or hold a comma-separated list).
 * @throws InputError naming the parameter that is wrong
 */
export function parseFindingsQuery(params: URLSearchParams): FindingsQuery {
  for (const key of params.keys())
    if (!PARAMETERS.includes(key))
      throw new InputError(`unknown query parameter ${key}`, { pointer: key });
  const list = (name: string): string[] | undefined => {
    const values = params
      .getAll(name)
      .flatMap((v) => v.split(","))
      .map((v) => v.trim())
      .filter((v) => v !== "");
    return values.length > 0 ? values : undefined;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T[] | undefined => {
    const values = list(name);
    for (const v of values ?? [])
      if (!(allowed as readonly string[]).includes(v))
        throw new InputError(`${name} must be among ${allowed.join(", ")}`, { pointer: name });
    return values as T[] | undefined;
  };
  const format = params.get("format") ?? "json";
  if (!(FINDINGS_FORMATS as readonly string[]).includes(format))
    throw new InputError(`format must be one of ${FINDINGS_FORMATS.join(", ")}`, {
      pointer: "format",
    });
  const limitText = params.get("limit");
  let limit = DEFAULT_LIMIT;
  if (limitText !== null) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT)
      throw new InputError(`limit must be a whole number from 1 to ${MAX_LIMIT}`, {
        pointer: "limit",
      });
  }
  const cursor = params.get("cursor");
  if (cursor !== null) decodeCursor(cursor);
  const query: FindingsQuery = { format: format as FindingsFormat, limit };
  const status = oneOf("status", STATUSES);
  const severity = oneOf("severity", SEVERITIES);
  const family = oneOf("family", FAMILIES);
  const control = list("control");
  const scope = list("scope");
  const resource = params.get("resource");
  if (status !== undefined) query.status = status;
  if (severity !== undefined) query.severity = severity;
  if (family !== undefined) query.family = family;
  if (control !== undefined) query.control = control;
  if (scope !== undefined) query.scope = scope;
  if (resource !== null && resource !== "") query.resource = resource;
  if (cursor !== null) query.cursor = cursor;
  return query;
}

/**
 * One page of the current findings that match the query. Rows of deleted resources are left out
 * unless `not_applicable` is asked for. The rows may come from the runtime's state cache
 * (`withStateCache`): a write through this runtime shows at once, another instance's within
 * `STATE_CACHE_TTL_MS`.
 * @throws InputError for a malformed cursor; StoreError when the store cannot be read
 */
export async function queryFindings(rt: AppRuntime, query: FindingsQuery): Promise<FindingsPage> {
  const scopes =
    query.scope ??
    (
      await readState(rt, "scopes", async () => {
        const all: string[] = [];
        for await (const row of rt.store.runs.listScopes()) all.push(row.scope);
        return all;
      })
    ).value;
  const sorted = [...new Set(scopes)].sort(compare);
  // Every scope's rows at once, each through the runtime's state cache when it has one.
  const lists = await Promise.all(
    sorted.map(
      async (scope) =>
        (
          await readState(rt, `rows\u0000${scope}`, async () => {
            const rows: StateRow[] = [];
            for await (const row of rt.store.listState(scope)) rows.push(row);
            return rows;
          })
        ).value,
    ),
  );
  const matches: Finding[] = [];
  for (const rows of lists) {
    for (const row of rows) {
      if (row.finding === undefined) continue;
      if (
        query.status !== undefined
          ? !query.status.includes(row.status)
          : row.deletedAt !== undefined
      )
        continue;
      if (query.severity !== undefined && !query.severity.includes(row.severity)) continue;
      if (query.family !== undefined && !query.family.includes(row.finding.family)) continue;
      if (query.control !== undefined && !query.control.includes(row.controlId)) continue;
      if (query.resource !== undefined && !row.resourceId.startsWith(query.resource)) continue;
      matches.push({ ...row.finding, status: row.status, scope: row.scope });
    }
  }
  matches.sort(
    (a, b) =>
      compare(a.scope ?? "", b.scope ?? "") ||
      compare(a.controlId, b.controlId) ||
      compare(a.resourceId, b.resourceId),
  );
  const offset = query.cursor === undefined ? 0 : decodeCursor(query.cursor);
  const page = matches.slice(offset, offset + query.limit);
  const end = offset + page.length;
  return {
    findings: page,
    total: matches.length,
    ...(end < matches.length ? { next: encodeCursor(end) } : {}),
  };
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset }), "utf8").toString("base64url");
}

function decodeCursor(cursor: string): number {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { o?: unknown };
    if (typeof value.o === "number" && Number.isSafeInteger(value.o) && value.o >= 0)
      return value.o;
  } catch {
    // fall through to the error below
  }
  throw new InputError("cursor is not one this API returned", { pointer: "cursor" });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
