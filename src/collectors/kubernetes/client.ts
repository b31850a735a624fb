/**
 * Reading a cluster with @kubernetes/client-node: a KubeConfig for an AKS cluster (server and CA
 * from the app, an Entra token for the AKS server application) or for a kubeconfig context, and
 * full paged lists (`limit`/`continue`) in the API's wire shape, each page a policed call.
 */

import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type {
  ConfigurationOptions,
  KubeConfig,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
} from "@kubernetes/client-node";
import type { ClusterTarget } from "../../core/index.js";
import type { CallPolicy } from "../call-policy.js";
import { CollectionError } from "../errors.js";
import type { KubeObject } from "./types.js";

type KubernetesClient = typeof import("@kubernetes/client-node");
let kubernetesClient: Promise<KubernetesClient> | undefined;

/**
 * @kubernetes/client-node, loaded on first use: it takes about a second to load (more than every
 * other SDK vigil uses together), and most entry points (the gate, reports, the CLI's `policies`)
 * never read a cluster.
 */
function loadKubernetesClient(): Promise<KubernetesClient> {
  kubernetesClient ??= import("@kubernetes/client-node");
  return kubernetesClient;
}

/**
 * How to reach a cluster, as the app's `connect` answers it. For AKS: `server` and `caPem` (from
 * listClusterUserCredentials); the token is vigil's own. For a kubeconfig context: the file and
 * context (or nothing: the target's own), optionally overridden by `server`, `caPem`, `token`.
 */
export interface KubernetesConnection {
  server?: string;
  caPem?: string;
  /** A bearer token to use instead of the kubeconfig's user. Never logged. */
  token?: string;
  skipTlsVerify?: boolean;
  kubeconfigPath?: string | undefined;
  context?: string;
}

