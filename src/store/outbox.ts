/**
 * The notifications outbox: the transitions each (run, target, scope) produced, stored before the
 * current-state rows change (container `outbox`). A writer that dies after the outbox write but
 * before or during the state write computes the same transitions again, or none for the rows it
 * already wrote, and finds its outbox entry already there: the transitions of a run are never
 * lost, and never stored twice. Entries are created once (`If-None-Match: *`) and never
 * overwritten.
 */

import type { ContainerClient } from "@azure/storage-blob";
import type { Transition } from "../core/index.js";
import { StoreError } from "./errors.js";
import { encodeKey } from "./findings.js";
import { isConflict, toStoreError } from "./rest.js";

/** The outbox of one storage account. */
export interface Outbox {
  ensure(): Promise<void>;
  /** Store the transitions of one run, target and scope; a second call keeps the first. */
  put(
    runId: string,
    target: string,
    scope: string,
    transitions: readonly Transition[],
  ): Promise<void>;
  /** Every transition stored for a run, in entry-name order. */
  list(runId: string): Promise<Transition[]>;
}

const runPrefix = (runId: string) => `runs/${encodeKey(runId)}/`;

/**
 * A name part that cannot contain the `~` between target and scope: `encodeKey` keeps `~`, so
 * target `tls a~b` with scope `c` and target `tls a` with scope `b~c` would share one entry, and
 * the second put would be taken for a replay of the first and dropped. `!7E` cannot come out of
 * `encodeKey` otherwise (it encodes `!`), so the name stays unique.
 */
const namePart = (value: string) => encodeKey(value).replaceAll("~", "!7E");

/** The outbox over a blob container. */
export function createOutbox(container: ContainerClient): Outbox {
  return {
    async ensure() {
      try {
        await container.createIfNotExists();
      } catch (error) {
        throw toStoreError(error, `create container ${container.containerName}`);
      }
    },
    async put(runId, target, scope, transitions) {
      const name = `${runPrefix(runId)}${namePart(target)}~${namePart(scope)}.json`;
      const body = JSON.stringify({ runId, target, scope, transitions });
      try {
        await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
          conditions: { ifNoneMatch: "*" },
          blobHTTPHeaders: { blobContentType: "application/json" },
        });
      } catch (error) {
        if (isConflict(error)) return;
        throw toStoreError(error, `write outbox ${name}`);
      }
    },
    async list(runId) {
      const out: Transition[] = [];
      try {
        for await (const blob of container.listBlobsFlat({ prefix: runPrefix(runId) })) {
          const content = (await container.getBlobClient(blob.name).downloadToBuffer()).toString(
            "utf8",
          );
          let entry: { transitions?: unknown };
          try {
            entry = JSON.parse(content) as { transitions?: unknown };
          } catch {
            throw new StoreError(`outbox ${blob.name} is not JSON`, { operation: "read outbox" });
          }
          if (!Array.isArray(entry.transitions))
            throw new StoreError(`outbox ${blob.name} holds no transitions list`, {
              operation: "read outbox",
            });
          out.push(...(entry.transitions as Transition[]));
        }
      } catch (error) {
        throw toStoreError(error, `read the outbox of run ${runId}`);
      }
      return out;
    },
  };
}
