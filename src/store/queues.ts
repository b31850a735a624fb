/**
 * vigil's storage queues (`scan-targets`, `notifications`, each with a `-poison` queue) as JSON
 * message queues. Messages are sent Base64-encoded: the Functions queue trigger decodes Base64 by
 * default (host.json `extensions.queues.messageEncoding` is left at `base64`), while
 * `@azure/storage-queue` sends text as it is, so both sides agree only when the sender encodes
 * (PLATFORM.md gotcha 4). `vigil serve` receives with the same codec.
 */

import type { QueueClient } from "@azure/storage-queue";
import { toStoreError } from "./rest.js";

/** Longest message the service takes, in bytes after Base64. */
export const MAX_QUEUE_MESSAGE_BYTES = 64 * 1024;

/** A received message, decoded. */
export interface ReceivedMessage {
  messageId: string;
  popReceipt: string;
  /** 1 on the first delivery. */
  dequeueCount: number;
  /** The decoded text (JSON for vigil's own messages). */
  text: string;
  insertedOn: Date | undefined;
}

/** One queue of JSON messages. */
export interface MessageQueue {
  readonly name: string;
  ensure(): Promise<void>;
  /**
   * Send one JSON message (Base64 on the wire).
   * @throws RangeError when it exceeds the 64 KiB limit; StoreError when the send fails
   */
  send(message: unknown, options?: { visibilityTimeoutInSeconds?: number }): Promise<void>;
  /** Send text as it is (Base64 on the wire): a poisoned message's original text. */
  sendText(text: string): Promise<void>;
  /** Up to `max` messages, each hidden for `visibilityTimeoutInSeconds` (default 60). */
  receive(max: number, visibilityTimeoutInSeconds?: number): Promise<ReceivedMessage[]>;
  delete(message: ReceivedMessage): Promise<void>;
  /** Make a received message visible again after `delaySeconds` (a failed attempt's retry delay). */
  release(message: ReceivedMessage, delaySeconds: number): Promise<void>;
  /** Messages waiting (approximate, as the service reports it). */
  length(): Promise<number>;
}

/** Encode a JSON message the way the Functions queue trigger reads it. */
export function encodeQueueMessage(message: unknown): string {
  return Buffer.from(JSON.stringify(message), "utf8").toString("base64");
}

/** Decode a message sent by {@link encodeQueueMessage} (or any Base64 text). */
export function decodeQueueMessage(text: string): string {
  return Buffer.from(text, "base64").toString("utf8");
}

/** A JSON message queue over a queue client. */
export function createMessageQueue(client: QueueClient): MessageQueue {
  return {
    name: client.name,
    async ensure() {
      try {
        await client.createIfNotExists();
      } catch (error) {
        throw toStoreError(error, `create queue ${client.name}`);
      }
    },
    async send(message, options = {}) {
      const encoded = encodeQueueMessage(message);
      if (Buffer.byteLength(encoded) > MAX_QUEUE_MESSAGE_BYTES)
        throw new RangeError(
          `a ${client.name} message is ${Buffer.byteLength(encoded)} bytes in Base64, over the queue's 64 KiB limit`,
        );
      try {
        await client.sendMessage(encoded, {
          ...(options.visibilityTimeoutInSeconds !== undefined
            ? { visibilityTimeout: options.visibilityTimeoutInSeconds }
            : {}),
        });
      } catch (error) {
        throw toStoreError(error, `send to queue ${client.name}`);
      }
    },
    async sendText(text) {
      try {
        await client.sendMessage(Buffer.from(text, "utf8").toString("base64"));
      } catch (error) {
        throw toStoreError(error, `send to queue ${client.name}`);
      }
    },
    async receive(max, visibilityTimeoutInSeconds = 60) {
      try {
        const response = await client.receiveMessages({
          numberOfMessages: Math.max(1, Math.min(32, max)),
          visibilityTimeout: visibilityTimeoutInSeconds,
        });
        return response.receivedMessageItems.map((item) => ({
          messageId: item.messageId,
          popReceipt: item.popReceipt,
          dequeueCount: item.dequeueCount,
          text: decodeQueueMessage(item.messageText),
          insertedOn: item.insertedOn,
        }));
      } catch (error) {
        throw toStoreError(error, `receive from queue ${client.name}`);
      }
    },
    async delete(message) {
      try {
        await client.deleteMessage(message.messageId, message.popReceipt);
      } catch (error) {
        throw toStoreError(error, `delete a message from queue ${client.name}`);
      }
    },
    async release(message, delaySeconds) {
      try {
        await client.updateMessage(message.messageId, message.popReceipt, undefined, delaySeconds);
      } catch (error) {
        throw toStoreError(error, `release a message of queue ${client.name}`);
      }
    },
    async length() {
      try {
        return (await client.getProperties()).approximateMessagesCount ?? 0;
      } catch (error) {
        throw toStoreError(error, `read the length of queue ${client.name}`);
      }
    },
  };
}
