/**
 * vigil's accepted-protocol verdicts compared with testssl's on the same loopback servers
 * (registered only where `testssl`, Debian package testssl.sh, is installed).
 */

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { probeTlsEndpoint, type TlsProbeDocument } from "../../../../src/collectors/tls/index.js";
import {
  createCertificateAuthority,
  type IssuedCertificate,
} from "../../../../src/emulator/certificates.js";
import {
  closeAllTestServers,
  hasOpenssl,
  hasTestssl,
  runTestssl,
  startNodeTlsServer,
  startOpensslServer,
  type TestServer,
} from "../../../support/tls-servers.js";

const NOW = "2026-11-23T06:00:00Z";
const HOST = "erp.hollinsford.example";

let certificate: IssuedCertificate;

afterEach(async () => {
  await closeAllTestServers();
});

async function expectSameVerdicts(server: TestServer): Promise<void> {
  const observation = await probeTlsEndpoint(
    { host: server.host, port: server.port, sni: HOST },
    { now: NOW },
  );
  const testssl = await runTestssl(server.host, server.port);

  expect((observation.document as TlsProbeDocument).protocols).toEqual(testssl);
}

describe.runIf(hasTestssl)(
  "probeTlsEndpoint agrees with testssl (only where testssl is installed)",
  // One testssl run takes about 10 s alone and close to a minute on a busy 2-core machine.
  { timeout: 180_000 },
  () => {
    beforeAll(() => {
      certificate = createCertificateAuthority().issue({
        names: [HOST],
        notBefore: new Date("2026-09-01T00:00:00Z"),
        notAfter: new Date("2027-03-01T00:00:00Z"),
      });
    });

    it.each([
      { name: "TLS 1.0-1.1", minVersion: "TLSv1", maxVersion: "TLSv1.1" },
      { name: "TLS 1.0-1.3", minVersion: "TLSv1", maxVersion: "TLSv1.3" },
      { name: "TLS 1.2-1.3", minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      { name: "TLS 1.3 only", minVersion: "TLSv1.3", maxVersion: "TLSv1.3" },
    ] as const)("on a Node server accepting $name", async ({ minVersion, maxVersion }) => {
      const server = await startNodeTlsServer({ certificate, minVersion, maxVersion });

      await expectSameVerdicts(server);
    });

    it.runIf(hasOpenssl)("on an openssl s_server started with -tls1_1", async () => {
      const server = await startOpensslServer({ certificate, protocolArgs: ["-tls1_1"] });

      await expectSameVerdicts(server);
    });
  },
);
