/**
 * The Teams sink: each digest becomes one Adaptive Card posted to a Teams Workflows webhook (the
 * "When a Teams webhook request is received" trigger that replaced Office 365 connectors).
 */

import type { NotificationSink } from "../core/index.js";
import { checkTimeout, type FetchFunction, parseSinkUrl, postJson } from "./http-delivery.js";
import { type Clock, SYSTEM_CLOCK, sinkName } from "./sink-options.js";
import { type BuildTeamsMessageOptions, buildTeamsMessage } from "./teams-card.js";

/** Options of {@link createTeamsSink}. */
export interface CreateTeamsSinkOptions extends BuildTeamsMessageOptions {
  /** Short name; the sink is called `teams:<name>`. */
  name: string;
  /**
   * The Workflow's webhook URL. Its query holds the `sig=` key, so only the origin ever appears
   * in errors.
   */
  url: string;
  /** Defaults to the global `fetch`. */
  fetch?: FetchFunction;
  /** Time the Workflow has to answer; default 10 000. */
  timeoutInMs?: number;
  /** Used to read an HTTP-date `Retry-After`; defaults to the system clock. */
  clock?: Clock;
}

/**
 * A sink that posts each digest to a Teams Workflows webhook as the message built by
 * {@link buildTeamsMessage}. A Workflow answers 202 Accepted before it runs, so a 2xx means the
 * Workflow took the request, not that the card reached the channel: a flow that fails later (its
 * owner left, the card was refused) is visible only in the flow's run history.
 * @throws InputError (at creation) for a bad name or URL
 * @throws RangeError (at creation) for a card option out of range or a bad `reportUrl`
 * @throws NotificationError (from `deliver`) with `retryable` as for the webhook sink
 */
export function createTeamsSink(options: CreateTeamsSinkOptions): NotificationSink {
  const name = sinkName("teams", options.name);
  const url = parseSinkUrl(name, "url", options.url);
  const timeoutInMs = checkTimeout(name, options.timeoutInMs);
  const fetchFn: FetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  const clock = options.clock ?? SYSTEM_CLOCK;
  const cardOptions: BuildTeamsMessageOptions = {};
  if (options.reportUrl !== undefined) cardOptions.reportUrl = options.reportUrl;
  if (options.maxEntries !== undefined) cardOptions.maxEntries = options.maxEntries;
  if (options.maxPayloadSizeInBytes !== undefined) {
    cardOptions.maxPayloadSizeInBytes = options.maxPayloadSizeInBytes;
  }
  // Fail at creation, not at the first delivery, when an option is out of range.
  buildTeamsMessage(
    { id: "", runId: "", trigger: "", evaluatedAt: "", transitions: [], counts: {} },
    cardOptions,
  );

  return {
    name,
    async deliver(digest, deliverOptions) {
      await postJson({
        sink: name,
        url,
        headers: {
          // Declared, because Teams is reported to count an undeclared body as UTF-16, halving
          // the size it accepts.
          "content-type": "application/json; charset=utf-8",
          "user-agent": "vigil",
        },
        body: JSON.stringify(buildTeamsMessage(digest, cardOptions)),
        fetch: fetchFn,
        timeoutInMs,
        abortSignal: deliverOptions?.abortSignal,
        nowInMs: () => clock.now(),
      });
    },
  };
}
