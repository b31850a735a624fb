/**
 * vigil's config: parameter overrides globally, per control and per environment (matched by
 * scope or tags), and disabled controls. Checked against the catalogue so that no override
 * names a control or parameter that does not exist.
 */
import { type Catalogue, type CompiledControl, checkParameterValue } from "./catalogue.js";
import { parseConnectTo } from "./connect-to.js";
import { InputError, InputErrors, joinPointer } from "./errors.js";
import { likePattern } from "./rule/operators.js";
import type { EnvironmentConfig, Observation, VigilConfig } from "./types.js";

/**
 * Check a (schema-valid) config against the catalogue: every control id resolves, every
 * parameter is declared by the controls it targets and has the declared type; and every
 * `tls.connectTo` key and value is a `host:port`.
 * @throws InputErrors naming the file and pointer of each problem.
 */
export function checkConfig(config: VigilConfig, catalogue: Catalogue, file: string): void {
  const problems: InputError[] = [];
  const checkParams = (
    params: Record<string, unknown> | undefined,
    targets: readonly CompiledControl[],
    pointer: string,
    single = false,
  ) => {
    for (const [name, value] of Object.entries(params ?? {})) {
      const declaring = targets.filter((c) => Object.hasOwn(c.control.parameters, name));
      if (declaring.length === 0) {
        problems.push(
          new InputError(
            `no ${single ? `parameter '${name}' in control '${targets[0]?.control.id}'` : `control declares parameter '${name}'`}`,
            { file, pointer: joinPointer(pointer, name), code: "UnknownParameter" },
          ),
        );
        continue;
      }
      for (const c of declaring) {
        const problem = checkParameterValue(
          c.control.parameters[name] as NonNullable<
            CompiledControl["control"]["parameters"][string]
          >,
          value,
        );
        if (problem !== undefined) {
          problems.push(
            new InputError(`parameter '${name}' of control '${c.control.id}': ${problem}`, {
              file,
              pointer: joinPointer(pointer, name),
              code: "InvalidParameter",
            }),
          );
          break;
        }
      }
    }
  };
  const control = (id: string, pointer: string): CompiledControl | undefined => {
    const found = catalogue.byId.get(id.toLowerCase());
    if (found === undefined)
      problems.push(
        new InputError(`unknown control id '${id}'`, { file, pointer, code: "UnknownControl" }),
      );
    return found;
  };
  checkParams(config.parameters, catalogue.controls, "/parameters");
  for (const [id, entry] of Object.entries(config.controls ?? {})) {
    const found = control(id, joinPointer("/controls", id));
    if (found !== undefined)
      checkParams(entry.parameters, [found], joinPointer("/controls", id, "parameters"), true);
  }
  (config.environments ?? []).forEach((env, i) => {
    checkParams(env.parameters, catalogue.controls, joinPointer("/environments", i, "parameters"));
    for (const [id, params] of Object.entries(env.controls ?? {})) {
      const found = control(id, joinPointer("/environments", i, "controls", id));
      if (found !== undefined)
        checkParams(params, [found], joinPointer("/environments", i, "controls", id), true);
    }
  });
  (config.waivers ?? []).forEach((waiver, i) => {
    control(waiver.controlId, joinPointer("/waivers", i, "controlId"));
  });
  if (config.tls?.connectTo !== undefined) {
    try {
      parseConnectTo(config.tls.connectTo, file);
    } catch (error) {
      if (!(error instanceof InputErrors)) throw error;
      problems.push(...error.errors);
    }
  }
  if (problems.length > 0) throw new InputErrors(problems);
}

/** The tags (ARM) or labels (Kubernetes) of an observation's document, keys lower-cased. */
export function observationTags(observation: Observation): Record<string, string> {
  const doc = observation.document as
    | { tags?: unknown; metadata?: { labels?: unknown } }
    | undefined;
  const raw = doc?.tags ?? doc?.metadata?.labels;
  const out: Record<string, string> = {};
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out[k.toLowerCase()] = v;
  }
  return out;
}

/** The first environment whose `match` holds for the observation (all given criteria must hold). */
export function environmentFor(
  config: VigilConfig | undefined,
  observation: Observation,
): EnvironmentConfig | undefined {
  const environments = config?.environments;
  if (environments === undefined || environments.length === 0) return undefined;
  let tags: Record<string, string> | undefined;
  for (const env of environments) {
    const { scopes, tags: wanted } = env.match;
    if (
      scopes !== undefined &&
      !scopes.some((s) => observation.scope !== undefined && likePattern(s).test(observation.scope))
    )
      continue;
    if (wanted !== undefined) {
      tags ??= observationTags(observation);
      const have = tags;
      if (
        !Object.entries(wanted).every(
          ([k, v]) => have[k.toLowerCase()]?.toLowerCase() === v.toLowerCase(),
        )
      )
        continue;
    }
    return env;
  }
  return undefined;
}

/**
 * Effective parameters of a control: defaults, then the config's global parameters, then the
 * control's own entry, then the environment's parameters, then the environment's entry for the
 * control (later wins). Only parameters the control declares are taken.
 */
export function effectiveParameters(
  compiled: CompiledControl,
  config: VigilConfig | undefined,
  env: EnvironmentConfig | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...compiled.defaults };
  if (config === undefined) return out;
  const id = compiled.control.id;
  const layers = [
    config.parameters,
    config.controls?.[id]?.parameters,
    env?.parameters,
    env?.controls?.[id],
  ];
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [name, value] of Object.entries(layer))
      if (Object.hasOwn(out, name)) out[name] = value;
  }
  return out;
}

/** False when the config disables the control. */
export function isControlEnabled(
  compiled: CompiledControl,
  config: VigilConfig | undefined,
): boolean {
  return config?.controls?.[compiled.control.id]?.enabled !== false;
}
