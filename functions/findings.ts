/**
 * `GET /api/findings?status=&severity=&family=&control=&resource=&scope=&format=&limit=&cursor=`:
 * current findings, filtered and paged, as JSON (with paging fields), CSV, SARIF or OCSF. The next
 * page's cursor is also in the `x-vigil-next-cursor` header, for the formats without an envelope.
 */

import func, {
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from "@azure/functions";
import { content, guarded, json } from "./http.js";

export async function findingsHandler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(request, context, "Evidence.Read", async ({ rt, app }) => {
    const query = app.parseFindingsQuery(request.query);
    const page = await app.queryFindings(rt, query);
    const paging: Record<string, string> = { "x-vigil-total": String(page.total) };
    if (page.next !== undefined) paging["x-vigil-next-cursor"] = page.next;
    if (query.format === "json")
      return json(
        200,
        { total: page.total, next: page.next ?? null, findings: page.findings },
        paging,
      );
    const rendered = app.renderFindings(rt, page.findings, query.format);
    return content(200, rendered.body, rendered.contentType, paging);
  });
}

export const findingsFunction = {
  name: "findings",
  options: {
    methods: ["GET" as const],
    authLevel: "function" as const,
    route: "findings",
    handler: findingsHandler,
  },
};

func.app.http(findingsFunction.name, findingsFunction.options);
