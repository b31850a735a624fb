/**
 * The evidence API, the same as the CLI's report, export and verify:
 * - `GET /api/evidence/report?framework=&format=&from=&to=&scope=`: the report (HTML by default);
 * - `GET /api/evidence/pack?from=&to=`: the evidence pack (zip);
 * - `GET /api/evidence/verify`: the ledger check; 200 intact, 409 tampered.
 */

import func, {
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from "@azure/functions";
import { content, guarded, json } from "./http.js";

function waiversOf(rt: { loaded: { config?: { waivers?: unknown } | undefined } }) {
  const waivers = rt.loaded.config?.waivers;
  return Array.isArray(waivers) ? waivers : [];
}

export async function evidenceReportHandler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(request, context, "Evidence.Read", async ({ rt, app }) => {
    const query = app.parseEvidenceReportQuery(request.query);
    const report = await app.evidenceReport(rt.store, rt.catalogue, query, {
      generatedAt: new Date(rt.clock()).toISOString(),
      vigilVersion: rt.vigilVersion,
      waivers: waiversOf(rt),
      env: process.env,
    });
    return content(200, report.body, report.contentType, {
      "content-disposition": `inline; filename="${report.fileName}"`,
      "x-vigil-ledger-verified": String(report.ledgerVerified),
      // The report is self-contained: nothing may load from anywhere.
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    });
  });
}

export async function evidencePackHandler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(request, context, "Evidence.Read", async ({ rt, app }) => {
    for (const key of request.query.keys())
      if (key !== "from" && key !== "to")
        throw new app.InputError(`unknown query parameter ${key}`, { pointer: key });
    const generatedAt = new Date(rt.clock()).toISOString();
    try {
      const { zip } = await app.evidencePack(rt.store, rt.catalogue, {
        ...app.parsePeriod(request.query),
        generatedAt,
        vigilVersion: rt.vigilVersion,
        waivers: waiversOf(rt),
        env: process.env,
      });
      return content(200, zip, "application/zip", {
        "content-disposition": `attachment; filename="vigil-evidence-pack-${generatedAt.slice(0, 10)}.zip"`,
      });
    } catch (error) {
      if (error instanceof Error && error.name === "PackExportError") {
        const reason = (error as Error & { reason?: string }).reason;
        return json(reason === "tampered" ? 409 : 404, {
          error:
            reason === "tampered"
              ? {
                  code: "ledger_tampered",
                  message: "the evidence ledger does not verify; see /api/evidence/verify",
                }
              : { code: "no_evidence", message: "no evidence record in the period" },
        });
      }
      throw error;
    }
  });
}

export async function evidenceVerifyHandler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return guarded(request, context, "Evidence.Read", async ({ rt, app }) => {
    for (const key of request.query.keys())
      throw new app.InputError(`unknown query parameter ${key}`, { pointer: key });
    const verification = await app.verifyEvidence(rt.store);
    return json(verification.ok ? 200 : 409, verification);
  });
}

export const evidenceReportFunction = {
  name: "evidence-report",
  options: {
    methods: ["GET" as const],
    authLevel: "function" as const,
    route: "evidence/report",
    handler: evidenceReportHandler,
  },
};
export const evidencePackFunction = {
  name: "evidence-pack",
  options: {
    methods: ["GET" as const],
    authLevel: "function" as const,
    route: "evidence/pack",
    handler: evidencePackHandler,
  },
};
export const evidenceVerifyFunction = {
  name: "evidence-verify",
  options: {
    methods: ["GET" as const],
    authLevel: "function" as const,
    route: "evidence/verify",
    handler: evidenceVerifyHandler,
  },
};

func.app.http(evidenceReportFunction.name, evidenceReportFunction.options);
func.app.http(evidencePackFunction.name, evidencePackFunction.options);
func.app.http(evidenceVerifyFunction.name, evidenceVerifyFunction.options);
