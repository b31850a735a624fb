/**
 * createTlsCollector end to end: a `tls` target's endpoints probed on loopback under the real call
 * policy, trust from `probeCaPem`, and endpoints that fail becoming error observations.
 */

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import { createTlsCollector, type TlsProbeDocument } from "../../../../src/collectors/tls/index.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import {
  type CollectProgress,
  cloudEndpoints,
  parseConnectTo,
  type Target,
} from "../../../../src/core/index.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
} from "../../../../src/emulator/certificates.js";
import {
  closeAllTestServers,
  startNodeTlsServer,
  unusedPort,
} from "../../../support/tls-servers.js";

const NOW = "2026-11-23T06:00:00Z";

let ca: CertificateAuthority;

function settings(overrides: Partial<CollectorSettings> = {}): CollectorSettings {
  return {
    cloud: cloudEndpoints("AzurePublicCloud"),
    credential: {
      getToken: async () => {
        throw new Error("the TLS collector needs no token");
      },
    },
    probeCaPem: [ca.caPem],
    activityLogDays: 30,
    traefik: { entryPoints: {}, allowCrossNamespace: {} },
    useResourceGraph: false,
    callPolicy: createCallPolicy(),
    ...overrides,
  };
}

function issueFor(name: string) {
  return ca.issue({
    names: [name],
    notBefore: new Date("2026-09-01T00:00:00Z"),
    notAfter: new Date("2027-03-01T00:00:00Z"),
  });
}

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: "vigil test CA" });
});

afterEach(async () => {
  await closeAllTestServers();
});

