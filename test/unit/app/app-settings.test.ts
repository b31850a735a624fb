/** Start-up checks of the app settings: one storage account for triggers and writes; resolved sink settings. */
import { describe, expect, it } from "vitest";
import { checkBindingAccount, InputError, sinksFromEnvironment } from "../../../src/app/index.js";

describe("checkBindingAccount", () => {
  it.each([
    [
      "identity binding, same account URL",
      {
        VIGIL_STORAGE__queueServiceUri: "https://stvigil.queue.core.windows.net",
        VIGIL_STORAGE_ACCOUNT_URL: "https://stvigil.blob.core.windows.net",
      },
    ],
    [
      "connection strings naming one account",
      {
        VIGIL_STORAGE:
          "DefaultEndpointsProtocol=https;AccountName=stvigil;AccountKey=x;EndpointSuffix=core.windows.net",
        VIGIL_STORAGE_CONNECTION_STRING:
          "DefaultEndpointsProtocol=https;AccountName=StVigil;AccountKey=x",
      },
    ],
    [
      "development storage on both sides",
      {
        VIGIL_STORAGE: "UseDevelopmentStorage=true",
        VIGIL_STORAGE_CONNECTION_STRING:
          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=x;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1",
      },
    ],
    ["only one side set", { VIGIL_STORAGE_ACCOUNT_URL: "https://stvigil.blob.core.windows.net" }],
  ])("accepts %s", (_case, env) => {
    expect(() => checkBindingAccount(env)).not.toThrow();
  });

  it("refuses two different accounts, naming both settings", () => {
    let caught: unknown;
    try {
      checkBindingAccount({
        VIGIL_STORAGE__queueServiceUri: "https://stvigilqueue.queue.core.windows.net",
        VIGIL_STORAGE_ACCOUNT_URL: "https://stvigil.blob.core.windows.net",
      });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toMatch(
      /stvigilqueue .*VIGIL_STORAGE.* stvigil .*VIGIL_STORAGE_ACCOUNT_URL/,
    );
  });
});

describe("sinksFromEnvironment", () => {
  it("refuses a Key Vault reference the platform did not resolve, naming the setting", () => {
    expect(() =>
      sinksFromEnvironment({
        VIGIL_WEBHOOK_URL: "https://hooks.example.net/vigil",
        VIGIL_WEBHOOK_SECRET:
          "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/s/)",
      }),
    ).toThrow(/VIGIL_WEBHOOK_SECRET is an unresolved Key Vault reference/);
  });

  it("builds a signed webhook sink and a Teams sink from resolved settings", () => {
    const sinks = sinksFromEnvironment({
      VIGIL_WEBHOOK_URL: "https://hooks.example.net/vigil",
      VIGIL_WEBHOOK_SECRET: "resolved-secret-value-0123",
      VIGIL_TEAMS_WEBHOOK_URL: "https://example.webhook.office.com/workflows/1",
    });

    expect(sinks.map((s) => s.name)).toEqual(["webhook:default", "teams:default"]);
  });
});
