/**
 * The HTTP request check: function keys, Entra ID access tokens verified against a local key set
 * (or a fake fetch at the HTTP boundary), app roles, refusals that never echo a secret, and the
 * `VIGIL_AUTH_*` variables.
 */
import azureFunctions from "@azure/functions";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AuthFailure,
  type AuthRequest,
  type AuthResult,
  type AuthSettings,
  authFailureResponse,
  authSettingsFromEnvironment,
  createAuthenticator,
  type EntraSettings,
} from "../../../src/app/auth.js";
import { InputError } from "../../../src/core/index.js";

const TENANT = "8f0e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const API_APP_ID = "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091";
const CLIENT_APP_ID = "a1b2c3d4-e5f6-4789-8abc-def012345678";
const ISSUER_V2 = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const ISSUER_V1 = `https://sts.windows.net/${TENANT}/`;
const KEY = "vigil-local-function-key-0123456789";
const ENTRA: EntraSettings = { tenantId: TENANT, audience: API_APP_ID };

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let signingKey: PrivateKey;
let otherKey: PrivateKey;
/** The signing key's private half, usable with RS384. */
let sameKeyRs384: PrivateKey;
let publicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const other = await generateKeyPair("RS256");
  signingKey = pair.privateKey;
  otherKey = other.privateKey;
  sameKeyRs384 = (await importJWK(await exportJWK(pair.privateKey), "RS384")) as PrivateKey;
  // Entra's key set names no `alg`, only `kty`, `use` and `kid`.
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "key-1", use: "sig" };
});

function jwks() {
  return createLocalJWKSet({ keys: [publicJwk] });
}

function request(
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
): AuthRequest {
  return { headers: new Headers(headers), query: new URLSearchParams(query) };
}

/** An access token as Entra issues it to a client with app roles, changed by `claims`. */
async function token(
  claims: JWTPayload = {},
  options: { key?: PrivateKey; alg?: string; kid?: string; nowInSeconds?: number } = {},
): Promise<string> {
  const now = options.nowInSeconds ?? Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: ISSUER_V2,
    aud: API_APP_ID,
    sub: "b7c6d5e4-f3a2-4b1c-9d8e-7f6a5b4c3d2e",
    oid: "c8d7e6f5-a4b3-4c2d-8e9f-0a1b2c3d4e5f",
    azp: CLIENT_APP_ID,
    tid: TENANT,
    roles: ["Gate.Read"],
    iat: now - 60,
    nbf: now - 60,
    exp: now + 3600,
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? "RS256", typ: "JWT", kid: options.kid ?? "key-1" })
    .sign(options.key ?? signingKey);
}

function bearer(jwt: string): AuthRequest {
  return request({ authorization: `Bearer ${jwt}` });
}

function failure(result: AuthResult): AuthFailure {
  if (result.ok) throw new Error("expected a refusal, the request was let through");
  return result;
}