describe("createTlsCollector", () => {
  it("handles tls targets only", () => {
    const collector = createTlsCollector(settings());

    expect(collector.name).toBe("tls");
    expect(collector.handles({ kind: "tls", set: "prod", endpoints: [] })).toBe(true);
    expect(collector.handles({ kind: "subscription", subscriptionId: "s" })).toBe(false);
    expect(collector.handles({ kind: "tenant", tenantId: "t" })).toBe(false);
  });

  it("probes every endpoint in order, trusting probeCaPem, and keeps going past a dead one", async () => {
    const modern = await startNodeTlsServer({ certificate: issueFor("erp.hollinsford.example") });
    const legacy = await startNodeTlsServer({
      certificate: issueFor("edi.hollinsford.example"),
      minVersion: "TLSv1",
      maxVersion: "TLSv1.3",
    });
    const deadPort = await unusedPort();
    const callPolicy = createCallPolicy();
    const progress: CollectProgress[] = [];
    const target: Target = {
      kind: "tls",
      set: "tls-endpoints-prod",
      endpoints: [
        { host: "127.0.0.1", port: modern.port, sni: "erp.hollinsford.example" },
        { host: "127.0.0.1", port: legacy.port, sni: "edi.hollinsford.example" },
        { host: "127.0.0.1", port: deadPort, sni: "portal.hollinsford.example", set: "other" },
      ],
    };

    const observations = await createTlsCollector(settings({ callPolicy })).collect(target, {
      now: NOW,
      onProgress: (entry) => progress.push(entry),
    });

    expect(observations.map((o) => [o.id, o.scope, o.type])).toEqual([
      [`tls://erp.hollinsford.example:${modern.port}`, "tls-endpoints-prod", "vigil/TlsProbe"],
      [`tls://edi.hollinsford.example:${legacy.port}`, "tls-endpoints-prod", "vigil/TlsProbe"],
      [`tls://portal.hollinsford.example:${deadPort}`, "other", "vigil/TlsProbe"],
    ]);
    const [first, second, third] = observations.map((o) => o.document as TlsProbeDocument);
    expect(first?.protocols).toEqual({
      TLSv1: false,
      "TLSv1.1": false,
      "TLSv1.2": true,
      "TLSv1.3": true,
    });
    expect(first?.certificate).toMatchObject({ chainValid: true, hostnameMatch: true });
    expect(second?.protocols).toEqual({
      TLSv1: true,
      "TLSv1.1": true,
      "TLSv1.2": true,
      "TLSv1.3": true,
    });
    expect(third).toEqual({ host: "127.0.0.1", port: deadPort, sni: "portal.hollinsford.example" });
    expect(observations[2]?.error?.code).toBe("ECONNREFUSED");
    expect(observations.every((o) => o.source?.observedAt === NOW)).toBe(true);
    expect(callPolicy.stats().calls.tls).toBe(3);
    expect(progress.map((p) => p.message).sort()).toEqual(
      observations.map((o) => `probed ${o.id}`).sort(),
    );
  });

  it("connects where tlsConnectTo maps an endpoint's address and reports it by that address", async () => {
    const erp = await startNodeTlsServer({ certificate: issueFor("erp.hollinsford.example") });
    const portal = await startNodeTlsServer({
      certificate: issueFor("portal.hollinsford.example"),
    });
    const target: Target = {
      kind: "tls",
      set: "prod",
      endpoints: [
        { host: "192.0.2.1", port: 443, sni: "erp.hollinsford.example" },
        { host: "Portal.Hollinsford.Example", port: 443 },
        { host: "127.0.0.1", port: erp.port, sni: "erp.hollinsford.example" },
      ],
    };
    const tlsConnectTo = parseConnectTo(
      {
        "192.0.2.1:443": `127.0.0.1:${erp.port}`,
        "portal.hollinsford.example:443": `127.0.0.1:${portal.port}`,
      },
      "test",
    );

    const observations = await createTlsCollector(settings({ tlsConnectTo })).collect(target, {
      now: NOW,
    });

    expect(observations.map((o) => o.id)).toEqual([
      "tls://erp.hollinsford.example:443",
      "tls://Portal.Hollinsford.Example:443",
      `tls://erp.hollinsford.example:${erp.port}`,
    ]);
    expect(observations.flatMap((o) => [...(o.gaps ?? []), ...(o.error ? [o.error] : [])])).toEqual(
      [],
    );
    const [mapped, named, direct] = observations.map((o) => o.document as TlsProbeDocument);
    expect(mapped).toMatchObject({ host: "192.0.2.1", port: 443, sni: "erp.hollinsford.example" });
    expect(mapped?.certificate).toEqual(direct?.certificate);
    expect(named).toMatchObject({ host: "Portal.Hollinsford.Example", port: 443 });
    expect(named?.certificate).toMatchObject({
      subject: "CN=portal.hollinsford.example",
      hostnameMatch: true,
    });
  });

  it("reports chainValid false for the same server when the CA is not in probeCaPem", async () => {
    const server = await startNodeTlsServer({ certificate: issueFor("erp.hollinsford.example") });
    const target: Target = {
      kind: "tls",
      set: "prod",
      endpoints: [{ host: "127.0.0.1", port: server.port, sni: "erp.hollinsford.example" }],
    };

    const [observation] = await createTlsCollector(settings({ probeCaPem: [] })).collect(target, {
      now: NOW,
    });

    expect((observation!.document as TlsProbeDocument).certificate).toMatchObject({
      chainValid: false,
      chainError: "ISSUER_NOT_FOUND",
    });
  });

  it("turns a call the policy gives up on into an error observation for that endpoint", async () => {
    const server = await startNodeTlsServer({ certificate: issueFor("erp.hollinsford.example") });
    const target: Target = {
      kind: "tls",
      set: "prod",
      endpoints: [{ host: "127.0.0.1", port: server.port, sni: "erp.hollinsford.example" }],
    };

    // A deadline already passed: the policy starts no call (epoch 0 is before any clock).
    const observations = await createTlsCollector(settings()).collect(target, {
      now: NOW,
      deadlineMs: 0,
    });

    expect(observations).toEqual([
      {
        id: `tls://erp.hollinsford.example:${server.port}`,
        type: "vigil/TlsProbe",
        scope: "prod",
        document: { host: "127.0.0.1", port: server.port, sni: "erp.hollinsford.example" },
        source: { api: "tls", apiVersion: "1", observedAt: NOW },
        error: { code: "DeadlineExceeded", message: expect.stringContaining("deadline") },
      },
    ]);
  });

  it("rejects when aborted", async () => {
    const server = await startNodeTlsServer({ certificate: issueFor("erp.hollinsford.example") });
    const controller = new AbortController();
    controller.abort(new Error("scan cancelled"));
    const target: Target = {
      kind: "tls",
      set: "prod",
      endpoints: [{ host: "127.0.0.1", port: server.port }],
    };

    const collecting = createTlsCollector(settings()).collect(target, {
      now: NOW,
      abortSignal: controller.signal,
    });

    await expect(collecting).rejects.toThrow("scan cancelled");
  });
});
