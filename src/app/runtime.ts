/**
 * What the Functions handlers and `vigil serve` share for the life of the process: the catalogue,
 * the config with its waivers, the estate's collectors, vigil's own store and the notification
 * sinks, built once (STYLE.md §1) and handed to every use case.
 */

import type { Catalogue, NotificationSink, VigilConfig } from "../core/index.js";
import type { AppStore, EstateDeps } from "./deps.js";
import type { LoadedConfig } from "./scan.js";

/** The process-wide parts every use case of the app reads. */
export interface AppRuntime {
  catalogue: Catalogue;
  /** The config and waivers in force (file and `VIGIL_*` settings merged). */
  loaded: LoadedConfig;
  /** The config the targets are planned from (never undefined: `{}` when none was given). */
  config: VigilConfig;
  estate: EstateDeps;
  store: AppStore;
  sinks: readonly NotificationSink[];
  vigilVersion: string;
  /** Wall clock, epoch ms (tests and the emulator pass their own). */
  clock: () => number;
  /**
   * The evaluation time of a run started now, epoch ms. The wall clock in Azure; an emulated estate
   * pins it to its seed's `now` so that its ages stay what the seed says.
   */
  evaluationTime: () => number;
  /** Attempts of a queue message before it goes to the poison queue (host.json maxDequeueCount). */
  maxDequeueCount: number;
}

/** host.json's `extensions.queues.maxDequeueCount`, and `vigil serve`'s. */
export const DEFAULT_MAX_DEQUEUE_COUNT = 5;
