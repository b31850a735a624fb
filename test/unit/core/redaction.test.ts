import { describe, expect, it } from "vitest";
import {
  isSecretName,
  looksSecret,
  REDACTED,
  redactObservation,
  redactValue,
} from "../../../src/core/index.js";

describe("redactValue", () => {
  it.each([
    "administratorLoginPassword",
    "password",
    "clientSecret",
    "connectionString",
    "primaryKey",
    "AccountKey",
    "sasToken",
  ])("redacts a string under the secret name %s", (name) => {
    expect(redactValue({ [name]: "hunter2" })).toEqual({ [name]: REDACTED });
  });

  it.each(["passwordAuth", "keyType", "keySize", "keySource", "keyVaultKeyUri", "tokenExpiry"])(
    "keeps the setting %s that only mentions a secret word",
    (name) => {
      const value = { [name]: "Enabled" };

      expect(redactValue(value)).toBe(value);
    },
  );

  it("redacts secret-shaped values wherever they appear", () => {
    const document = {
      properties: {
        siteConfig: {
          appSettings: [
            { name: "DB", value: "Server=x;Database=y;Password=p4ss;" },
            {
              name: "BLOB",
              value: "https://a.blob.core.windows.net/c?sv=2024&sig=abcdefghijklmnop%3D",
            },
            { name: "PLAIN", value: "odoo-web" },
          ],
        },
        token: "eyJhbGciOiJub25lIn0x.eyJzdWIiOiJ4In0xxxx.sig",
      },
    };

    const out = redactValue(document) as typeof document;

    expect(out.properties.siteConfig.appSettings.map((s) => s.value)).toEqual([
      REDACTED,
      REDACTED,
      "odoo-web",
    ]);
    expect(out.properties.token).toBe(REDACTED);
    expect(document.properties.token).not.toBe(REDACTED);
  });

  it("returns the same object when nothing needs redacting", () => {
    const document = { properties: { backup: { geoRedundantBackup: "Enabled" } }, list: [1, 2] };

    expect(redactValue(document)).toBe(document);
  });
});

describe("redactObservation", () => {
  it("redacts the document and a secret-bearing error message", () => {
    const observation = {
      id: "x",
      type: "t",
      document: { password: "p" },
      error: { message: "failed with AccountKey=abc;", code: "E" },
    };

    const out = redactObservation(observation);

    expect(out.document).toEqual({ password: REDACTED });
    expect(out.error).toEqual({ message: REDACTED, code: "E" });
  });
});

describe("looksSecret / isSecretName", () => {
  it("tells a private key and a plain string apart", () => {
    expect(looksSecret("-----BEGIN RSA PRIVATE KEY-----\nabc")).toBe(true);
    expect(looksSecret("-----BEGIN CERTIFICATE-----\nabc")).toBe(false);
    expect(isSecretName("secret")).toBe(true);
    expect(isSecretName("secretName")).toBe(false);
  });
});

describe("redactValue on Traefik middlewares", () => {
  it("redacts basicAuth users, auth headers and their copy in last-applied-configuration", () => {
    const middleware = {
      metadata: {
        annotations: {
          "kubectl.kubernetes.io/last-applied-configuration":
            '{"spec":{"basicAuth":{"users":["ops:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]}}}',
        },
      },
      spec: {
        basicAuth: {
          users: [
            "ops:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
            "ci:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
          ],
        },
        headers: {
          customRequestHeaders: {
            Authorization: "Basic b3BzOnMzY3IzdA==",
            "X-Api-Key": "k-123",
            "X-Tenant": "hfw",
          },
        },
      },
    };

    const out = redactValue(middleware) as typeof middleware;

    expect(out.spec.basicAuth.users).toEqual([REDACTED, REDACTED]);
    expect(out.spec.headers.customRequestHeaders).toEqual({
      Authorization: REDACTED,
      "X-Api-Key": REDACTED,
      "X-Tenant": "hfw",
    });
    expect(out.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toBe(
      REDACTED,
    );
  });

  it("redacts a secret-bearing gap message", () => {
    const observation = {
      id: "x",
      type: "t",
      gaps: [
        {
          path: "joined.a",
          message: "GET failed: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJzdWIiOiJ4In0xxxx.sig",
        },
        { path: "joined.b", message: "403 AuthorizationFailed" },
      ],
    };

    expect(redactObservation(observation).gaps?.map((g) => g.message)).toEqual([
      REDACTED,
      "403 AuthorizationFailed",
    ]);
  });
});
