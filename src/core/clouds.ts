/**
 * Endpoints, token scopes and ARM read budgets of the Azure clouds vigil supports (PLATFORM.md
 * "Sovereign clouds"): every client takes its endpoint and scope from one `CloudEndpoints`.
 */

import type { CloudEndpoints, CloudName } from "./ports.js";

/** The Entra application id of the AKS server, the same in every cloud (AKS managed Entra integration). */
export const AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";

const PUBLIC_BUDGET = { model: "token-bucket", capacity: 250, refillPerSecond: 25 } as const;
// Sovereign clouds keep the older per-hour limit (PLATFORM.md §2).
const HOURLY_BUDGET = { model: "hourly", readsPerHour: 12_000 } as const;

const CLOUDS_BY_NAME: Record<
  CloudName,
  Omit<CloudEndpoints, "armScope" | "graphScope" | "aksScope">
> = {
  AzurePublicCloud: {
    name: "AzurePublicCloud",
    armEndpoint: "https://management.azure.com",
    authorityHost: "https://login.microsoftonline.com",
    graphEndpoint: "https://graph.microsoft.com",
    blobEndpointTemplate: "https://{account}.blob.core.windows.net",
    storageScope: "https://storage.azure.com/.default",
    armReadBudget: PUBLIC_BUDGET,
  },
  AzureUSGovernment: {
    name: "AzureUSGovernment",
    armEndpoint: "https://management.usgovcloudapi.net",
    authorityHost: "https://login.microsoftonline.us",
    graphEndpoint: "https://graph.microsoft.us",
    blobEndpointTemplate: "https://{account}.blob.core.usgovcloudapi.net",
    storageScope: "https://storage.azure.com/.default",
    armReadBudget: HOURLY_BUDGET,
  },
  AzureChinaCloud: {
    name: "AzureChinaCloud",
    armEndpoint: "https://management.chinacloudapi.cn",
    authorityHost: "https://login.chinacloudapi.cn",
    graphEndpoint: "https://microsoftgraph.chinacloudapi.cn",
    blobEndpointTemplate: "https://{account}.blob.core.chinacloudapi.cn",
    storageScope: "https://storage.azure.com/.default",
    armReadBudget: HOURLY_BUDGET,
  },
};

/** Explicit endpoint overrides (config `endpoints`, or the emulator's addresses). */
export interface EndpointOverrides {
  arm?: string;
  graph?: string;
  authority?: string;
  blob?: string;
}

/** The endpoints of a cloud with overrides applied; scopes follow the (overridden) endpoints' clouds. */
export function cloudEndpoints(name: CloudName, overrides: EndpointOverrides = {}): CloudEndpoints {
  const base = CLOUDS_BY_NAME[name];
  const trim = (url: string) => url.replace(/\/+$/, "");
  return {
    ...base,
    armEndpoint: trim(overrides.arm ?? base.armEndpoint),
    // The token audience stays the cloud's, even when the endpoint is overridden (emulator, proxy).
    armScope: `${base.armEndpoint}/.default`,
    authorityHost: trim(overrides.authority ?? base.authorityHost),
    graphEndpoint: trim(overrides.graph ?? base.graphEndpoint),
    graphScope: `${base.graphEndpoint}/.default`,
    blobEndpointTemplate: trim(overrides.blob ?? base.blobEndpointTemplate),
    aksScope: `${AKS_SERVER_APP_ID}/.default`,
  };
}
