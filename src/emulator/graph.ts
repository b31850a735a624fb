/**
 * Microsoft Graph over a seed's `graph/` tree: a GET of `/graph/<version>/<path>` answers
 * `graph/<version>/<path>.json` as written, paged with `@odata.nextLink` when it is a list.
 */

import { pageOf } from "./arm.js";
import type { EmulatorRequest, EmulatorResponse } from "./http-types.js";
import type { SeedState } from "./seed.js";

/** A Graph error body `{ error: { code, message, innerError } }`. */
export function graphError(
  status: number,
  code: string,
  message: string,
  requestId = "",
): EmulatorResponse {
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          "request-id": requestId,
          "client-request-id": requestId,
        },
      },
    },
  };
}

/**
 * Answers one Graph request.
 * @param graphEndpoint `https://127.0.0.1:P/graph`, the base of `@odata.nextLink`
 * @param requestId echoed in error bodies' `innerError` as Graph does
 */
export function handleGraph(
  request: EmulatorRequest,
  state: SeedState,
  graphEndpoint: string,
  requestId = "",
): EmulatorResponse {
  if (request.method !== "GET") {
    return graphError(
      405,
      "Request_BadRequest",
      `The emulator is read-only: ${request.method} is not allowed.`,
      requestId,
    );
  }
  const file = state.graph.get(request.path);
  if (file === undefined) {
    return graphError(
      404,
      "Request_ResourceNotFound",
      `Resource '${request.path}' does not exist.`,
      requestId,
    );
  }
  const body = file.body as Record<string, unknown> | null;
  const pageSize = state.estate.pageSize;
  if (
    body === null ||
    typeof body !== "object" ||
    !Array.isArray(body.value) ||
    pageSize === undefined
  ) {
    return { status: 200, body: file.body };
  }
  // Graph ignores unknown query options here; only our own $skiptoken survives into the next link.
  const paging: EmulatorRequest = {
    ...request,
    query: new URLSearchParams(
      [...request.query].filter(([key]) => key.toLowerCase() === "$skiptoken"),
    ),
  };
  const result = pageOf(body.value, paging, pageSize, `${graphEndpoint}${request.path}`);
  if ("error" in result) return graphError(400, "BadRequest", result.error, requestId);
  const { "@odata.nextLink": _ignored, ...rest } = body;
  return {
    status: 200,
    body:
      result.nextLink === undefined
        ? { ...rest, value: result.page }
        : { ...rest, value: result.page, "@odata.nextLink": result.nextLink },
  };
}
