/**
 * A Functions worker for the resilience tests, run as its own process so that it can be killed:
 * the `scan-target` and `scan-target-poison` handlers behind a queue loop that behaves as the
 * Functions host's queue trigger does. A received message stays hidden for the lock time; a
 * handler that throws makes it visible again, or moves it to `-poison` on its last delivery; and a
 * message delivered more often than `maxDequeueCount` (its workers died holding it) goes to
 * `-poison` without running the handler again.
 *
 * Environment: VIGIL_STORAGE_CONNECTION_STRING, VIGIL_MAX_DEQUEUE_COUNT, VIGIL_TEST_ESTATE (the
 * estate file), VIGIL_TEST_LOCK_SECONDS, VIGIL_TEST_CONCURRENCY (messages taken at once). Prints `ready` once it consumes, and `start <label>` /
 * `done <label>` around each handler run.
 */
import func from "@azure/functions";
import { setFunctionsHost } from "../../../functions/host.js";
import { scanTargetHandler } from "../../../functions/scan-target.js";
import { scanTargetPoisonHandler } from "../../../functions/scan-target-poison.js";
import { createAuthenticator } from "../../../src/app/index.js";
import type { MessageQueue } from "../../../src/store/index.js";
import { openRuntime, readEstate } from "./estate.js";

const { InvocationContext } = func;
const env = process.env;
const lockSeconds = Number(env.VIGIL_TEST_LOCK_SECONDS ?? "3");
const concurrency = Number(env.VIGIL_TEST_CONCURRENCY ?? "4");
const rt = await openRuntime(
  readEstate(env.VIGIL_TEST_ESTATE as string),
  env.VIGIL_STORAGE_CONNECTION_STRING as string,
  { VIGIL_MAX_DEQUEUE_COUNT: env.VIGIL_MAX_DEQUEUE_COUNT ?? "5" },
);
setFunctionsHost({ rt, authenticate: createAuthenticator({}) });

const say = (line: string) => process.stdout.write(`${line}\n`);

async function consume(
  queue: MessageQueue,
  poison: MessageQueue | undefined,
  handler: (message: unknown, context: InstanceType<typeof InvocationContext>) => Promise<void>,
): Promise<never> {
  for (;;) {
    let messages: Awaited<ReturnType<MessageQueue["receive"]>>;
    try {
      messages = await queue.receive(concurrency, lockSeconds);
    } catch (error) {
      say(`receive failed: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (messages.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    await Promise.all(
      messages.map(async (message) => {
        const label = `${queue.name} ${message.messageId} #${message.dequeueCount}`;
        try {
          if (poison !== undefined && message.dequeueCount > rt.maxDequeueCount) {
            say(`poisoned ${label}`);
            await poison.sendText(message.text);
            await queue.delete(message);
            return;
          }
          say(`start ${label}`);
          await handler(
            JSON.parse(message.text) as unknown,
            new InvocationContext({
              functionName: queue.name,
              invocationId: message.messageId,
              triggerMetadata: { dequeueCount: message.dequeueCount, id: message.messageId },
              logHandler: () => {},
            }),
          );
          await queue.delete(message);
          say(`done ${label}`);
        } catch (error) {
          say(`failed ${label}: ${(error as Error).message}`);
          try {
            if (poison !== undefined && message.dequeueCount >= rt.maxDequeueCount) {
              await poison.sendText(message.text);
              await queue.delete(message);
            } else await queue.release(message, 1);
          } catch (again) {
            // The lock ran out and another delivery owns the message now.
            say(`could not settle ${label}: ${(again as Error).message}`);
          }
        }
      }),
    );
  }
}

const { scanTargets, scanTargetsPoison } = rt.store.queues;
say("ready");
await Promise.all([
  consume(scanTargets, scanTargetsPoison, scanTargetHandler),
  consume(scanTargetsPoison, undefined, scanTargetPoisonHandler),
]);
