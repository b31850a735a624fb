/**
 * Reading vigil's settings from environment variables (the Function App's app settings). Every
 * top-level config key has a `VIGIL_<UPPER_SNAKE>` variable; the result is checked by the same
 * config schema as the file, so a bad value is reported by variable name.
 */

import { InputError } from "./errors.js";
import type { VigilConfig } from "./types.js";

/** How one variable's text becomes a config value. */
type Parse = (text: string, name: string) => unknown;

const json: Parse = (text, name) => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`expected JSON: ${(error as Error).message}`, {
      file: `environment variable ${name}`,
      pointer: "",
      code: "InvalidSetting",
    });
  }
};
const list: Parse = (text, name) =>
  /^\s*\[/.test(text)
    ? json(text, name)
    : text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
const bool: Parse = (text, name) => {
  const lower = text.trim().toLowerCase();
  if (lower === "true" || lower === "1") return true;
  if (lower === "false" || lower === "0") return false;
  throw new InputError(`expected true or false, found '${text}'`, {
    file: `environment variable ${name}`,
    pointer: "",
    code: "InvalidSetting",
  });
};
const int: Parse = (text, name) => {
  if (!/^\s*-?\d+\s*$/.test(text))
    throw new InputError(`expected an integer, found '${text}'`, {
      file: `environment variable ${name}`,
      pointer: "",
      code: "InvalidSetting",
    });
  return Number(text);
};
const str: Parse = (text) => text.trim();
/** `key=value,key=value`, or a JSON object. */
const pairs: Parse = (text, name) => {
  if (/^\s*\{/.test(text)) return json(text, name);
  const out: Record<string, string> = {};
  for (const item of text.split(",")) {
    if (item.trim() === "") continue;
    const at = item.indexOf("=");
    if (at <= 0)
      throw new InputError(`expected key=value pairs separated by commas, found '${item}'`, {
        file: `environment variable ${name}`,
        pointer: "",
        code: "InvalidSetting",
      });
    out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return out;
};

/** The variables, the config key each sets, and how its text is read. */
export const ENVIRONMENT_SETTINGS: readonly { variable: string; key: string; parse: Parse }[] = [
  { variable: "VIGIL_CLOUD", key: "cloud", parse: str },
  { variable: "VIGIL_TENANT_ID", key: "tenantId", parse: str },
  {
    variable: "VIGIL_SUBSCRIPTIONS",
    key: "subscriptions",
    parse: (text, name) => (text.trim().toLowerCase() === "all" ? "all" : list(text, name)),
  },
  { variable: "VIGIL_MANAGEMENT_GROUP", key: "managementGroup", parse: str },
  { variable: "VIGIL_RESOURCE_GROUPS", key: "resourceGroups", parse: list },
  { variable: "VIGIL_TAGS", key: "tags", parse: pairs },
  { variable: "VIGIL_RESOURCE_GRAPH", key: "resourceGraph", parse: bool },
  { variable: "VIGIL_ACTIVITY_LOG_DAYS", key: "activityLogDays", parse: int },
  {
    variable: "VIGIL_DRILL_RECORDS",
    key: "drillRecords",
    // `account/container[/prefix]`, or JSON.
    parse: (text, name) => {
      if (/^\s*\{/.test(text)) return json(text, name);
      const [account = "", container = "", ...prefix] = text.trim().split("/");
      return {
        account,
        container,
        ...(prefix.length > 0 ? { prefix: `${prefix.join("/")}` } : {}),
      };
    },
  },
  { variable: "VIGIL_CLUSTERS", key: "clusters", parse: json },
  { variable: "VIGIL_TRAEFIK", key: "traefik", parse: json },
  { variable: "VIGIL_TLS", key: "tls", parse: json },
  { variable: "VIGIL_ENDPOINTS", key: "endpoints", parse: json },
  { variable: "VIGIL_PARAMETERS", key: "parameters", parse: json },
  { variable: "VIGIL_CONTROLS", key: "controls", parse: json },
  { variable: "VIGIL_ENVIRONMENTS", key: "environments", parse: json },
  { variable: "VIGIL_WAIVERS", key: "waivers", parse: json },
];

/** Single-value variables for nested settings that operators set most often. */
const NESTED_SETTINGS: readonly { variable: string; path: [string, string]; parse: Parse }[] = [
  { variable: "VIGIL_ARM_ENDPOINT", path: ["endpoints", "arm"], parse: str },
  { variable: "VIGIL_GRAPH_ENDPOINT", path: ["endpoints", "graph"], parse: str },
  { variable: "VIGIL_AUTHORITY_HOST", path: ["endpoints", "authority"], parse: str },
  { variable: "VIGIL_BLOB_ENDPOINT", path: ["endpoints", "blob"], parse: str },
  { variable: "VIGIL_AKS_DISCOVERY", path: ["clusters", "aksDiscovery"], parse: bool },
  { variable: "VIGIL_TLS_CA_FILE", path: ["tls", "caFile"], parse: str },
  // `host:port=host:port`, comma-separated, or a JSON object.
  { variable: "VIGIL_TLS_CONNECT_TO", path: ["tls", "connectTo"], parse: pairs },
  {
    variable: "VIGIL_TLS_TARGETS",
    path: ["tls", "targets"],
    // `host:port[/sni][@set]`, comma-separated, or JSON.
    parse: (text, name) => {
      if (/^\s*\[/.test(text)) return json(text, name);
      return (list(text, name) as string[]).map((item) => {
        const match = /^([^:/@\s]+):(\d+)(?:\/([^@\s]+))?(?:@(\S+))?$/.exec(item);
        if (match === null)
          throw new InputError(`expected host:port[/sni][@set], found '${item}'`, {
            file: `environment variable ${name}`,
            pointer: "",
            code: "InvalidSetting",
          });
        return {
          host: match[1],
          port: Number(match[2]),
          ...(match[3] !== undefined ? { sni: match[3] } : {}),
          ...(match[4] !== undefined ? { set: match[4] } : {}),
        };
      });
    },
  },
];

/** The variables that were set, by config key, for error messages. */
export interface EnvironmentSettings {
  config: Partial<VigilConfig>;
  /** Config JSON pointer (`/tenantId`, `/endpoints/arm`) → the variable that set it. */
  sources: Map<string, string>;
}

/**
 * The config that the environment variables describe. Values are not schema-checked here:
 * merge them over the file's config and check the result (`mergeConfig`).
 * @throws InputError naming the variable when its text cannot be read at all.
 */
export function configFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): EnvironmentSettings {
  const config: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const { variable, key, parse } of ENVIRONMENT_SETTINGS) {
    const text = env[variable];
    if (text === undefined || text.trim() === "") continue;
    config[key] = parse(text, variable);
    sources.set(`/${key}`, variable);
  }
  for (const { variable, path, parse } of NESTED_SETTINGS) {
    const text = env[variable];
    if (text === undefined || text.trim() === "") continue;
    const [outer, inner] = path;
    if (config[outer] === undefined) config[outer] = {};
    const parent = config[outer] as Record<string, unknown>;
    parent[inner] = parse(text, variable);
    sources.set(`/${outer}/${inner}`, variable);
  }
  return { config: config as Partial<VigilConfig>, sources };
}

/**
 * The file's config with the environment's settings laid over it: a top-level key set in the
 * environment replaces the file's; the nested variables (`VIGIL_ARM_ENDPOINT`) replace one field.
 */
export function mergeConfig(
  file: VigilConfig | undefined,
  environment: Partial<VigilConfig>,
): VigilConfig {
  const out: Record<string, unknown> = { ...(file ?? {}) };
  for (const [key, value] of Object.entries(environment)) {
    const existing = out[key];
    const nestedOnly = ["endpoints", "clusters", "tls"].includes(key);
    out[key] =
      nestedOnly &&
      existing !== null &&
      typeof existing === "object" &&
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value)
        ? { ...(existing as object), ...(value as object) }
        : value;
  }
  return out as VigilConfig;
}
