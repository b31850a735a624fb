/**
 * Who may call vigil's HTTP routes: a function key (checked here only when `vigil serve` hosts the
 * handlers; in Azure the Functions host checks it) and, optionally, an Entra ID access token
 * carrying an app role. Every failure is a 401 or 403 result, never an exception and never `ok`.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { CLOUDS, type CloudName, cloudEndpoints, InputError } from "../core/index.js";

/** The app roles vigil's routes ask for (app registration `appRoles[].value`). */
export type AppRole = "Evidence.Read" | "Gate.Read";

/** The Entra ID token check: which tenant issues the tokens and which audience they must name. */
export interface EntraSettings {
  /** The directory (tenant) id: the GUID that Entra writes into the issuer of its tokens. */
  tenantId: string;
  /** Accepted `aud` values: the API's application id and/or its App ID URI (`api://…`). */
  audience: string | string[];
  /** Expected `iss`; default `<authorityHost>/<tenantId>/v2.0` (v2.0 access tokens). */
  issuer?: string;
  /**
   * Also accept v1.0 access tokens (`https://sts.windows.net/<tenantId>/`, or
   * `https://sts.chinacloudapi.cn/<tenantId>/` in Azure China), which Entra issues when the API's
   * app registration leaves `accessTokenAcceptedVersion` unset or 1.
   */
  acceptV1Issuer?: boolean;
  /** Signing keys; default `<authorityHost>/<tenantId>/discovery/v2.0/keys`. */
  jwksUri?: string;
  /** Allowed clock skew for `exp` and `nbf`; default 300, as Microsoft.IdentityModel's. */
  clockToleranceSeconds?: number;
  /** Entra authority of the tenant's cloud; default `https://login.microsoftonline.com`. */
  authorityHost?: string;
}

/** What `authenticate` checks. With neither part set, every request passes. */
export interface AuthSettings {
  /**
   * Accepted function keys, checked only when given: in Azure the Functions host checks keys
   * itself, so this is left out there; `vigil serve` gives its local key.
   */
  functionKeys?: readonly string[];
  /** Require an Entra ID bearer token as well. */
  entra?: EntraSettings;
}

/** Options of `createAuthenticator`. */
export interface CreateAuthenticatorOptions {
  /** The `fetch` the signing keys are read with (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** A key set to verify with instead of the remote one (tests). */
  jwks?: JWTVerifyGetKey;
  /**
   * How long after reading the signing keys a token with an unknown `kid` may make them be read
   * again (key rotation); default 30 000 ms, jose's, so that made-up `kid`s cannot hammer Entra.
   */
  jwksCooldownInMs?: number;
  /** Time limit of one read of the signing keys; default 5 000 ms. */
  jwksTimeoutInMs?: number;
}

/** The request parts `authenticate` reads: an Azure Functions `HttpRequest` fits. */
export interface AuthRequest {
  headers: { get(name: string): string | null };
  query?: URLSearchParams;
}

/** The caller a valid token names. */
export interface AuthPrincipal {
  /** The token's `sub`. */
  subject: string;
  /** The Entra object id (`oid`) of the user or service principal, when the token has one. */
  objectId?: string;
  /** The client application (`azp` in v2.0 tokens, `appid` in v1.0). */
  appId?: string;
  /** The app roles granted to the caller (`roles`); app-only tokens carry them too. */
  roles: readonly string[];
}

/** Stable codes of authentication failures. */
export type AuthErrorCode =
  | "missing_key"
  | "invalid_key"
  | "missing_token"
  | "invalid_token"
  | "insufficient_role";

/** A refused request: the status, a stable code and a message for people. */
export interface AuthFailure {
  ok: false;
  status: 401 | 403;
  error: AuthErrorCode;
  /** Says what to send instead; never contains the key, the token or estate data. */
  message: string;
  /** The `WWW-Authenticate` header for token problems (RFC 6750 §3). */
  wwwAuthenticate?: string;
}

/** The outcome of `authenticate`; `principal` is set when a token was checked. */
export type AuthResult = { ok: true; principal?: AuthPrincipal } | AuthFailure;

/** Checks one request; `requiredRole` is checked only when a token is required. */
export type Authenticator = (
  request: AuthRequest,
  requiredRole: AppRole | undefined,
) => Promise<AuthResult>;

const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 300;
const JOSE_DEFAULT_COOLDOWN_IN_MS = 30_000;
const JOSE_DEFAULT_TIMEOUT_IN_MS = 5_000;
const REALM = 'Bearer realm="vigil"';
const SETTINGS = "auth settings";
const INVALID_KEY = "The function key is not valid for this app.";
const UNCHECKED = "it could not be checked against the issuer's signing keys";

