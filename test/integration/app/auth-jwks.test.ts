/**
 * The Entra ID token check against a signing-key endpoint served over loopback HTTP: keys are read
 * over the network, cached per process, read again when a token names a rotated-in key, and an
 * unreachable or broken key endpoint refuses the request instead of crashing.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AuthFailure,
  type AuthRequest,
  type AuthResult,
  authFailureResponse,
  createAuthenticator,
  type EntraSettings,
} from "../../../src/app/auth.js";

const TENANT = "8f0e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const AUDIENCE = "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091";
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const KEY = "serve-local-key-6f1d0c8e9b7a";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
interface SigningKey {
  kid: string;
  privateKey: PrivateKey;
  jwk: JWK;
}

let keyA: SigningKey;
let keyB: SigningKey;
let stranger: SigningKey;

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  // Entra's key set names no `alg`, only `kty`, `use` and `kid`.
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: "sig" } };
}

beforeAll(async () => {
  [keyA, keyB, stranger] = await Promise.all([
    signingKey("key-a"),
    signingKey("key-b"),
    signingKey("key-stranger"),
  ]);
});

/** A key endpoint on loopback whose published keys and answer the test changes. */
interface KeyServer {
  url: string;
  published: SigningKey[];
  /** Status of the next answers; 200 serves `{ keys }`. */
  status: number;
  /** Replaces the body of a 200 answer. */
  body: string | undefined;
  requests: number;
  close(): Promise<void>;
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

async function startKeyServer(published: SigningKey[]): Promise<KeyServer> {
  const state = { published, status: 200, body: undefined as string | undefined, requests: 0 };
  const server = createServer((request, response) => {
    state.requests++;
    if (request.url !== "/tenant/discovery/v2.0/keys") {
      response.writeHead(404).end();
      return;
    }
    const body = state.body ?? JSON.stringify({ keys: state.published.map((key) => key.jwk) });
    response.writeHead(state.status, { "content-type": "application/json" }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/tenant/discovery/v2.0/keys`,
    close: () => closeServer(server),
  });
}

function entra(server: KeyServer): EntraSettings {
  return { tenantId: TENANT, audience: AUDIENCE, jwksUri: server.url };
}

async function token(key: SigningKey, claims: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iat: now,
    exp: now + 3600,
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "b7c6d5e4-f3a2-4b1c-9d8e-7f6a5b4c3d2e",
    azp: "a1b2c3d4-e5f6-4789-8abc-def012345678",
    roles: ["Evidence.Read"],
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid })
    .sign(key.privateKey);
}

function request(headers: Record<string, string>, query: Record<string, string> = {}): AuthRequest {
  return { headers: new Headers(headers), query: new URLSearchParams(query) };
}

function withToken(jwt: string): AuthRequest {
  return request({ "x-functions-key": KEY, authorization: `Bearer ${jwt}` });
}

function failure(result: AuthResult): AuthFailure {
  if (result.ok) throw new Error("expected a refusal, the request was let through");
  return result;
}

describe("createAuthenticator with a remote key set", () => {
  it("accepts a token signed by a published key and returns its roles", async () => {
    const server = await startKeyServer([keyA]);
    const authenticate = createAuthenticator({ functionKeys: [KEY], entra: entra(server) });

    const result = await authenticate(withToken(await token(keyA)), "Evidence.Read");

    expect(result).toMatchObject({ ok: true, principal: { roles: ["Evidence.Read"] } });
    expect(server.requests).toBe(1);
  });

  it("checks the key from the header and from ?code before reading any signing key", async () => {
    const server = await startKeyServer([keyA]);
    const authenticate = createAuthenticator({ functionKeys: [KEY], entra: entra(server) });
    const jwt = await token(keyA);

    const missing = await authenticate(request({ authorization: `Bearer ${jwt}` }), undefined);
    const wrong = await authenticate(
      request({ authorization: `Bearer ${jwt}`, "x-functions-key": "nope" }),
      undefined,
    );
    const viaQuery = await authenticate(
      request({ authorization: `Bearer ${jwt}` }, { code: KEY }),
      undefined,
    );

    expect(failure(missing).error).toBe("missing_key");
    expect(failure(wrong).error).toBe("invalid_key");
    expect(viaQuery.ok).toBe(true);
    expect(server.requests).toBe(1);
  });

  it("refuses a token without the required role with 403", async () => {
    const server = await startKeyServer([keyA]);
    const authenticate = createAuthenticator({ entra: entra(server) });

    const result = await authenticate(withToken(await token(keyA, { roles: [] })), "Gate.Read");

    expect(failure(result)).toMatchObject({ status: 403, error: "insufficient_role" });
  });

  it.each<[string, () => Promise<string>]>([
    ["expired", () => token(keyA, { exp: Math.floor(Date.now() / 1000) - 3600 })],
    ["for another audience", () => token(keyA, { aud: "api://another-api" })],
    ["from another issuer", () => token(keyA, { iss: "https://sts.windows.net/other/" })],
    [
      "signed by an unpublished key under a published kid",
      async () => {
        const forged = { ...stranger, kid: keyA.kid };
        return token(forged);
      },
    ],
    [
      "unsigned (alg none)",
      async () =>
        new UnsecuredJWT({ iss: ISSUER, aud: AUDIENCE, sub: "x", roles: ["Evidence.Read"] })
          .setExpirationTime("1h")
          .encode(),
    ],
    [
      "HS256",
      async () =>
        new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "x", roles: ["Evidence.Read"] })
          .setProtectedHeader({ alg: "HS256", kid: keyA.kid })
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(keyA.jwk.n)),
    ],
  ])("refuses a token that is %s with 401 invalid_token", async (_case, make) => {
    const server = await startKeyServer([keyA]);
    const authenticate = createAuthenticator({ entra: entra(server) });
    const jwt = await make();

    const result = failure(await authenticate(withToken(jwt), "Evidence.Read"));

    expect(result).toMatchObject({ status: 401, error: "invalid_token" });
    expect(result.wwwAuthenticate).toMatch(/error="invalid_token"/);
    expect(JSON.stringify(authFailureResponse(result))).not.toContain(jwt.split(".")[1]);
  });

  it("reads the keys again when a token names a rotated-in key, then accepts it", async () => {
    const server = await startKeyServer([keyA]);
    const authenticate = createAuthenticator({ entra: entra(server) }, { jwksCooldownInMs: 0 });
    const before = await authenticate(withToken(await token(keyA)), "Evidence.Read");
    server.published = [keyA, keyB];

    const after = await authenticate(withToken(await token(keyB)), "Evidence.Read");

    expect(before.ok).toBe(true);
    expect(after).toMatchObject({ ok: true, principal: { roles: ["Evidence.Read"] } });
    expect(server.requests).toBe(2);
  });

  it("does not read the keys again for an unknown kid within the cooldown", async () => {
    const server = await startKeyServer([keyA]);
    const authenticate = createAuthenticator({ entra: entra(server) });
    await authenticate(withToken(await token(keyA)), "Evidence.Read");
    server.published = [keyA, keyB];

    const result = await authenticate(withToken(await token(stranger)), "Evidence.Read");

    expect(failure(result).error).toBe("invalid_token");
    expect(server.requests).toBe(1);
  });

  it("shares one cached key set among authenticators for the same key URL", async () => {
    const server = await startKeyServer([keyA]);
    const first = createAuthenticator({ entra: entra(server) });
    const second = createAuthenticator({ entra: { ...entra(server), audience: [AUDIENCE] } });
    const jwt = await token(keyA);

    const results = [
      await first(withToken(jwt), "Evidence.Read"),
      await second(withToken(jwt), "Evidence.Read"),
      await first(withToken(jwt), "Evidence.Read"),
    ];

    expect(results.every((result) => result.ok)).toBe(true);
    expect(server.requests).toBe(1);
  });

  it("refuses with 401, and does not throw, when the key endpoint is down", async () => {
    const server = await startKeyServer([keyA]);
    await server.close();
    const authenticate = createAuthenticator({ entra: entra(server) });
    const jwt = await token(keyA);

    const result = failure(await authenticate(withToken(jwt), "Evidence.Read"));

    expect(result).toMatchObject({ status: 401, error: "invalid_token" });
    expect(result.message).toMatch(/signing keys/);
    expect(JSON.stringify(authFailureResponse(result))).not.toContain(jwt.split(".")[2]);
  });

  it.each([
    ["answers 500", 500, undefined],
    ["answers with a body that is not JSON", 200, "<html>maintenance</html>"],
    ["answers with JSON that is no key set", 200, '{"keys":"none"}'],
  ])("refuses with 401 when the key endpoint %s", async (_case, status, body) => {
    const server = await startKeyServer([keyA]);
    server.status = status;
    server.body = body;
    const authenticate = createAuthenticator({ entra: entra(server) });

    const result = await authenticate(withToken(await token(keyA)), "Evidence.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
  });

  it("refuses with 401 when the key endpoint does not answer in time", async () => {
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const authenticate = createAuthenticator(
      { entra: { tenantId: TENANT, audience: AUDIENCE, jwksUri: `http://127.0.0.1:${port}/keys` } },
      { jwksTimeoutInMs: 200 },
    );

    const result = await authenticate(withToken(await token(keyA)), "Evidence.Read");

    expect(failure(result)).toMatchObject({ status: 401, error: "invalid_token" });
  });

  it("accepts again once a key endpoint that was down comes back", async () => {
    const server = await startKeyServer([keyA]);
    server.status = 503;
    const authenticate = createAuthenticator({ entra: entra(server) });
    const jwt = await token(keyA);
    const whileDown = await authenticate(withToken(jwt), "Evidence.Read");
    server.status = 200;

    const afterwards = await authenticate(withToken(jwt), "Evidence.Read");

    expect(whileDown.ok).toBe(false);
    expect(afterwards.ok).toBe(true);
  });
});
