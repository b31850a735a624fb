/**
 * Azure Resource Graph's `resources` query over the seed's top-level ARM resources, for the
 * narrow query forms vigil's inventory uses: `resources | where type =~ '…' [or …]` or
 * `type in~ (…)`, `order by id asc`, optional `take`/`limit`. Like ARG it lower-cases `type`,
 * adds `subscriptionId`, `resourceGroup` and `tenantId`, omits child resources, and returns no
 * `$skipToken` when the query limits its rows.
 */

import { armError } from "./arm.js";
import type { EmulatorRequest, EmulatorResponse } from "./http-types.js";
import type { SeedState } from "./seed.js";

/** ARG's row cap per response (`options.$top` at most 1000). */
const MAX_TOP = 1000;
/** ARG's page size when the request sets no `$top`. */
const DEFAULT_TOP = 100;

interface ParsedQuery {
  types: string[];
  take?: number;
}

const QUERY =
  /^resources\s*\|\s*where\s+(.+?)(?:\s*\|\s*order\s+by\s+id(?:\s+asc)?)?(?:\s*\|\s*(?:take|limit)\s+(\d+))?\s*$/i;

/** Parses the supported query forms; undefined for anything else. */
export function parseResourceGraphQuery(query: string): ParsedQuery | undefined {
  const match = QUERY.exec(query.replace(/\s+/g, " ").trim());
  if (match === null) return undefined;
  const where = (match[1] as string).trim();
  const take = match[2] === undefined ? undefined : Number(match[2]);
  const inList = /^type\s+in~\s*\(([^)]*)\)$/i.exec(where);
  if (inList !== null) {
    const types: string[] = [];
    for (const item of (inList[1] as string).split(",")) {
      const quoted = /^\s*'([^']+)'\s*$/.exec(item) ?? /^\s*"([^"]+)"\s*$/.exec(item);
      if (quoted === null) return undefined;
      types.push((quoted[1] as string).toLowerCase());
    }
    return take === undefined ? { types } : { types, take };
  }
  const types: string[] = [];
  for (const part of where.split(/\s+or\s+/i)) {
    const equal = /^\(?\s*type\s*=~\s*(?:'([^']+)'|"([^"]+)")\s*\)?$/i.exec(part.trim());
    if (equal === null) return undefined;
    types.push((equal[1] ?? equal[2] ?? "").toLowerCase());
  }
  return take === undefined ? { types } : { types, take };
}

interface SkipToken {
  offset: number;
}

function decodeSkipToken(token: string): SkipToken | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as unknown;
    const offset = (parsed as { offset?: unknown }).offset;
    return typeof offset === "number" && Number.isInteger(offset) && offset >= 0
      ? { offset }
      : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Answers `POST /providers/Microsoft.ResourceGraph/resources`. */
export function handleResourceGraph(request: EmulatorRequest, state: SeedState): EmulatorResponse {
  if (request.method !== "POST") {
    return armError(
      405,
      "MethodNotAllowed",
      `Resource Graph queries are POSTs, not ${request.method}.`,
    );
  }
  let body: Record<string, unknown>;
  try {
    const parsed = JSON.parse(request.body.toString("utf8") || "{}") as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new SyntaxError("not an object");
    body = parsed as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return armError(400, "BadRequest", "The request body must be a JSON object.");
  }
  if (typeof body.query !== "string")
    return armError(400, "BadRequest", "The request has no query.");
  const parsed = parseResourceGraphQuery(body.query);
  if (parsed === undefined) {
    return armError(400, "BadRequest", `The emulator does not support the query '${body.query}'.`);
  }
  const options = (body.options ?? {}) as Record<string, unknown>;
  if (options.resultFormat !== undefined && options.resultFormat !== "objectArray") {
    return armError(400, "BadRequest", "The emulator answers only resultFormat objectArray.");
  }
  const subscriptions = Array.isArray(body.subscriptions)
    ? new Set(body.subscriptions.map((s) => String(s).toLowerCase()))
    : undefined;
  const wanted = new Set(parsed.types);
  const rows: Record<string, unknown>[] = [];
  for (const file of state.arm.all()) {
    // Only top-level resources: /subscriptions/<s>/resourceGroups/<g>/providers/<ns>/<type>/<name>.
    const segments = file.path.split("/").filter(Boolean);
    if (
      segments.length !== 8 ||
      segments[2]?.toLowerCase() !== "resourcegroups" ||
      segments[4]?.toLowerCase() !== "providers"
    ) {
      continue;
    }
    const subscriptionId = segments[1] as string;
    if (subscriptions !== undefined && !subscriptions.has(subscriptionId.toLowerCase())) continue;
    const resource = file.body as Record<string, unknown>;
    const type = (
      typeof resource.type === "string" ? resource.type : `${segments[5]}/${segments[6]}`
    ).toLowerCase();
    if (!wanted.has(type)) continue;
    rows.push({
      ...resource,
      type,
      tenantId: state.estate.tenantId,
      subscriptionId,
      resourceGroup: (segments[3] as string).toLowerCase(),
    });
  }
  const idOf = (row: Record<string, unknown>): string => String(row.id ?? "");
  rows.sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  const limited = parsed.take === undefined ? rows : rows.slice(0, parsed.take);
  let offset = typeof options.$skip === "number" ? options.$skip : 0;
  if (typeof options.$skipToken === "string") {
    const token = decodeSkipToken(options.$skipToken);
    if (token === undefined) return armError(400, "BadRequest", "The $skipToken is not valid.");
    offset = token.offset;
  }
  const top = Math.min(MAX_TOP, typeof options.$top === "number" ? options.$top : DEFAULT_TOP);
  const data = limited.slice(offset, offset + top);
  const response: Record<string, unknown> = {
    totalRecords: limited.length,
    count: data.length,
    resultTruncated: "false",
    data,
  };
  // ARG returns no $skipToken when the query uses take/limit (paging-results documentation).
  if (parsed.take === undefined && offset + top < limited.length) {
    response.$skipToken = Buffer.from(JSON.stringify({ offset: offset + top })).toString("base64");
  }
  return { status: 200, body: response };
}
