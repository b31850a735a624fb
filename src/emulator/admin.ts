/**
 * The emulator's admin API under `/_emulator`: read (and clear) the request log, put or delete an
 * ARM or Graph document or a Kubernetes manifest between two collector runs, and replace the
 * fault rules. Changes live in memory and survive seed reloads.
 */

import { armError } from "./arm.js";
import { type FaultInjector, parseFaultRules } from "./faults.js";
import type { EmulatorRequest, EmulatorResponse } from "./http-types.js";
import type { KubernetesEstate } from "./kubernetes.js";
import type { LiveSeed } from "./seed.js";
import type { RequestLogEntry } from "./server.js";

/** What the admin API acts on. */
export interface AdminContext {
  seed: LiveSeed;
  kubernetes: KubernetesEstate | undefined;
  faults: FaultInjector;
  log: RequestLogEntry[];
}

function parseJson(request: EmulatorRequest): { value: unknown } | { error: EmulatorResponse } {
  try {
    return { value: JSON.parse(request.body.toString("utf8")) as unknown };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return {
      error: armError(400, "InvalidRequestContent", `The body is not JSON: ${error.message}`),
    };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Answers one admin request; `request.path` is what follows `/_emulator`.
 *
 * - `GET /requests` → `{ value: RequestLogEntry[] }`; `DELETE /requests` empties the log.
 * - `PUT|DELETE /arm/<ARM path>` and `/graph/<Graph path>` → put (JSON body) or delete a document.
 * - `PUT /kubernetes/<cluster>` with a manifest body; `DELETE /kubernetes/<cluster>` with a body
 *   `{ apiVersion, kind, namespace?, name }`.
 * - `GET|PUT /faults` → the rules in force / replace them (body: an array of rules or `{ faults }`).
 */
export function handleAdmin(request: EmulatorRequest, context: AdminContext): EmulatorResponse {
  const segments = request.path.split("/").filter(Boolean);
  const [area, ...rest] = segments;
  const method = request.method;
  if (area === "requests" && rest.length === 0) {
    if (method === "GET") return { status: 200, body: { value: context.log } };
    if (method === "DELETE") {
      context.log.length = 0;
      return { status: 204 };
    }
  }
  if (area === "faults" && rest.length === 0) {
    if (method === "GET") return { status: 200, body: { faults: context.faults.rules } };
    if (method === "PUT") {
      const parsed = parseJson(request);
      if ("error" in parsed) return parsed.error;
      const list = isRecord(parsed.value) ? parsed.value.faults : parsed.value;
      try {
        context.faults.set(parseFaultRules(list, "faults"));
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        return armError(400, "InvalidFaultRule", error.message);
      }
      return { status: 200, body: { faults: context.faults.rules } };
    }
  }
  if ((area === "arm" || area === "graph") && rest.length > 0) {
    const path = `/${rest.join("/")}`;
    if (method === "PUT") {
      const parsed = parseJson(request);
      if ("error" in parsed) return parsed.error;
      const existed = context.seed.state[area].get(path) !== undefined;
      context.seed.put(area, path, parsed.value);
      return { status: existed ? 200 : 201, body: parsed.value };
    }
    if (method === "DELETE") {
      return context.seed.delete(area, path)
        ? { status: 200 }
        : armError(404, "ResourceNotFound", `No seeded document at ${area}${path}.`);
    }
  }
  if (area === "kubernetes" && rest.length === 1) {
    const cluster = decodeURIComponent(rest[0] as string);
    if (context.kubernetes === undefined) {
      return armError(404, "ClusterNotFound", "The seed has no kubernetes/ folder.");
    }
    if (method === "PUT" || method === "DELETE") {
      const parsed = parseJson(request);
      if ("error" in parsed) return parsed.error;
      const manifest = parsed.value;
      if (
        !isRecord(manifest) ||
        typeof manifest.apiVersion !== "string" ||
        typeof manifest.kind !== "string"
      ) {
        return armError(400, "InvalidManifest", "Expected an object with apiVersion and kind.");
      }
      if (method === "PUT") {
        try {
          context.kubernetes.put(cluster, manifest);
        } catch (error) {
          if (error instanceof RangeError) return armError(404, "ClusterNotFound", error.message);
          if (error instanceof TypeError) return armError(400, "InvalidManifest", error.message);
          throw error;
        }
        return { status: 200, body: manifest };
      }
      const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
      const name = manifest.name ?? metadata.name;
      const namespace = manifest.namespace ?? metadata.namespace;
      if (typeof name !== "string") return armError(400, "InvalidManifest", "Expected a name.");
      const ref: { apiVersion: string; kind: string; namespace?: string; name: string } = {
        apiVersion: manifest.apiVersion,
        kind: manifest.kind,
        name,
      };
      if (typeof namespace === "string") ref.namespace = namespace;
      return context.kubernetes.delete(cluster, ref)
        ? { status: 200 }
        : armError(404, "NotFound", `No ${manifest.kind} ${name} in cluster ${cluster}.`);
    }
  }
  return armError(404, "NotFound", `No admin operation ${method} /_emulator${request.path}.`);
}