describe("createAuthenticator: function keys", () => {
  const authenticate = createAuthenticator({ functionKeys: [KEY] });

  it("refuses a request without a key with 401 missing_key", async () => {
    const result = failure(await authenticate(request(), "Gate.Read"));

    expect(result).toMatchObject({ status: 401, error: "missing_key" });
    expect(result.message).toMatch(/x-functions-key/);
    expect(result.wwwAuthenticate).toBeUndefined();
  });

  it("refuses a wrong key with 401 invalid_key", async () => {
    const result = failure(await authenticate(request({ "x-functions-key": "guess" }), undefined));

    expect(result).toMatchObject({ status: 401, error: "invalid_key" });
  });

  it.each([
    ["a prefix of the key", KEY.slice(0, -1)],
    ["the key with a byte more", `${KEY}0`],
    ["the key in other case", KEY.toUpperCase()],
  ])("refuses %s", async (_case, presented) => {
    const result = failure(
      await authenticate(request({ "x-functions-key": presented }), undefined),
    );

    expect(result.error).toBe("invalid_key");
  });

  it("accepts the key in the x-functions-key header", async () => {
    const result = await authenticate(request({ "x-functions-key": KEY }), "Gate.Read");

    expect(result).toEqual({ ok: true });
  });

  it("accepts the key in the code query parameter", async () => {
    const result = await authenticate(request({}, { code: KEY }), "Gate.Read");

    expect(result).toEqual({ ok: true });
  });

  it("accepts any of several keys", async () => {
    const twoKeys = createAuthenticator({ functionKeys: ["first-key", KEY] });

    const result = await twoKeys(request({ "x-functions-key": KEY }), undefined);

    expect(result.ok).toBe(true);
  });

  it("reads the header before the query, as the Functions host does", async () => {
    const result = await authenticate(
      request({ "x-functions-key": "wrong" }, { code: KEY }),
      undefined,
    );

    expect(failure(result).error).toBe("invalid_key");
  });

  it("treats an empty header as no key and reads the query", async () => {
    const result = await authenticate(request({ "x-functions-key": "" }, { code: KEY }), undefined);

    expect(result.ok).toBe(true);
  });

  it("accepts an Azure Functions HttpRequest", async () => {
    const azureRequest = new azureFunctions.HttpRequest({
      method: "GET",
      url: `http://localhost:7071/api/gate?code=${KEY}`,
    });

    const result = await authenticate(azureRequest, "Gate.Read");

    expect(result.ok).toBe(true);
  });

  it("skips the key check when no keys are given (the Functions host checks them in Azure)", async () => {
    const noKeys = createAuthenticator({});

    const result = await noKeys(request(), "Evidence.Read");

    expect(result).toEqual({ ok: true });
  });

  it("refuses every key when the key list is empty", async () => {
    const none = createAuthenticator({ functionKeys: [] });

    const result = await none(request({ "x-functions-key": KEY }), undefined);

    expect(failure(result).error).toBe("invalid_key");
  });

  it("rejects an empty key in the settings", () => {
    expect(() => createAuthenticator({ functionKeys: [KEY, ""] })).toThrow(InputError);
  });

  it("refuses, and does not throw, when reading the request fails", async () => {
    const broken: AuthRequest = {
      headers: {
        get() {
          throw new Error("header store unavailable");
        },
      },
    };

    const result = await authenticate(broken, undefined);

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_key" });
  });
});

