/**
 * The Functions app's entry point (package.json `main`): app-wide setup, then every function.
 * Each module registers itself with `app.*` when imported.
 */

import func from "@azure/functions";

func.app.setup({ enableHttpStream: false });

export * from "./cluster-changed.js";
export * from "./evidence.js";
export * from "./findings.js";
export * from "./gate.js";
export * from "./health.js";
export * from "./notify.js";
export * from "./resource-changed.js";
export * from "./scan-target.js";
export * from "./scan-target-poison.js";
export * from "./sweep.js";

import { clusterChangedFunction } from "./cluster-changed.js";
import {
  evidencePackFunction,
  evidenceReportFunction,
  evidenceVerifyFunction,
} from "./evidence.js";
import { findingsFunction } from "./findings.js";
import { gateFunction } from "./gate.js";
import { healthFunction } from "./health.js";
import { notifyFunction } from "./notify.js";
import { resourceChangedFunction } from "./resource-changed.js";
import { scanTargetFunction } from "./scan-target.js";
import { scanTargetPoisonFunction } from "./scan-target-poison.js";
import { sweepFunction } from "./sweep.js";

/** Every HTTP function, for `vigil serve`'s router and the auth-level test. */
export const HTTP_FUNCTIONS = [
  gateFunction,
  findingsFunction,
  evidenceReportFunction,
  evidencePackFunction,
  evidenceVerifyFunction,
  healthFunction,
] as const;

/** The other triggers, by kind. */
export const QUEUE_FUNCTIONS = [
  scanTargetFunction,
  scanTargetPoisonFunction,
  notifyFunction,
] as const;
export { clusterChangedFunction, resourceChangedFunction, sweepFunction };
