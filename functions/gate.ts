/**
 * `GET /api/gate?scope=&environment=&minSeverity=&maxAgeMinutes=`: may a release proceed?
 * 200 pass, 409 fail (with the failing controls), 503 unknown (never scanned, stale, or errors).
 */

import func, {
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from "@azure/functions";
import { guarded, json } from "./http.js";

const STATUS = { pass: 200, fail: 409, unknown: 503 } as const;

export async function gateHandler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(request, context, "Gate.Read", async ({ rt, app }) => {
    const answer = await app.decideGate(rt, app.parseGateQuery(request.query));
    return json(STATUS[answer.decision], answer);
  });
}

export const gateFunction = {
  name: "gate",
  options: {
    methods: ["GET" as const],
    authLevel: "function" as const,
    route: "gate",
    handler: gateHandler,
  },
};

func.app.http(gateFunction.name, gateFunction.options);