describe("createAuthenticator: Entra ID tokens", () => {
  function entra(overrides: Partial<EntraSettings> = {}, settings: AuthSettings = {}) {
    return createAuthenticator(
      { ...settings, entra: { ...ENTRA, ...overrides } },
      { jwks: jwks() },
    );
  }

  it("refuses a request without a token with 401 missing_token and a Bearer challenge", async () => {
    const result = failure(await entra()(request(), "Gate.Read"));

    expect(result).toMatchObject({ status: 401, error: "missing_token" });
    expect(result.wwwAuthenticate).toBe('Bearer realm="vigil"');
  });

  it("treats another authorization scheme as no token", async () => {
    const result = await entra()(request({ authorization: "Basic dXNlcjpwYXNz" }), "Gate.Read");

    expect(failure(result).error).toBe("missing_token");
  });

  it("accepts a valid token with the required role and names the principal", async () => {
    const result = await entra()(bearer(await token()), "Gate.Read");

    expect(result).toEqual({
      ok: true,
      principal: {
        subject: "b7c6d5e4-f3a2-4b1c-9d8e-7f6a5b4c3d2e",
        objectId: "c8d7e6f5-a4b3-4c2d-8e9f-0a1b2c3d4e5f",
        appId: CLIENT_APP_ID,
        roles: ["Gate.Read"],
      },
    });
  });

  it("accepts a lower-case bearer scheme", async () => {
    const result = await entra()(
      request({ authorization: `bearer ${await token()}` }),
      "Gate.Read",
    );

    expect(result.ok).toBe(true);
  });

  it("refuses a valid token without the required role with 403 insufficient_role", async () => {
    const jwt = await token({ roles: ["Evidence.Read"] });

    const result = failure(await entra()(bearer(jwt), "Gate.Read"));

    expect(result).toMatchObject({ status: 403, error: "insufficient_role" });
    expect(result.message).toContain("Gate.Read");
    expect(result.wwwAuthenticate).toMatch(/error="insufficient_scope"/);
  });

  it("refuses a token without a roles claim when a role is required", async () => {
    const jwt = await token({ roles: undefined });

    const result = await entra()(bearer(jwt), "Evidence.Read");

    expect(failure(result).status).toBe(403);
  });

  it("refuses a token whose roles claim is not a list", async () => {
    const jwt = await token({ roles: "Gate.Read" });

    const result = await entra()(bearer(jwt), "Gate.Read");

    expect(failure(result).error).toBe("insufficient_role");
  });

  it("accepts a valid token without roles when the route needs none", async () => {
    const jwt = await token({ roles: undefined });

    const result = await entra()(bearer(jwt), undefined);

    expect(result).toMatchObject({ ok: true, principal: { roles: [] } });
  });

  it("takes the client from appid in a v1.0 token", async () => {
    const jwt = await token({ iss: ISSUER_V1, azp: undefined, appid: CLIENT_APP_ID });

    const result = await entra({ acceptV1Issuer: true })(bearer(jwt), "Gate.Read");

    expect(result).toMatchObject({ ok: true, principal: { appId: CLIENT_APP_ID } });
  });

  // The default clock tolerance is 300 s, so 400 s is beyond it.
  it.each<[string, (now: number) => JWTPayload, RegExp]>([
    ["has expired beyond the clock tolerance", (now) => ({ exp: now - 400 }), /expired/],
    ["is not valid yet", (now) => ({ nbf: now + 400 }), /not valid yet/],
    ["names another audience", () => ({ aud: "api://someone-else" }), /audience/],
    [
      "names another tenant's issuer",
      () => ({ iss: "https://login.microsoftonline.com/other/v2.0" }),
      /issuer/,
    ],
    ["carries no subject", () => ({ sub: undefined }), /sub claim/],
    ["carries no expiry", () => ({ exp: undefined }), /exp claim/],
  ])("refuses a token that %s with 401 invalid_token", async (_case, claims, reason) => {
    const jwt = await token(claims(Math.floor(Date.now() / 1000)));

    const result = failure(await entra()(bearer(jwt), "Gate.Read"));

    expect(result).toMatchObject({ status: 401, error: "invalid_token" });
    expect(result.message).toMatch(reason);
    expect(result.wwwAuthenticate).toMatch(/^Bearer realm="vigil", error="invalid_token"/);
  });

  it("accepts a token expired within the clock tolerance", async () => {
    const jwt = await token({ exp: Math.floor(Date.now() / 1000) - 60 });

    const result = await entra({ clockToleranceSeconds: 120 })(bearer(jwt), "Gate.Read");

    expect(result.ok).toBe(true);
  });

  it("refuses a token expired a moment ago when the tolerance is zero", async () => {
    const jwt = await token({ exp: Math.floor(Date.now() / 1000) - 5 });

    const result = await entra({ clockToleranceSeconds: 0 })(bearer(jwt), "Gate.Read");

    expect(failure(result).error).toBe("invalid_token");
  });

  it("accepts any of several audiences", async () => {
    const jwt = await token({ aud: `api://${API_APP_ID}` });

    const result = await entra({ audience: [API_APP_ID, `api://${API_APP_ID}`] })(
      bearer(jwt),
      "Gate.Read",
    );

    expect(result.ok).toBe(true);
  });

  it("refuses a v1.0 token unless v1.0 issuers are accepted", async () => {
    const jwt = await token({ iss: ISSUER_V1 });

    const refused = await entra()(bearer(jwt), "Gate.Read");
    const accepted = await entra({ acceptV1Issuer: true })(bearer(jwt), "Gate.Read");

    expect(failure(refused).message).toMatch(/issuer/);
    expect(accepted.ok).toBe(true);
  });

  it("expects Azure China's v1.0 token service when the authority is Azure China's", async () => {
    const china = "https://login.chinacloudapi.cn";
    const v2 = await token({ iss: `${china}/${TENANT}/v2.0` });
    const v1 = await token({ iss: `https://sts.chinacloudapi.cn/${TENANT}/` });
    const publicV1 = await token({ iss: ISSUER_V1 });
    const authenticate = entra({ authorityHost: china, acceptV1Issuer: true });

    const results = [
      await authenticate(bearer(v2), "Gate.Read"),
      await authenticate(bearer(v1), "Gate.Read"),
      await authenticate(bearer(publicV1), "Gate.Read"),
    ];

    expect(results.map((result) => result.ok)).toEqual([true, true, false]);
  });

  it("accepts the configured issuer instead of the default", async () => {
    const issuer = `https://login.partner.microsoftonline.cn/${TENANT}/v2.0`;

    const custom = await entra({ issuer })(bearer(await token({ iss: issuer })), "Gate.Read");
    const usual = await entra({ issuer })(bearer(await token()), "Gate.Read");

    expect(custom.ok).toBe(true);
    expect(usual.ok).toBe(false);
  });

  it("refuses a token signed by another key under the same kid", async () => {
    const jwt = await token({}, { key: otherKey });

    const result = failure(await entra()(bearer(jwt), "Gate.Read"));

    expect(result.error).toBe("invalid_token");
    expect(result.message).toMatch(/signature/);
  });

  it("refuses a token whose kid the issuer does not publish", async () => {
    const jwt = await token({}, { key: otherKey, kid: "unknown" });

    const result = failure(await entra()(bearer(jwt), "Gate.Read"));

    expect(result.message).toMatch(/key the issuer does not publish/);
  });

  it("refuses an unsigned token (alg none)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new UnsecuredJWT({
      iss: ISSUER_V2,
      aud: API_APP_ID,
      sub: "x",
      roles: ["Gate.Read"],
    })
      .setExpirationTime(now + 3600)
      .encode();

    const result = await entra()(bearer(jwt), "Gate.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
  });

  it("refuses an HS256 token keyed with the public key's modulus", async () => {
    // The classic confusion attack: an HMAC keyed with public material the attacker knows.
    const secret = new TextEncoder().encode(publicJwk.n);
    const jwt = await new SignJWT({
      iss: ISSUER_V2,
      aud: API_APP_ID,
      sub: "x",
      roles: ["Gate.Read"],
    })
      .setProtectedHeader({ alg: "HS256", kid: "key-1" })
      .setExpirationTime("1h")
      .sign(secret);

    const result = failure(await entra()(bearer(jwt), "Gate.Read"));

    expect(result.error).toBe("invalid_token");
    expect(result.message).toMatch(/RS256/);
  });

  it("refuses an RS384 token even from the right key, since only RS256 is allowed", async () => {
    const jwt = await token({}, { alg: "RS384", key: sameKeyRs384 });

    const result = await entra()(bearer(jwt), "Gate.Read");

    expect(failure(result).message).toMatch(/RS256/);
  });

  it("refuses a bearer value that is not a JWT", async () => {
    const result = await entra()(request({ authorization: "Bearer not-a-jwt" }), "Gate.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
  });

  it("checks the function key before the token", async () => {
    const authenticate = entra({}, { functionKeys: [KEY] });
    const headers = { authorization: `Bearer ${await token()}`, "x-functions-key": "wrong" };

    const result = await authenticate(request(headers), "Gate.Read");

    expect(failure(result).error).toBe("invalid_key");
  });

  it("accepts a request carrying both the key and a valid token", async () => {
    const authenticate = entra({}, { functionKeys: [KEY] });
    const headers = { authorization: `Bearer ${await token()}`, "x-functions-key": KEY };

    const result = await authenticate(request(headers), "Gate.Read");

    expect(result.ok).toBe(true);
  });

  it("refuses with 401, and does not throw, when the key set throws something unexpected", async () => {
    const authenticate = createAuthenticator(
      { entra: ENTRA },
      {
        jwks: async () => {
          throw new RangeError("a fault in the key lookup");
        },
      },
    );

    const result = await authenticate(bearer(await token()), "Gate.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
    expect(result).not.toHaveProperty("principal");
  });

  it("refuses with 401, and does not throw, when reading the authorization header fails", async () => {
    const broken: AuthRequest = {
      headers: {
        get() {
          throw new Error("header store unavailable");
        },
      },
    };

    const result = await entra()(broken, "Gate.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
  });

  it("refuses with 401 when the signing keys cannot be fetched", async () => {
    const authenticate = createAuthenticator(
      { entra: ENTRA },
      { fetch: async () => Promise.reject(new TypeError("fetch failed")) },
    );

    const result = await authenticate(bearer(await token()), "Gate.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
    expect(failure(result).message).toMatch(/signing keys/);
  });

  it("reads the keys from the tenant's v2.0 discovery URL by default", async () => {
    const urls: string[] = [];
    const authenticate = createAuthenticator(
      { entra: ENTRA },
      {
        fetch: async (url) => {
          urls.push(String(url));
          return Response.json({ keys: [publicJwk] });
        },
      },
    );

    const result = await authenticate(bearer(await token()), "Gate.Read");

    expect(result.ok).toBe(true);
    expect(urls).toEqual([`https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`]);
  });

  it("reads the keys and expects the issuer of a sovereign cloud's authority", async () => {
    const urls: string[] = [];
    const authority = "https://login.microsoftonline.us";
    const authenticate = createAuthenticator(
      { entra: { ...ENTRA, authorityHost: `${authority}/` } },
      {
        fetch: async (url) => {
          urls.push(String(url));
          return Response.json({ keys: [publicJwk] });
        },
      },
    );

    const gov = await authenticate(
      bearer(await token({ iss: `${authority}/${TENANT}/v2.0` })),
      "Gate.Read",
    );
    const publicCloud = await authenticate(bearer(await token()), "Gate.Read");

    expect(gov.ok).toBe(true);
    expect(publicCloud.ok).toBe(false);
    expect(urls[0]).toBe(`${authority}/${TENANT}/discovery/v2.0/keys`);
  });

  it.each([
    ["no audience", { audience: [] }, "/entra/audience"],
    ["a blank audience", { audience: " " }, "/entra/audience"],
    ["a blank tenant", { tenantId: "" }, "/entra/tenantId"],
    [
      "a plain-http key URL off loopback",
      { jwksUri: "http://keys.example/keys" },
      "/entra/jwksUri",
    ],
    ["a key URL that is no URL", { jwksUri: "keys" }, "/entra/jwksUri"],
    ["a negative clock tolerance", { clockToleranceSeconds: -1 }, "/entra/clockToleranceSeconds"],
  ])("rejects settings with %s", (_case, change, pointer) => {
    const build = () => createAuthenticator({ entra: { ...ENTRA, ...change } });

    expect(build).toThrow(InputError);
    expect(build).toThrow(pointer);
  });
});

describe("authFailureResponse", () => {
  const secrets = async () => {
    const jwt = await token({ roles: ["Evidence.Read"] });
    const expired = await token({ exp: Math.floor(Date.now() / 1000) - 4000 });
    const foreign = await token({}, { key: otherKey });
    return { jwt, expired, foreign };
  };

  it("shapes a refusal as { error: { code, message } } with the challenge header", async () => {
    const result = failure(
      await createAuthenticator({ entra: ENTRA }, { jwks: jwks() })(request(), "Gate.Read"),
    );

    const response = authFailureResponse(result);

    expect(response).toEqual({
      status: 401,
      headers: { "WWW-Authenticate": 'Bearer realm="vigil"' },
      jsonBody: { error: { code: "missing_token", message: result.message } },
    });
  });

  it("never puts the presented key or token, or a part of one, in a refusal", async () => {
    const { jwt, expired, foreign } = await secrets();
    const authenticate = createAuthenticator(
      { functionKeys: [KEY], entra: ENTRA },
      { jwks: jwks() },
    );
    const wrongKey = "wrong-key-d41d8cd98f00b204e9800998ecf8427e";
    const cases: [AuthRequest, string[]][] = [
      [request({ "x-functions-key": wrongKey }), [wrongKey, KEY]],
      [request({}, { code: wrongKey }), [wrongKey, KEY]],
      [request({ "x-functions-key": KEY, authorization: `Bearer ${jwt}` }), [jwt, KEY]],
      [request({ "x-functions-key": KEY, authorization: `Bearer ${expired}` }), [expired, KEY]],
      [request({ "x-functions-key": KEY, authorization: `Bearer ${foreign}` }), [foreign, KEY]],
      [request({ "x-functions-key": KEY, authorization: "Bearer e30.e30.c2ln" }), ["e30.e30.c2ln"]],
    ];

    for (const [req, presented] of cases) {
      const result = failure(await authenticate(req, "Gate.Read"));
      const text = JSON.stringify(authFailureResponse(result));
      for (const secret of presented) {
        for (const part of secret.split(".").filter((p) => p.length >= 4)) {
          expect(text).not.toContain(part);
        }
      }
    }
  });
});

describe("authSettingsFromEnvironment", () => {
  it("returns no checks when no VIGIL_AUTH_ variable is set", () => {
    expect(authSettingsFromEnvironment({ VIGIL_TENANT_ID: TENANT })).toEqual({});
  });

  it("reads the tenant, the comma-separated audiences and the other settings", () => {
    const settings = authSettingsFromEnvironment({
      VIGIL_AUTH_ENTRA_TENANT_ID: ` ${TENANT} `,
      VIGIL_AUTH_ENTRA_AUDIENCE: `${API_APP_ID}, api://vigil ,`,
      VIGIL_AUTH_ENTRA_ISSUER: ISSUER_V2,
      VIGIL_AUTH_ENTRA_JWKS_URI: "https://keys.example/keys",
      VIGIL_AUTH_ACCEPT_V1_ISSUER: "true",
    });

    expect(settings).toEqual({
      entra: {
        tenantId: TENANT,
        audience: [API_APP_ID, "api://vigil"],
        issuer: ISSUER_V2,
        jwksUri: "https://keys.example/keys",
        acceptV1Issuer: true,
      },
    });
  });

  it("takes the authority host from VIGIL_CLOUD", () => {
    const settings = authSettingsFromEnvironment({
      VIGIL_CLOUD: "AzureUSGovernment",
      VIGIL_AUTH_ENTRA_TENANT_ID: TENANT,
      VIGIL_AUTH_ENTRA_AUDIENCE: API_APP_ID,
    });

    expect(settings.entra?.authorityHost).toBe("https://login.microsoftonline.us");
  });

  it.each([
    ["VIGIL_AUTH_ENTRA_AUDIENCE", { VIGIL_AUTH_ENTRA_AUDIENCE: API_APP_ID }],
    ["VIGIL_AUTH_ENTRA_ISSUER", { VIGIL_AUTH_ENTRA_ISSUER: ISSUER_V2 }],
    ["VIGIL_AUTH_ENTRA_JWKS_URI", { VIGIL_AUTH_ENTRA_JWKS_URI: "https://keys.example/keys" }],
    ["VIGIL_AUTH_ACCEPT_V1_ISSUER", { VIGIL_AUTH_ACCEPT_V1_ISSUER: "true" }],
  ])("names %s when it is set without the tenant", (variable, env) => {
    const read = () => authSettingsFromEnvironment(env);

    expect(read).toThrow(InputError);
    expect(read).toThrow(`environment variable ${variable}`);
    expect(read).toThrow("VIGIL_AUTH_ENTRA_TENANT_ID");
  });

  it.each([
    ["VIGIL_AUTH_ENTRA_AUDIENCE", "missing", { VIGIL_AUTH_ENTRA_AUDIENCE: undefined }],
    ["VIGIL_AUTH_ENTRA_AUDIENCE", "only commas", { VIGIL_AUTH_ENTRA_AUDIENCE: " , ," }],
    ["VIGIL_AUTH_ENTRA_TENANT_ID", "a domain name", { VIGIL_AUTH_ENTRA_TENANT_ID: "contoso.com" }],
    ["VIGIL_AUTH_ENTRA_TENANT_ID", "common", { VIGIL_AUTH_ENTRA_TENANT_ID: "common" }],
    ["VIGIL_AUTH_ACCEPT_V1_ISSUER", "not a boolean", { VIGIL_AUTH_ACCEPT_V1_ISSUER: "yes" }],
    ["VIGIL_AUTH_ENTRA_ISSUER", "not a URL", { VIGIL_AUTH_ENTRA_ISSUER: "login" }],
    [
      "VIGIL_AUTH_ENTRA_JWKS_URI",
      "plain http",
      { VIGIL_AUTH_ENTRA_JWKS_URI: "http://keys.example/k" },
    ],
    ["VIGIL_CLOUD", "an unknown cloud", { VIGIL_CLOUD: "AzureGermanCloud" }],
  ])("names %s when it is %s", (variable, _case, change) => {
    const env = {
      VIGIL_AUTH_ENTRA_TENANT_ID: TENANT,
      VIGIL_AUTH_ENTRA_AUDIENCE: API_APP_ID,
      ...change,
    };

    const read = () => authSettingsFromEnvironment(env);

    expect(read).toThrow(InputError);
    expect(read).toThrow(`environment variable ${variable}`);
  });

  it("accepts a tenant given by name when the issuer is given too", () => {
    const settings = authSettingsFromEnvironment({
      VIGIL_AUTH_ENTRA_TENANT_ID: "contoso.onmicrosoft.com",
      VIGIL_AUTH_ENTRA_AUDIENCE: API_APP_ID,
      VIGIL_AUTH_ENTRA_ISSUER: ISSUER_V2,
    });

    expect(settings.entra?.tenantId).toBe("contoso.onmicrosoft.com");
  });

  it("yields settings that check tokens as configured", async () => {
    const settings = authSettingsFromEnvironment({
      VIGIL_AUTH_ENTRA_TENANT_ID: TENANT,
      VIGIL_AUTH_ENTRA_AUDIENCE: `api://vigil,${API_APP_ID}`,
      VIGIL_AUTH_ACCEPT_V1_ISSUER: "1",
    });
    const authenticate = createAuthenticator(settings, { jwks: jwks() });

    const v1 = await authenticate(bearer(await token({ iss: ISSUER_V1 })), "Gate.Read");
    const otherAudience = await authenticate(
      bearer(await token({ aud: "api://other" })),
      "Gate.Read",
    );

    expect(v1.ok).toBe(true);
    expect(otherAudience.ok).toBe(false);
  });
});