/**
 * Remote key sets by URI and timing, one per process: jose caches the keys inside each, and a key
 * set rebuilt per invocation would read Entra's keys on every request.
 */
const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/**
 * Builds the request check for `settings`. Build it once per process: the signing keys it reads
 * are cached in it.
 * @throws InputError when the settings are unusable (an empty key, no audience, a bad URL).
 */
export function createAuthenticator(
  settings: AuthSettings,
  options: CreateAuthenticatorOptions = {},
): Authenticator {
  const keyDigests = settings.functionKeys?.map((key, index) => {
    if (key === "")
      throw new InputError("a function key must not be empty", {
        file: SETTINGS,
        pointer: `/functionKeys/${index}`,
        code: "InvalidSetting",
      });
    return digest(key);
  });
  const token = settings.entra === undefined ? undefined : tokenCheck(settings.entra, options);

  return async (request, requiredRole) => {
    if (keyDigests !== undefined) {
      let refused: AuthFailure | undefined;
      try {
        refused = checkKey(request, keyDigests);
      } catch {
        // Fail closed: a check that breaks refuses the request.
        refused = { ok: false, status: 401, error: "invalid_key", message: INVALID_KEY };
      }
      if (refused !== undefined) return refused;
    }
    if (token === undefined) return { ok: true };
    try {
      return await token(request, requiredRole);
    } catch {
      return invalidToken(UNCHECKED);
    }
  };
}

