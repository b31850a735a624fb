/**
 * Reads vigil's own ARM templates (infra/) the way Resource Manager would, for the subset of the
 * template language they use, and turns the resources they declare into observations in vigil's
 * ARM wire shape, so the catalogue can judge what a deployment would create.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Gap, Observation } from "../../src/core/index.js";

/** A deployment template as read from disk (checked by test/fixtures/infra/arm-template.schema.json). */
export interface ArmTemplate {
  $schema: string;
  contentVersion: string;
  parameters?: Record<string, { type: string; defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[];
  outputs?: Record<string, { type: string; value: unknown }>;
}

/** One resource as written in a template. */
export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  condition?: boolean | string;
  scope?: string;
  dependsOn?: string[];
  copy?: { name: string; count: number | string };
  [element: string]: unknown;
}

/** Read a template file. */
export function readTemplate(path: string): ArmTemplate {
  return JSON.parse(readFileSync(path, "utf8")) as ArmTemplate;
}

// ------------------------------------------------------------------------------------------------
// Expressions: `[fn(args).prop[index]]`, string literals in single quotes ('' escapes a quote),
// integers; a string starting with `[[` is a literal starting with `[` (ARM template syntax).

/** A parsed expression. */
export type Expr =
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "call"; name: string; args: Expr[] }
  | { kind: "property"; target: Expr; name: string }
  | { kind: "index"; target: Expr; index: Expr };

/** Whether a template string is an expression rather than a literal. */
export function isExpression(text: string): boolean {
  return text.startsWith("[") && !text.startsWith("[[") && text.endsWith("]");
}

/**
 * Parse the inside of a template expression.
 * @throws SyntaxError naming the position of the first character it cannot read
 */
