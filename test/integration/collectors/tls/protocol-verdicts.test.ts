/**
 * Protocol verdicts on servers that share no cipher suite with OpenSSL's DEFAULT list or that stop
 * the handshake after the ServerHello: the probe must still report what the server accepts, as
 * testssl and sslscan do (the mismatches bench/tls-probe.bench.ts found).
 */

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { probeTlsEndpoint, type TlsProbeDocument } from "../../../../src/collectors/tls/index.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from "../../../../src/emulator/certificates.js";
import {
  closeAllTestServers,
  hasSslscan,
  runSslscan,
  type StartNodeTlsServerOptions,
  startNodeTlsServer,
} from "../../../support/tls-servers.js";

const NOW = "2026-11-23T06:00:00Z";
const HOST = "erp.hollinsford.example";

let ca: CertificateAuthority;
let certificate: IssuedCertificate;
let clientCa: CertificateAuthority;

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: "vigil test CA" });
  clientCa = createCertificateAuthority({ commonName: "vigil client CA" });
  certificate = ca.issue({
    names: [HOST],
    notBefore: new Date("2026-09-01T00:00:00Z"),
    notAfter: new Date("2027-03-01T00:00:00Z"),
  });
});

afterEach(async () => {
  await closeAllTestServers();
});

type ServerCase = {
  name: string;
  server: () => Omit<StartNodeTlsServerOptions, "certificate">;
  protocols: TlsProbeDocument["protocols"];
};

const CASES: ServerCase[] = [
  {
    name: "offering only CAMELLIA suites",
    server: () => ({
      minVersion: "TLSv1",
      maxVersion: "TLSv1.2",
      ciphers: "CAMELLIA128-SHA:CAMELLIA256-SHA:@SECLEVEL=0",
    }),
    protocols: { TLSv1: true, "TLSv1.1": true, "TLSv1.2": true, "TLSv1.3": false },
  },
  {
    name: "offering only NULL-SHA below TLS 1.3",
    server: () => ({
      minVersion: "TLSv1.1",
      maxVersion: "TLSv1.3",
      ciphers: "NULL-SHA:@SECLEVEL=0",
    }),
    protocols: { TLSv1: false, "TLSv1.1": true, "TLSv1.2": true, "TLSv1.3": true },
  },
  {
    name: "offering TLS 1.3 with AES-128-CCM only",
    server: () => ({
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      ciphers: "TLS_AES_128_CCM_SHA256",
    }),
    protocols: { TLSv1: false, "TLSv1.1": false, "TLSv1.2": false, "TLSv1.3": true },
  },
  {
    name: "accepting TLS 1.2 only and demanding a client certificate",
    server: () => ({
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
      requireClientCertificateFrom: clientCa.caPem,
    }),
    protocols: { TLSv1: false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": false },
  },
  {
    name: "offering only anonymous ECDH suites",
    server: () => ({
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
      ciphers: "AECDH-AES128-SHA:@SECLEVEL=0",
    }),
    protocols: { TLSv1: false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": false },
  },
];

describe("probeTlsEndpoint protocol verdicts", () => {
  it.each(CASES)("reports what a server $name accepts", async ({ server, protocols }) => {
    const running = await startNodeTlsServer({ certificate, ...server() });

    const observation = await probeTlsEndpoint(
      { host: running.host, port: running.port, sni: HOST },
      { caPem: [ca.caPem], now: NOW },
    );

    expect(observation.error).toBeUndefined();
    expect((observation.document as TlsProbeDocument).protocols).toEqual(protocols);
  });

  it("reads the certificate of a server that shares no DEFAULT suite with the probe", async () => {
    const running = await startNodeTlsServer({
      certificate,
      minVersion: "TLSv1",
      maxVersion: "TLSv1.2",
      ciphers: "CAMELLIA128-SHA:@SECLEVEL=0",
    });

    const observation = await probeTlsEndpoint(
      { host: running.host, port: running.port, sni: HOST },
      { caPem: [ca.caPem], now: NOW },
    );

    expect(observation.gaps).toBeUndefined();
    expect(observation.document).toMatchObject({
      negotiated: { protocol: "TLSv1.2", cipher: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA" },
      certificate: { subject: `CN=${HOST}`, chainValid: true, hostnameMatch: true },
    });
  });

  it("records a certificate gap, not a refusal, when the handshake stops for a client certificate", async () => {
    const running = await startNodeTlsServer({
      certificate,
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
      requireClientCertificateFrom: clientCa.caPem,
    });

    const observation = await probeTlsEndpoint(
      { host: running.host, port: running.port, sni: HOST },
      { caPem: [ca.caPem], now: NOW },
    );

    expect(observation.gaps?.map((gap) => gap.path)).toEqual(["negotiated", "certificate"]);
    expect((observation.document as TlsProbeDocument).protocols?.["TLSv1.2"]).toBe(true);
  });

  it.runIf(hasSslscan).each(CASES)(
    "agrees with sslscan on a server $name (only where sslscan is installed)",
    async ({ server }) => {
      const running = await startNodeTlsServer({ certificate, ...server() });

      const observation = await probeTlsEndpoint(
        { host: running.host, port: running.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );
      const { verdicts } = await runSslscan(running.host, running.port, { protocolsOnly: true });

      const { SSLv3: _sslv3, ...tls } = verdicts;
      expect((observation.document as TlsProbeDocument).protocols).toEqual(tls);
    },
  );
});
