/** `GET /api/health`: the only anonymous route; says the app is up, and nothing about the estate. */

import func, {
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from "@azure/functions";
import { json } from "./http.js";

export async function healthHandler(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return json(200, { status: "ok" });
}

export const healthFunction = {
  name: "health",
  options: {
    methods: ["GET" as const],
    authLevel: "anonymous" as const,
    route: "health",
    handler: healthHandler,
  },
};

func.app.http(healthFunction.name, healthFunction.options);
