/**
 * What the HTTP handlers share: authentication before anything else, JSON responses, and error
 * mapping that never puts estate data or internals into a body (401/403 from the authenticator,
 * 400 for bad input naming the parameter, 503 when the store cannot be read, 500 otherwise).
 */

import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { AppRole } from "../src/app/index.js";
import { type FunctionsHost, functionsHost } from "./host.js";

/** Security headers every response carries. */
const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

/** A JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponseInit {
  return {
    status,
    jsonBody: body,
    headers: { "content-type": "application/json; charset=utf-8", ...HEADERS, ...headers },
  };
}

/** A response of any content type. */
export function content(
  status: number,
  body: string | Uint8Array,
  contentType: string,
  headers: Record<string, string> = {},
): HttpResponseInit {
  return { status, body, headers: { "content-type": contentType, ...HEADERS, ...headers } };
}

/**
 * Largest request body a handler accepts. No HTTP function reads a body (they are all GETs), so
 * a request declaring more is refused before anything else, without its body being read.
 */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * Run an HTTP handler's work after authenticating the request for `role`, mapping failures to
 * clear bodies: `{ error: { code, message } }`. A body declared over
 * {@link MAX_REQUEST_BODY_BYTES} is refused with 413 first.
 */
export async function guarded(
  request: HttpRequest,
  context: InvocationContext,
  role: AppRole | undefined,
  work: (host: FunctionsHost) => Promise<HttpResponseInit>,
): Promise<HttpResponseInit> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_REQUEST_BODY_BYTES)
    return json(413, {
      error: { code: "too_large", message: "the request body is over 1 MB" },
    });
  let host: FunctionsHost;
  try {
    host = await functionsHost();
  } catch (error) {
    context.error(`vigil cannot start: ${messageOf(error)}`);
    return failure(503, "unavailable", "vigil is not configured correctly; see its logs", context);
  }
  const auth = await host.authenticate(request, role);
  if (!auth.ok) {
    const refused = host.app.authFailureResponse(auth);
    return json(refused.status, refused.jsonBody, refused.headers);
  }
  try {
    return await work(host);
  } catch (error) {
    if (error instanceof host.app.InputError)
      return json(400, {
        error: {
          code: error.code,
          message: error.message,
          ...(error.pointer !== undefined ? { pointer: error.pointer } : {}),
        },
      });
    if (error instanceof host.app.VigilError && error.name === "StoreError") {
      context.error(`store unavailable: ${messageOf(error)}`);
      return failure(
        503,
        "store_unavailable",
        "vigil's store cannot be read now; retry later",
        context,
      );
    }
    context.error(`request failed: ${messageOf(error)}`);
    return failure(500, "internal", "vigil could not answer; see its logs", context);
  }
}

/** A failure body with the invocation id to find the log by, and nothing internal. */
function failure(
  status: number,
  code: string,
  message: string,
  context: InvocationContext,
): HttpResponseInit {
  return json(status, { error: { code, message, invocationId: context.invocationId } });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
