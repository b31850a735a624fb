/** The core's public surface: model, rule engine, evaluation, waivers, config and validation. */
export * from "./arm-ids.js";
export * from "./canonical-json.js";
export * from "./catalogue.js";
export * from "./clouds.js";
export * from "./config.js";
export * from "./connect-to.js";
export * from "./environment.js";
export * from "./errors.js";
export * from "./evaluate.js";
export * from "./ledger.js";
export * from "./ports.js";
export * from "./redaction.js";
export { listAliases, resolveAlias } from "./rule/aliases.js";
export { type CondFn, compileCondition, createCompileScope } from "./rule/compiler.js";
export { type EvalContext, FALSE, TRUE, type Tri, UNKNOWN } from "./rule/context.js";
export { FUNCTIONS, functionNames, SPECIAL_FORMS } from "./rule/functions.js";
export {
  describeExpectation,
  likePattern,
  matchPattern,
  OPERATOR_NAMES,
  OPERATORS,
} from "./rule/operators.js";
export { formatPath, parsePath } from "./rule/path.js";
export {
  compareOrdered,
  formatInstant,
  looseEquals,
  parseInstant,
  preview,
} from "./rule/values.js";
export * from "./summary.js";
export * from "./transitions.js";
export * from "./types.js";
export * from "./validation.js";
export * from "./waivers.js";
