/**
 * A real `node:http` receiver on 127.0.0.1 for the notification tests: it records every request
 * with its raw body and answers as the test says (a status and headers, or no answer at all).
 */

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the receiver got it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body bytes. */
  body: Buffer;
}

/** How to answer: a status with headers, or `hang` to never answer. */
export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | "hang";

export interface HttpReceiver {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  requests: ReceivedRequest[];
  /** Change the answer for the next requests. */
  answer(answer: ReceiverAnswer): void;
  close(): Promise<void>;
}

/** Start a receiver on an ephemeral loopback port; it answers 200 until told otherwise. */
export async function startHttpReceiver(
  initial: ReceiverAnswer = { status: 200 },
): Promise<HttpReceiver> {
  let current = initial;
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      if (current === "hang") return;
      response.writeHead(current.status, current.headers ?? {});
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    answer(answer) {
      current = answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging requests would keep close() waiting.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL nothing listens on: a port taken from a receiver that was then closed. */
export async function refusedUrl(): Promise<string> {
  const receiver = await startHttpReceiver();
  await receiver.close();
  return `${receiver.origin}/hook`;
}