/** One kind to list cluster-wide. */
export interface ResourceKind {
  /** API group; `""` for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/** Objects per page: large enough to keep calls few, small enough for big clusters. */
const PAGE_SIZE = 500;

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/**
 * A KubeConfig for a cluster target. AKS (or any connection with a `server` and no kubeconfig
 * file): one cluster with the given CA and a token user. Kubeconfig: the file (default loading
 * rules when no path) at the context, with `server`/`caPem`/`token` laid over it when given.
 */
export async function buildKubeConfig(
  cluster: ClusterTarget,
  connection: KubernetesConnection,
  options: { token?: string; apiCaPem?: readonly string[] } = {},
): Promise<KubeConfig> {
  const { KubeConfig } = await loadKubernetesClient();
  const kc = new KubeConfig();
  const token = connection.token ?? options.token;
  const extraCa = options.apiCaPem ?? [];
  if (
    cluster.kind === "aks" ||
    (connection.server !== undefined && connection.kubeconfigPath === undefined)
  ) {
    if (connection.server === undefined)
      throw new TypeError(`no API server address for cluster ${cluster.name}`);
    const ca = [connection.caPem, ...extraCa].filter((c): c is string => c !== undefined);
    kc.loadFromOptions({
      clusters: [
        {
          name: cluster.name,
          server: connection.server,
          ...(ca.length > 0 ? { caData: base64(ca.join("\n")) } : {}),
          skipTLSVerify: connection.skipTlsVerify === true,
        },
      ],
      users: [{ name: "vigil", ...(token !== undefined ? { token } : {}) }],
      contexts: [{ name: cluster.name, cluster: cluster.name, user: "vigil" }],
      currentContext: cluster.name,
    });
    return kc;
  }
  const path = connection.kubeconfigPath ?? cluster.kubeconfigPath;
  if (path !== undefined) kc.loadFromString(readFileSync(path, "utf8"));
  else kc.loadFromDefault();
  kc.setCurrentContext(connection.context ?? cluster.context);
  const current = kc.getCurrentCluster();
  if (current === null)
    throw new TypeError(
      `kubeconfig context ${connection.context ?? cluster.context} names no cluster`,
    );
  if (connection.server === undefined && connection.caPem === undefined && token === undefined)
    return kc;
  const user = kc.getCurrentUser();
  const caData =
    connection.caPem !== undefined
      ? base64([connection.caPem, ...extraCa].join("\n"))
      : current.caData;
  const overridden = new KubeConfig();
  overridden.loadFromClusterAndUser(
    {
      ...current,
      server: connection.server ?? current.server,
      ...(caData !== undefined ? { caData } : {}),
      skipTLSVerify: connection.skipTlsVerify ?? current.skipTLSVerify,
    },
    token !== undefined ? { name: "vigil", token } : (user ?? { name: "vigil" }),
  );
  return overridden;
}

/** The system CAs plus extra PEMs, for callers that replace Node's default trust store. */
export function trustedCas(extra: readonly string[] | undefined): string[] | undefined {
  return extra !== undefined && extra.length > 0 ? [...rootCertificates, ...extra] : undefined;
}

/**
 * A per-call middleware: hands the call policy's abort signal to the request and captures the
 * raw JSON body of a successful response (the typed core API would otherwise turn timestamps into
 * Date objects and drop unknown fields: observations keep the wire shape).
 */
function rawCapture(
  { Observable, ResponseContext }: KubernetesClient,
  abortSignal: AbortSignal,
  sink: (body: unknown) => void,
  connections: SharedDispatcher,
): ObservableMiddleware {
  return {
    pre: (context: RequestContext) => {
      context.setSignal(abortSignal);
      // The client builds a new dispatcher (a new connection pool, so a new TLS handshake) for
      // every request; its TLS settings are the same for every request of one cluster, so the
      // first one is kept and reused and connections stay open between lists and pages.
      const fresh = context.getDispatcher();
      if (connections.dispatcher === undefined) connections.dispatcher = fresh;
      else if (fresh !== undefined) context.setDispatcher(connections.dispatcher);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) =>
      new Observable(
        response.body.text().then((text) => {
          if (response.httpStatusCode >= 200 && response.httpStatusCode < 300)
            sink(JSON.parse(text) as unknown);
          return new ResponseContext(response.httpStatusCode, response.headers, {
            ...response.body,
            text: async () => text,
            binary: async () => Buffer.from(text, "utf8"),
          });
        }),
      ),
  };
}

/** The dispatcher a cluster reader reuses for all its requests (see {@link rawCapture}). */
interface SharedDispatcher {
  dispatcher: ReturnType<RequestContext["getDispatcher"]>;
}

function callOptions(middleware: ObservableMiddleware): ConfigurationOptions {
  return { middleware: [middleware], middlewareMergeStrategy: "append" };
}

interface ListPage {
  items: KubeObject[];
  metadata?: { continue?: string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A 2xx list body as a page. The API server always answers a list with an `items` array; a body
 * without one (a proxy or gateway answering `200 {}`) is not an empty list.
 * @throws CollectionError (`UnexpectedResponse`) when the body is not a list of objects.
 */
function listPage(raw: unknown, kind: ResourceKind): ListPage {
  const what = `${kind.plural}${kind.group === "" ? "" : `.${kind.group}`}`;
  if (!isRecord(raw) || !Array.isArray(raw.items) || !raw.items.every(isRecord))
    throw new CollectionError(
      `the list of ${what} answered 2xx without an items array of objects: not a Kubernetes list`,
      { source: "kubernetes", code: "UnexpectedResponse" },
    );
  const metadata = isRecord(raw.metadata) ? raw.metadata : {};
  return {
    items: raw.items as KubeObject[],
    ...(typeof metadata.continue === "string" ? { metadata: { continue: metadata.continue } } : {}),
  };
}

/** A lister for one cluster: every object of a kind, page after page, each page one policed call. */
export interface ClusterReader {
  list(
    kind: ResourceKind,
    options: { abortSignal?: AbortSignal; deadlineMs?: number },
  ): Promise<KubeObject[]>;
  /**
   * Close the reader's connections (call when the cluster is read): a sweep reads a thousand
   * clusters, and each kept-alive TLS connection holds its buffers until it times out.
   */
  close(): Promise<void>;
}

/**
 * A reader over a KubeConfig. Items come back with `apiVersion` and `kind` set (list responses
 * may omit them per item).
 * @throws CollectionError (from the call policy) when a page finally fails, including a 2xx page
 * whose body has no `items` array (`UnexpectedResponse`).
 */
export async function createClusterReader(
  kc: KubeConfig,
  callPolicy: CallPolicy,
  partition: string,
): Promise<ClusterReader> {
  const client = await loadKubernetesClient();
  const core = kc.makeApiClient(client.CoreV1Api);
  const custom = kc.makeApiClient(client.CustomObjectsApi);
  const connections: SharedDispatcher = { dispatcher: undefined };
  const page = async (
    kind: ResourceKind,
    next: string | undefined,
    abortSignal: AbortSignal,
  ): Promise<unknown> => {
    let raw: unknown;
    const options = callOptions(
      rawCapture(
        client,
        abortSignal,
        (body) => {
          raw = body;
        },
        connections,
      ),
    );
    const params = { limit: PAGE_SIZE, ...(next !== undefined ? { _continue: next } : {}) };
    if (kind.group === "" && kind.plural === "namespaces")
      await core.listNamespace(params, options);
    else if (kind.group === "" && kind.plural === "services")
      await core.listServiceForAllNamespaces(params, options);
    else if (kind.group === "") throw new TypeError(`no lister for core ${kind.plural}`);
    else
      raw = await custom.listClusterCustomObject(
        { group: kind.group, version: kind.version, plural: kind.plural, ...params },
        options,
      );
    return raw;
  };
  return {
    async close() {
      const dispatcher = connections.dispatcher;
      connections.dispatcher = undefined;
      // Queued requests finish first; a failure to close is no failure of the reading.
      await dispatcher?.close().catch(() => undefined);
    },
    async list(kind, options) {
      const apiVersion = kind.group === "" ? kind.version : `${kind.group}/${kind.version}`;
      const items: KubeObject[] = [];
      let next: string | undefined;
      do {
        const cursor = next;
        const raw = await callPolicy.call(
          { api: "kubernetes", partition },
          `list ${kind.plural}${kind.group === "" ? "" : `.${kind.group}`}`,
          (signal) => page(kind, cursor, signal),
          {
            ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
            ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
          },
        );
        const body = listPage(raw, kind);
        for (const item of body.items)
          items.push({
            apiVersion: item.apiVersion ?? apiVersion,
            kind: item.kind ?? kind.kind,
            ...item,
          });
        next =
          body.metadata?.continue !== undefined && body.metadata.continue !== ""
            ? body.metadata.continue
            : undefined;
      } while (next !== undefined);
      return items;
    },
  };
}