/** An Azure Functions-shaped response for a refusal: `{ error: { code, message } }`. */
export function authFailureResponse(failure: AuthFailure): {
  status: 401 | 403;
  headers: Record<string, string>;
  jsonBody: { error: { code: AuthErrorCode; message: string } };
} {
  return {
    status: failure.status,
    headers:
      failure.wwwAuthenticate === undefined ? {} : { "WWW-Authenticate": failure.wwwAuthenticate },
    jsonBody: { error: { code: failure.error, message: failure.message } },
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function checkKey(request: AuthRequest, accepted: readonly Buffer[]): AuthFailure | undefined {
  // The Functions host reads the header first, then `?code=` (function-keys-how-to).
  const presented =
    nonEmpty(request.headers.get("x-functions-key")) ?? nonEmpty(request.query?.get("code"));
  if (presented === undefined)
    return {
      ok: false,
      status: 401,
      error: "missing_key",
      message:
        "This endpoint needs a function key: send it in the x-functions-key header or the code query parameter.",
    };
  // Digests make the comparison length-independent; every key is compared, so the time taken
  // does not say which one nearly matched.
  const seen = digest(presented);
  let match = false;
  for (const key of accepted) match = timingSafeEqual(seen, key) || match;
  if (match) return undefined;
  return { ok: false, status: 401, error: "invalid_key", message: INVALID_KEY };
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === "" ? undefined : value;
}

/** The bearer-token half of the check, with its settings resolved once. */
function tokenCheck(entra: EntraSettings, options: CreateAuthenticatorOptions): Authenticator {
  const resolved = resolveEntra(entra);
  const keys = options.jwks ?? remoteKeySet(resolved.jwksUri, options);

  return async (request, requiredRole) => {
    const header = request.headers.get("authorization");
    // Trimmed first: a lazy `(.+?)\s*$` took quadratic time on a header padded with spaces, a
    // pre-authentication cost any client could impose.
    const match = header === null ? null : /^Bearer\s+(\S.*)$/i.exec(header.trim());
    const jwt = match?.[1];
    if (jwt === undefined)
      return {
        ok: false,
        status: 401,
        error: "missing_token",
        message:
          "This endpoint needs an Entra ID access token: send it as 'Authorization: Bearer <token>'.",
        wwwAuthenticate: REALM,
      };

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, keys, {
        algorithms: ["RS256"],
        issuer: resolved.issuers,
        audience: resolved.audiences,
        clockTolerance: resolved.clockToleranceSeconds,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      // Fail closed: whatever went wrong (a bad token, unreachable keys, a bug), the answer is 401.
      return invalidToken(describeTokenError(error));
    }

    const principal = principalOf(payload);
    if (principal === undefined) return invalidToken("it names no subject");
    if (requiredRole !== undefined && !principal.roles.includes(requiredRole))
      return {
        ok: false,
        status: 403,
        error: "insufficient_role",
        message: `The access token is valid but does not grant the app role '${requiredRole}' that this endpoint needs.`,
        wwwAuthenticate: `${REALM}, error="insufficient_scope", error_description="the token lacks the app role ${requiredRole}"`,
      };
    return { ok: true, principal };
  };
}

function invalidToken(reason: string): AuthFailure {
  return {
    ok: false,
    status: 401,
    error: "invalid_token",
    message: `The access token was refused: ${reason}.`,
    wwwAuthenticate: `${REALM}, error="invalid_token", error_description="${reason}"`,
  };
}

/**
 * Why a token was refused, in words that name the check and never echo the token or its claims.
 * The reasons contain no `"` or `\`, so they can go into the header's quoted string as they are.
 */
function describeTokenError(error: unknown): string {
  // Outside jose's own errors: fetch failing (connection refused, DNS) or a fault of ours.
  if (!(error instanceof errors.JOSEError)) return UNCHECKED;
  switch (error.code) {
    case "ERR_JWT_EXPIRED":
      return "it has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const claim = (error as errors.JWTClaimValidationFailed).claim;
      if (claim === "aud") return "it was not issued for this API (audience)";
      if (claim === "iss") return "it was not issued by the configured tenant (issuer)";
      if (claim === "nbf") return "it is not valid yet";
      return `its ${claim} claim is missing or invalid`;
    }
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "it is not signed with RS256";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "its signature does not verify";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "it is signed with a key the issuer does not publish";
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
    case "ERR_JOSE_GENERIC":
      return "its signing keys could not be read";
    default:
      return "it is not a well-formed signed JWT";
  }
}

function principalOf(payload: JWTPayload): AuthPrincipal | undefined {
  if (typeof payload.sub !== "string" || payload.sub === "") return undefined;
  const roles = Array.isArray(payload.roles)
    ? payload.roles.filter((role): role is string => typeof role === "string")
    : [];
  const appId = stringClaim(payload, "azp") ?? stringClaim(payload, "appid");
  const objectId = stringClaim(payload, "oid");
  return {
    subject: payload.sub,
    ...(objectId !== undefined ? { objectId } : {}),
    ...(appId !== undefined ? { appId } : {}),
    roles,
  };
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

interface ResolvedEntra {
  issuers: string[];
  audiences: string[];
  jwksUri: URL;
  clockToleranceSeconds: number;
}

function resolveEntra(entra: EntraSettings): ResolvedEntra {
  const invalid = (pointer: string, message: string) =>
    new InputError(message, {
      file: SETTINGS,
      pointer: `/entra${pointer}`,
      code: "InvalidSetting",
    });
  const tenantId = entra.tenantId.trim();
  if (tenantId === "") throw invalid("/tenantId", "expected the directory (tenant) id");
  const audiences = (Array.isArray(entra.audience) ? entra.audience : [entra.audience])
    .map((audience) => audience.trim())
    .filter((audience) => audience !== "");
  if (audiences.length === 0)
    throw invalid("/audience", "expected at least one audience (the API's application id)");
  const tolerance = entra.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw invalid("/clockToleranceSeconds", "expected a number of seconds, 0 or more");

  const authorityUrl = acceptedUrl(entra.authorityHost ?? DEFAULT_AUTHORITY_HOST);
  if (authorityUrl === undefined) throw invalid("/authorityHost", "expected an https URL");
  const authority = authorityUrl.href.replace(/\/+$/, "");
  const issuers = [entra.issuer ?? `${authority}/${tenantId}/v2.0`];
  if (entra.acceptV1Issuer === true) issuers.push(v1Issuer(authority, tenantId));
  const jwksUri = acceptedUrl(entra.jwksUri ?? `${authority}/${tenantId}/discovery/v2.0/keys`);
  if (jwksUri === undefined)
    throw invalid("/jwksUri", "expected an https URL (http only on loopback)");
  return { issuers, audiences, jwksUri, clockToleranceSeconds: tolerance };
}

/** v1.0 tokens name the security token service, which differs only in Azure China. */
function v1Issuer(authority: string, tenantId: string): string {
  const host = new URL(authority).hostname;
  const china = host.endsWith(".chinacloudapi.cn") || host.endsWith(".microsoftonline.cn");
  return `https://${china ? "sts.chinacloudapi.cn" : "sts.windows.net"}/${tenantId}/`;
}

/** An https URL, or http on loopback (a local key server for `vigil serve` and tests). */
function acceptedUrl(text: string): URL | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  const loopback = ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
  return url.protocol === "https:" || (url.protocol === "http:" && loopback) ? url : undefined;
}

function remoteKeySet(uri: URL, options: CreateAuthenticatorOptions): JWTVerifyGetKey {
  const cooldownDuration = options.jwksCooldownInMs ?? JOSE_DEFAULT_COOLDOWN_IN_MS;
  const timeoutDuration = options.jwksTimeoutInMs ?? JOSE_DEFAULT_TIMEOUT_IN_MS;
  const fetchImpl = options.fetch;
  const create = () =>
    createRemoteJWKSet(uri, {
      cooldownDuration,
      timeoutDuration,
      ...(fetchImpl !== undefined ? { [customFetch]: (url, init) => fetchImpl(url, init) } : {}),
    });
  // An injected fetch is a test's or a caller's own: its key set is not shared.
  if (fetchImpl !== undefined) return create();
  const cacheKey = `${uri.href} ${cooldownDuration} ${timeoutDuration}`;
  let keySet = remoteKeySets.get(cacheKey);
  if (keySet === undefined) {
    keySet = create();
    remoteKeySets.set(cacheKey, keySet);
  }
  return keySet;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The Entra token check the app settings ask for (`VIGIL_AUTH_ENTRA_*`), without function keys
 * (the Functions host checks those in Azure). With no `VIGIL_AUTH_*` variable set, the result
 * is `{}`: function keys alone protect the routes. The authority host follows `VIGIL_CLOUD`.
 * @throws InputError naming the variable when a value is malformed or a required one is missing.
 */
export function authSettingsFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): AuthSettings {
  const read = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === "" ? undefined : text;
  };
  const invalid = (name: string, message: string) =>
    new InputError(message, {
      file: `environment variable ${name}`,
      pointer: "",
      code: "InvalidSetting",
    });

  const tenantId = read("VIGIL_AUTH_ENTRA_TENANT_ID");
  const audienceText = read("VIGIL_AUTH_ENTRA_AUDIENCE");
  const issuer = read("VIGIL_AUTH_ENTRA_ISSUER");
  const jwksUri = read("VIGIL_AUTH_ENTRA_JWKS_URI");
  const v1Text = read("VIGIL_AUTH_ACCEPT_V1_ISSUER");

  if (tenantId === undefined) {
    const dependent = [
      ["VIGIL_AUTH_ENTRA_AUDIENCE", audienceText],
      ["VIGIL_AUTH_ENTRA_ISSUER", issuer],
      ["VIGIL_AUTH_ENTRA_JWKS_URI", jwksUri],
      ["VIGIL_AUTH_ACCEPT_V1_ISSUER", v1Text],
    ].find(([, value]) => value !== undefined);
    if (dependent !== undefined)
      throw invalid(
        dependent[0] as string,
        "is set but VIGIL_AUTH_ENTRA_TENANT_ID is not: set the tenant id to turn on the Entra ID token check",
      );
    return {};
  }
  // Entra names the tenant by its GUID in every token's issuer, never by a domain name.
  if (!GUID.test(tenantId) && issuer === undefined)
    throw invalid(
      "VIGIL_AUTH_ENTRA_TENANT_ID",
      `expected the directory (tenant) id, a GUID, found '${tenantId}'`,
    );
  if (audienceText === undefined)
    throw invalid(
      "VIGIL_AUTH_ENTRA_AUDIENCE",
      "is required when VIGIL_AUTH_ENTRA_TENANT_ID is set: the API's application id or App ID URI, comma-separated",
    );
  const audience = audienceText
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (audience.length === 0)
    throw invalid("VIGIL_AUTH_ENTRA_AUDIENCE", "expected at least one audience, comma-separated");

  let acceptV1Issuer = false;
  if (v1Text !== undefined) {
    const lower = v1Text.toLowerCase();
    if (lower === "true" || lower === "1") acceptV1Issuer = true;
    else if (lower !== "false" && lower !== "0")
      throw invalid("VIGIL_AUTH_ACCEPT_V1_ISSUER", `expected true or false, found '${v1Text}'`);
  }
  for (const [name, value] of [
    ["VIGIL_AUTH_ENTRA_ISSUER", issuer],
    ["VIGIL_AUTH_ENTRA_JWKS_URI", jwksUri],
  ] as const) {
    if (value !== undefined && acceptedUrl(value) === undefined)
      throw invalid(name, `expected an https URL (http only on loopback), found '${value}'`);
  }

  const cloud = read("VIGIL_CLOUD");
  let authorityHost: string | undefined;
  if (cloud !== undefined) {
    if (!(CLOUDS as readonly string[]).includes(cloud))
      throw invalid("VIGIL_CLOUD", `expected one of ${CLOUDS.join(", ")}, found '${cloud}'`);
    authorityHost = cloudEndpoints(cloud as CloudName).authorityHost;
  }

  const entra: EntraSettings = {
    tenantId,
    audience,
    ...(issuer !== undefined ? { issuer } : {}),
    ...(acceptV1Issuer ? { acceptV1Issuer } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
    ...(authorityHost !== undefined ? { authorityHost } : {}),
  };
  return { entra };
}
