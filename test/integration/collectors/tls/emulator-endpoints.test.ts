/**
 * The TLS collector against the emulator's seeded TLS endpoints (`<seed>/tls/endpoints.json`),
 * directly and through a Service's SNI router, as a scan of the demo estate reaches them: at the
 * estate's stable addresses, connected through the emulator's `connectTo`.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import { createTlsCollector, type TlsProbeDocument } from "../../../../src/collectors/tls/index.js";
import { cloudEndpoints, type Observation, parseConnectTo } from "../../../../src/core/index.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
} from "../../../../src/emulator/certificates.js";
import {
  startTlsEndpoints,
  type TlsEndpointsHandle,
} from "../../../../src/emulator/tls-endpoints.js";

const NOW = "2026-11-23T06:00:00Z";
const SERVICE = { cluster: "aks-hfw-prod", namespace: "traefik", name: "traefik" };

let ca: CertificateAuthority;
let handle: TlsEndpointsHandle;
let dir: string;
let observations: Observation[];

function documentFor(id: string): TlsProbeDocument {
  const observation = observations.find((o) => o.id === id);
  if (observation === undefined) throw new Error(`no observation ${id}`);
  return observation.document as TlsProbeDocument;
}

beforeAll(async () => {
  ca = createCertificateAuthority({ now: new Date(NOW) });
  dir = mkdtempSync(join(tmpdir(), "vigil-tls-seed-"));
  writeFileSync(
    join(dir, "endpoints.json"),
    JSON.stringify({
      endpoints: [
        {
          name: "erp",
          hosts: ["erp.hollinsford.example"],
          protocols: ["TLSv1.2", "TLSv1.3"],
          hsts: "max-age=31536000; includeSubDomains",
          service: SERVICE,
        },
        {
          name: "edi",
          hosts: ["edi.hollinsford.example"],
          protocols: ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
          certificate: { notAfter: "+10d" },
          service: SERVICE,
        },
        {
          name: "staging",
          hosts: ["erp-staging.hollinsford.example"],
          protocols: ["TLSv1.3"],
          certificate: { issuer: "self-signed", notAfter: "-1d", notBefore: "-90d" },
          hsts: null,
        },
      ],
    }),
  );
  handle = await startTlsEndpoints(join(dir, "endpoints.json"), {
    ca,
    now: new Date(NOW),
    host: "127.0.0.1",
  });
  const router = handle.serviceOverrides[0]!;
  const staging = handle.endpoints.find((e) => e.name === "staging")!;
  const connectTo = {
    [`${router.ip}:443`]: `${router.connect.host}:${router.connect.port}`,
    ...handle.connectTo,
  };
  const collector = createTlsCollector({
    cloud: cloudEndpoints("AzurePublicCloud"),
    credential: {
      getToken: async () => {
        throw new Error("the TLS collector needs no token");
      },
    },
    probeCaPem: [ca.caPem],
    tlsConnectTo: parseConnectTo(connectTo, "test"),
    activityLogDays: 30,
    traefik: { entryPoints: {}, allowCrossNamespace: {} },
    useResourceGraph: false,
    callPolicy: createCallPolicy(),
  });
  observations = await collector.collect(
    {
      kind: "tls",
      set: "tls-endpoints-prod",
      endpoints: [
        { host: router.ip, port: 443, sni: "erp.hollinsford.example" },
        { host: router.ip, port: 443, sni: "edi.hollinsford.example" },
        {
          host: staging.publicAddress!.host,
          port: staging.publicAddress!.port,
          sni: "erp-staging.hollinsford.example",
        },
      ],
    },
    { now: NOW },
  );
});

afterAll(async () => {
  await handle?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("createTlsCollector against the emulator's TLS endpoints", () => {
  it("sees each host's own protocols and certificate through the SNI router", () => {
    const erp = documentFor("tls://erp.hollinsford.example:443");
    const edi = documentFor("tls://edi.hollinsford.example:443");

    expect(erp).toMatchObject({ host: "192.0.2.1", port: 443, sni: "erp.hollinsford.example" });
    expect(erp.protocols).toEqual({
      TLSv1: false,
      "TLSv1.1": false,
      "TLSv1.2": true,
      "TLSv1.3": true,
    });
    expect(erp.certificate).toMatchObject({
      subject: "CN=erp.hollinsford.example",
      chainValid: true,
      hostnameMatch: true,
    });
    expect(erp.hsts).toEqual({ present: true, maxAgeSeconds: 31536000, includeSubDomains: true });
    expect(edi.protocols).toEqual({
      TLSv1: true,
      "TLSv1.1": true,
      "TLSv1.2": true,
      "TLSv1.3": true,
    });
    expect(edi.certificate).toMatchObject({
      subject: "CN=edi.hollinsford.example",
      notAfter: "2026-12-03T06:00:00Z",
      chainValid: true,
    });
    expect(edi.hsts).toEqual({ present: false, maxAgeSeconds: null, includeSubDomains: false });
  });

  it("reports the self-signed, expired endpoint as untrusted with its past notAfter", () => {
    const document = documentFor("tls://erp-staging.hollinsford.example:443");

    expect(document).toMatchObject({ host: "erp-staging.hollinsford.example", port: 443 });
    expect(document.protocols).toEqual({
      TLSv1: false,
      "TLSv1.1": false,
      "TLSv1.2": false,
      "TLSv1.3": true,
    });
    expect(document.certificate).toMatchObject({
      notBefore: "2026-08-25T06:00:00Z",
      notAfter: "2026-11-22T06:00:00Z",
      chainValid: false,
      chainError: "SELF_SIGNED",
      hostnameMatch: true,
    });
  });

  it("produces no gaps or errors for reachable endpoints", () => {
    expect(observations.flatMap((o) => [...(o.gaps ?? []), ...(o.error ? [o.error] : [])])).toEqual(
      [],
    );
  });
});