export function parseExpression(source: string): Expr {
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${at} in [${source}]`);
  };
  const space = () => {
    while (at < source.length && /\s/.test(source.charAt(at))) at += 1;
  };
  const primary = (): Expr => {
    space();
    const c = source.charAt(at);
    if (c === "'") {
      let value = "";
      at += 1;
      for (;;) {
        if (at >= source.length) fail("unterminated string");
        const ch = source.charAt(at);
        if (ch === "'") {
          if (source.charAt(at + 1) === "'") {
            value += "'";
            at += 2;
            continue;
          }
          at += 1;
          return { kind: "string", value };
        }
        value += ch;
        at += 1;
      }
    }
    const number = /^-?\d+/.exec(source.slice(at));
    if (number !== null) {
      at += number[0].length;
      return { kind: "number", value: Number(number[0]) };
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(at));
    if (name === null) return fail("expected a function, string or number");
    at += (name as RegExpExecArray)[0].length;
    space();
    if (source.charAt(at) !== "(") fail("expected '('");
    at += 1;
    const args: Expr[] = [];
    space();
    if (source.charAt(at) === ")") at += 1;
    else
      for (;;) {
        args.push(expression());
        space();
        const sep = source.charAt(at);
        at += 1;
        if (sep === ")") break;
        if (sep !== ",") fail("expected ',' or ')'");
      }
    return { kind: "call", name: (name as RegExpExecArray)[0], args };
  };
  const expression = (): Expr => {
    let node = primary();
    for (;;) {
      space();
      const c = source.charAt(at);
      if (c === ".") {
        at += 1;
        const prop = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(source.slice(at));
        if (prop === null) return fail("expected a property name");
        at += (prop as RegExpExecArray)[0].length;
        node = { kind: "property", target: node, name: (prop as RegExpExecArray)[0] };
      } else if (c === "[") {
        at += 1;
        const index = expression();
        space();
        if (source.charAt(at) !== "]") fail("expected ']'");
        at += 1;
        node = { kind: "index", target: node, index };
      } else return node;
    }
  };
  const result = expression();
  space();
  if (at !== source.length) fail("unexpected text");
  return result;
}

/** Every call in an expression tree, outermost first. */
export function callsIn(expr: Expr): Extract<Expr, { kind: "call" }>[] {
  switch (expr.kind) {
    case "call":
      return [expr, ...expr.args.flatMap(callsIn)];
    case "property":
      return callsIn(expr.target);
    case "index":
      return [...callsIn(expr.target), ...callsIn(expr.index)];
    default:
      return [];
  }
}

/** Every expression string in a JSON value, object keys included, with its JSON pointer. */
export function expressionsIn(
  value: unknown,
  pointer = "",
): { pointer: string; expr: Expr; text: string }[] {
  const out: { pointer: string; expr: Expr; text: string }[] = [];
  const visit = (v: unknown, p: string) => {
    if (typeof v === "string") {
      if (isExpression(v)) out.push({ pointer: p, text: v, expr: parseExpression(v.slice(1, -1)) });
    } else if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) visit(item, `${p}/${i}`);
    } else if (v !== null && typeof v === "object")
      for (const [key, item] of Object.entries(v)) {
        const escaped = key.replaceAll("~", "~0").replaceAll("/", "~1");
        if (isExpression(key))
          out.push({
            pointer: `${p}/${escaped}`,
            text: key,
            expr: parseExpression(key.slice(1, -1)),
          });
        visit(item, `${p}/${escaped}`);
      }
  };
  visit(value, pointer);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Evaluation with placeholders for what only a real deployment knows.

/** A value only Resource Manager knows at deployment time (a `reference()` and what is read from it). */
export class Unresolved {
  constructor(readonly description: string) {}
  toString(): string {
    return `<${this.description}>`;
  }
}

/** Where the evaluated deployment pretends to run. */
export interface DeploymentContext {
  subscriptionId: string;
  tenantId: string;
  resourceGroup: string;
  location: string;
  managementGroup: string;
}

/** The placeholder deployment the tests evaluate templates in. */
export const TEST_DEPLOYMENT: DeploymentContext = {
  subscriptionId: "00000000-0000-0000-0000-00000000a001",
  tenantId: "00000000-0000-0000-0000-00000000e001",
  resourceGroup: "rg-vigil",
  location: "uksouth",
  managementGroup: "mg-estate",
};

type Scope = "resourceGroup" | "subscription" | "managementGroup" | "tenant";

function scopeOf(template: ArmTemplate): Scope {
  if (template.$schema.includes("/subscriptionDeploymentTemplate")) return "subscription";
  if (template.$schema.includes("/managementGroupDeploymentTemplate")) return "managementGroup";
  if (template.$schema.includes("/tenantDeploymentTemplate")) return "tenant";
  return "resourceGroup";
}

/** `Ns.Provider/a/b` with names [x, y] → `Ns.Provider/a/x/b/y`. */
function typedPath(type: string, names: readonly string[]): string {
  const [namespace, ...types] = type.split("/");
  if (types.length !== names.length)
    throw new RangeError(`${type} needs ${types.length} name segment(s), got ${names.join("/")}`);
  return [namespace, ...types.flatMap((t, i) => [t, names[i]])].join("/");
}

function stableHash(parts: readonly unknown[]): Buffer {
  return createHash("sha256").update(JSON.stringify(parts)).digest();
}

/** An evaluator of one template's expressions. */
export class TemplateEvaluator {
  readonly scope: Scope;
  private readonly parameterValues: Record<string, unknown>;
  private readonly variableCache = new Map<string, unknown>();
  private readonly evaluating = new Set<string>();

  constructor(
    readonly template: ArmTemplate,
    parameterValues: Record<string, unknown> = {},
    readonly context: DeploymentContext = TEST_DEPLOYMENT,
  ) {
    this.scope = scopeOf(template);
    this.parameterValues = { ...parameterValues };
  }

  /** The deployment scope's own id prefix. */
  scopeId(): string {
    const c = this.context;
    switch (this.scope) {
      case "resourceGroup":
        return `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}`;
      case "subscription":
        return `/subscriptions/${c.subscriptionId}`;
      case "managementGroup":
        return `/providers/Microsoft.Management/managementGroups/${c.managementGroup}`;
      default:
        return "";
    }
  }

  /** A parameter's value: given, else its default (evaluated). */
  parameter(name: string): unknown {
    const definition = this.template.parameters?.[name];
    if (definition === undefined) throw new ReferenceError(`parameter '${name}' is not declared`);
    if (name in this.parameterValues) return this.parameterValues[name];
    if (!("defaultValue" in definition))
      throw new ReferenceError(`parameter '${name}' has no default and no value was given`);
    const value = this.value(definition.defaultValue);
    this.parameterValues[name] = value;
    return value;
  }

  /** A variable's value, evaluated once. */
  variable(name: string): unknown {
    if (this.variableCache.has(name)) return this.variableCache.get(name);
    const variables = this.template.variables ?? {};
    if (!(name in variables)) throw new ReferenceError(`variable '${name}' is not declared`);
    if (this.evaluating.has(name)) throw new RangeError(`variable '${name}' refers to itself`);
    this.evaluating.add(name);
    const value = this.value(variables[name]);
    this.evaluating.delete(name);
    this.variableCache.set(name, value);
    return value;
  }

  /** Evaluate every expression in a JSON value (object keys too). */
  value(v: unknown): unknown {
    if (typeof v === "string") {
      if (v.startsWith("[[")) return v.slice(1);
      return isExpression(v) ? this.evaluate(parseExpression(v.slice(1, -1))) : v;
    }
    if (Array.isArray(v)) return v.map((item) => this.value(item));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) out[String(this.value(key))] = this.value(item);
      return out;
    }
    return v;
  }

  /** A resource id in this deployment's scope (what `resourceId()` returns here). */
  resourceId(type: string, names: readonly string[]): string {
    if (this.scope === "tenant") return `/providers/${typedPath(type, names)}`;
    return `${this.scopeId()}/providers/${typedPath(type, names)}`;
  }

  /** The id a template resource will have (extension resources hang under their `scope`). */
  idOf(resource: ArmResource): string {
    const name = String(this.value(resource.name));
    if (resource.scope !== undefined) {
      const scope = String(this.value(resource.scope));
      const base = scope.startsWith("/") ? scope : `${this.scopeId()}/providers/${scope}`;
      return `${base}/providers/${resource.type}/${name}`;
    }
    return this.resourceId(resource.type, name.split("/"));
  }

  /**
   * Evaluate one parsed expression.
   * @throws Error for a function this evaluator does not implement, so a template that starts
   *   using one fails loudly instead of being misread
   */
  evaluate(expr: Expr): unknown {
    switch (expr.kind) {
      case "string":
      case "number":
        return expr.value;
      case "property": {
        const target = this.evaluate(expr.target);
        if (target instanceof Unresolved)
          return new Unresolved(`${target.description}.${expr.name}`);
        if (target === null || typeof target !== "object")
          throw new TypeError(`cannot read '${expr.name}' of ${JSON.stringify(target)}`);
        return (target as Record<string, unknown>)[expr.name] ?? null;
      }
      case "index": {
        const target = this.evaluate(expr.target);
        const index = this.evaluate(expr.index);
        if (target instanceof Unresolved) return new Unresolved(`${target.description}[${index}]`);
        return (target as Record<string, unknown>)[String(index)] ?? null;
      }
      case "call":
        return this.call(expr);
    }
  }

  private call(expr: Extract<Expr, { kind: "call" }>): unknown {
    const name = expr.name.toLowerCase();
    // `if` evaluates only the branch it takes, as Resource Manager does.
    if (name === "if") {
      const [condition, yes, no] = expr.args as [Expr, Expr, Expr];
      return this.evaluate(condition) === true ? this.evaluate(yes) : this.evaluate(no);
    }
    const args = expr.args.map((a) => this.evaluate(a));
    const text = (v: unknown): string =>
      v instanceof Unresolved ? v.toString() : typeof v === "string" ? v : String(v);
    const c = this.context;
    switch (name) {
      case "parameters":
        return this.parameter(String(args[0]));
      case "variables":
        return this.variable(String(args[0]));
      case "concat":
        return args.every(Array.isArray) ? args.flat() : args.map(text).join("");
      case "format":
        return text(args[0]).replace(/\{(\d+)\}/g, (_, i: string) => text(args[Number(i) + 1]));
      case "tolower":
        return text(args[0]).toLowerCase();
      case "toupper":
        return text(args[0]).toUpperCase();
      case "take":
        return Array.isArray(args[0])
          ? args[0].slice(0, Number(args[1]))
          : text(args[0]).slice(0, Number(args[1]));
      case "replace":
        return text(args[0]).split(text(args[1])).join(text(args[2]));
      case "length":
        return Array.isArray(args[0])
          ? args[0].length
          : typeof args[0] === "string"
            ? args[0].length
            : Object.keys(args[0] as object).length;
      case "string":
        if (typeof args[0] === "boolean") return args[0] ? "True" : "False";
        return typeof args[0] === "object" && !(args[0] instanceof Unresolved)
          ? JSON.stringify(args[0])
          : text(args[0]);
      case "empty":
        return (
          args[0] === null ||
          args[0] === "" ||
          (Array.isArray(args[0]) && args[0].length === 0) ||
          (typeof args[0] === "object" &&
            !(args[0] instanceof Unresolved) &&
            Object.keys(args[0] as object).length === 0)
        );
      case "equals":
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case "not":
        return args[0] !== true;
      case "and":
        return args.every((a) => a === true);
      case "or":
        return args.some((a) => a === true);
      case "true":
        return true;
      case "false":
        return false;
      case "null":
        return null;
      case "contains":
        return Array.isArray(args[0])
          ? args[0].includes(args[1])
          : typeof args[0] === "string"
            ? args[0].includes(text(args[1]))
            : Object.hasOwn(args[0] as object, text(args[1]));
      case "createarray":
        return args;
      case "createobject": {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < args.length; i += 2) out[text(args[i])] = args[i + 1];
        return out;
      }
      case "union":
        return args.every(Array.isArray)
          ? [...new Set(args.flat())]
          : Object.assign({}, ...(args as object[]));
      case "uniquestring":
        // 13 lowercase characters, like Resource Manager's; deterministic in its arguments.
        return stableHash(args)
          .toString("hex")
          .replace(/[^a-z]/g, (d) => String.fromCharCode(97 + Number.parseInt(d, 16)))
          .slice(0, 13);
      case "utcnow":
        // Allowed only in a parameter's default; a fixed instant keeps the evaluation repeatable.
        return "20261123T060000Z";
      case "guid": {
        const h = stableHash(args).toString("hex");
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
      }
      case "resourceid": {
        const strings = args.map(text);
        const typeAt = strings.findIndex((s) => /^[A-Za-z0-9]+\.[A-Za-z0-9.]+\//.test(s));
        return this.resourceId(strings[typeAt] as string, strings.slice(typeAt + 1));
      }
      case "subscriptionresourceid":
        return `/subscriptions/${c.subscriptionId}/providers/${typedPath(text(args[0]), args.slice(1).map(text))}`;
      case "tenantresourceid":
        return `/providers/${typedPath(text(args[0]), args.slice(1).map(text))}`;
      case "extensionresourceid":
        return `${text(args[0])}/providers/${typedPath(text(args[1]), args.slice(2).map(text))}`;
      case "subscription":
        return {
          id: `/subscriptions/${c.subscriptionId}`,
          subscriptionId: c.subscriptionId,
          tenantId: c.tenantId,
        };
      case "resourcegroup":
        return {
          id: `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}`,
          name: c.resourceGroup,
          location: c.location,
        };
      case "managementgroup":
        return {
          id: `/providers/Microsoft.Management/managementGroups/${c.managementGroup}`,
          name: c.managementGroup,
        };
      case "environment":
        // The public cloud's values (the documented output of environment() there).
        return {
          name: "AzureCloud",
          suffixes: { keyvaultDns: ".vault.azure.net", storage: "core.windows.net" },
        };
      case "reference":
        return new Unresolved(`reference(${text(args[0])})`);
      default:
        throw new Error(`the test evaluator does not implement ${expr.name}()`);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Observations.

/** A template resource with its deployed id and every expression evaluated. */
export interface EvaluatedResource {
  id: string;
  type: string;
  name: string;
  deployed: boolean;
  body: Record<string, unknown>;
}

/** Evaluate every resource of a template (copy loops are not expanded). */
export function evaluateResources(evaluator: TemplateEvaluator): EvaluatedResource[] {
  return evaluator.template.resources
    .filter((r) => r.copy === undefined)
    .map((resource) => {
      const body = evaluator.value(resource) as Record<string, unknown>;
      return {
        id: evaluator.idOf(resource),
        type: resource.type,
        name: String(body.name),
        deployed: body.condition === undefined || body.condition === true,
        body,
      };
    });
}

/** What happened after the template ran, by the documented post-deployment steps. */
export interface TemplateObservationsOptions {
  /** Parameter values instead of the defaults. */
  parameters?: Record<string, unknown>;
  /** When the observations say they were made. */
  observedAt?: string;
  /**
   * The text of infra/scripts/retention-policies.sh: a deployment script running exactly it sets
   * the containers' policies. Without it, only declared `immutabilityPolicies` resources count.
   */
  retentionScript?: string;
}

const STORAGE = "Microsoft.Storage/storageAccounts";
const BLOB_SERVICE = `${STORAGE}/blobServices`;
const CONTAINER = `${BLOB_SERVICE}/containers`;
const POLICY = `${CONTAINER}/immutabilityPolicies`;
const DEPLOYMENT_SCRIPT = "Microsoft.Resources/deploymentScripts";

/** A container's retention policy as the template leaves it. */
interface DeclaredPolicy {
  immutabilityPeriodSinceCreationInDays: number;
  state: "Locked" | "Unlocked";
}

/**
 * The retention policies main.json's deployment script leaves behind (infra/scripts/
 * retention-policies.sh, whose behaviour test/unit/infra/retention-script.test.ts checks against a
 * stand-in `az`): for each `container=days` pair of its `RETENTION` variable, a policy of those
 * days in the state `POLICY_STATE` names. Only a script that runs that exact script counts.
 */
function scriptedPolicies(
  resources: readonly EvaluatedResource[],
  script: string,
): Map<string, DeclaredPolicy> {
  const policies = new Map<string, DeclaredPolicy>();
  for (const r of resources.filter((x) => x.type === DEPLOYMENT_SCRIPT)) {
    const properties = (r.body.properties ?? {}) as Record<string, unknown>;
    if (properties.scriptContent !== script) continue;
    const variables = new Map(
      ((properties.environmentVariables ?? []) as { name: string; value: unknown }[]).map((v) => [
        v.name,
        String(v.value),
      ]),
    );
    const state = variables.get("POLICY_STATE") === "Unlocked" ? "Unlocked" : "Locked";
    const account = variables.get("ACCOUNT");
    for (const pair of (variables.get("RETENTION") ?? "").split(/\s+/).filter(Boolean)) {
      const [container, days] = pair.split("=");
      policies.set(`${account}/${container}`.toLowerCase(), {
        immutabilityPeriodSinceCreationInDays: Number(days),
        state,
      });
    }
  }
  return policies;
}

/**
 * The observations vigil's ARM collector would make of what the template deploys: each storage
 * account with `joined.blobService`, each blob container with its immutability policy and
 * `joined.account`, and every other top-level resource as declared. What only a live account can
 * tell (a container's newest blob) is a gap, so a control that needs it reports `error`.
 */
export function templateObservations(
  template: ArmTemplate,
  options: TemplateObservationsOptions = {},
): Observation[] {
  const evaluator = new TemplateEvaluator(template, options.parameters);
  const resources = evaluateResources(evaluator).filter((r) => r.deployed);
  const byId = new Map(resources.map((r) => [r.id.toLowerCase(), r]));
  const child = (parentId: string, type: string, name: string) =>
    byId.get(`${parentId}/${type.split("/").at(-1)}/${name}`.toLowerCase());
  const source = {
    api: "arm-template",
    apiVersion: "",
    observedAt: options.observedAt ?? "2026-11-23T06:00:00Z",
  };
  const scope = evaluator.context.subscriptionId;
  const observations: Observation[] = [];
  for (const r of resources) {
    if (r.body.scope !== undefined || r.type.split("/").length > 2) continue;
    const { name, type, body } = r;
    const document: Record<string, unknown> = { id: r.id, name, type };
    for (const key of ["kind", "location", "sku", "tags", "identity", "properties"])
      if (body[key] !== undefined) document[key] = body[key];
    if (type === STORAGE) {
      const blobService = child(r.id, BLOB_SERVICE, "default");
      if (blobService !== undefined)
        document.joined = {
          blobService: {
            id: blobService.id,
            name: "default",
            type: BLOB_SERVICE,
            properties: blobService.body.properties ?? {},
          },
        };
    }
    observations.push({
      id: r.id,
      type,
      scope,
      document,
      source: { ...source, apiVersion: String(body.apiVersion) },
    });
  }
  const scripts =
    options.retentionScript === undefined
      ? new Map<string, DeclaredPolicy>()
      : scriptedPolicies(resources, options.retentionScript);
  for (const r of resources.filter((x) => x.type === CONTAINER)) {
    const accountId = r.id.split("/blobServices/")[0] as string;
    const account = byId.get(accountId.toLowerCase());
    const declared = child(r.id, POLICY, "default");
    const scripted = scripts.get(`${account?.name}/${r.name.split("/").at(-1)}`.toLowerCase());
    const accountProperties = (account?.body.properties ?? {}) as Record<string, unknown>;
    const properties: Record<string, unknown> = {
      ...((r.body.properties as object | undefined) ?? {}),
      hasImmutabilityPolicy: declared !== undefined || scripted !== undefined,
    };
    // The script runs after the template's own resources, so what it sets is what stays. A
    // declared policy alone is created Unlocked: ARM cannot create one Locked.
    if (scripted !== undefined) properties.immutabilityPolicy = { properties: { ...scripted } };
    else if (declared !== undefined)
      properties.immutabilityPolicy = {
        properties: { ...(declared.body.properties as object), state: "Unlocked" },
      };
    const gaps: Gap[] = [
      {
        path: "joined.newestBlob",
        code: "NotInTemplate",
        message: "a container's newest blob exists only once the deployment runs",
      },
    ];
    observations.push({
      id: r.id,
      type: CONTAINER,
      scope,
      document: {
        id: r.id,
        name: r.name.split("/").at(-1),
        type: CONTAINER,
        properties,
        joined: {
          account: {
            id: accountId,
            name: account?.name,
            tags: account?.body.tags ?? {},
            properties: {
              immutableStorageWithVersioning: accountProperties.immutableStorageWithVersioning,
            },
          },
        },
      },
      source: { ...source, apiVersion: String(r.body.apiVersion) },
      gaps,
    });
  }
  return observations;
}
