/**
 * probeTlsEndpoint against `openssl s_server` (registered only where `openssl` is on PATH): a
 * TLS stack other than Node's own on the server side, including TLS 1.0/1.1-only servers.
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
  hasOpenssl,
  startOpensslServer,
} from "../../../support/tls-servers.js";

const NOW = "2026-11-23T06:00:00Z";
const HOST = "edi.hollinsford.example";

let ca: CertificateAuthority;
let certificate: IssuedCertificate;

afterEach(async () => {
  await closeAllTestServers();
});

describe.runIf(hasOpenssl)(
  "probeTlsEndpoint against openssl s_server (only where openssl is installed)",
  () => {
    beforeAll(() => {
      ca = createCertificateAuthority({ commonName: "vigil test CA" });
      certificate = ca.issue({
        names: [HOST],
        notBefore: new Date("2026-09-01T00:00:00Z"),
        notAfter: new Date("2027-03-01T00:00:00Z"),
      });
    });

    it.each([
      {
        name: "-tls1_1",
        protocolArgs: ["-tls1_1"],
        expected: { TLSv1: false, "TLSv1.1": true, "TLSv1.2": false, "TLSv1.3": false },
      },
      {
        name: "-tls1",
        protocolArgs: ["-tls1"],
        expected: { TLSv1: true, "TLSv1.1": false, "TLSv1.2": false, "TLSv1.3": false },
      },
      {
        name: "-min_protocol TLSv1 -max_protocol TLSv1.2",
        protocolArgs: ["-min_protocol", "TLSv1", "-max_protocol", "TLSv1.2"],
        expected: { TLSv1: true, "TLSv1.1": true, "TLSv1.2": true, "TLSv1.3": false },
      },
      {
        // At security level 0 OpenSSL's own default range reaches down to TLS 1.0.
        name: "no protocol flags",
        protocolArgs: [],
        expected: { TLSv1: true, "TLSv1.1": true, "TLSv1.2": true, "TLSv1.3": true },
      },
    ])(
      "reports the versions a server started with $name accepts",
      async ({ protocolArgs, expected }) => {
        const server = await startOpensslServer({ certificate, protocolArgs });

        const observation = await probeTlsEndpoint(
          { host: server.host, port: server.port, sni: HOST },
          { caPem: [ca.caPem], now: NOW },
        );

        const document = observation.document as TlsProbeDocument;
        expect(document.protocols).toEqual(expected);
        expect(observation.gaps).toBeUndefined();
        expect(document.certificate).toMatchObject({ chainValid: true, hostnameMatch: true });
      },
    );

    it("reads the -www status page as an HTTP response without HSTS", async () => {
      const server = await startOpensslServer({ certificate, protocolArgs: ["-tls1_2"] });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect((observation.document as TlsProbeDocument).hsts).toEqual({
        present: false,
        maxAgeSeconds: null,
        includeSubDomains: false,
      });
    });
  },
);
