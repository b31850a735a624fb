/** NotificationError: the fields a caller decides a retry on. */

import { describe, expect, it } from "vitest";
import { VigilError } from "../../../src/core/index.js";
import { isNotificationError, NotificationError } from "../../../src/notify/index.js";

describe("NotificationError", () => {
  it("is a VigilError whose code defaults to Http<status>", () => {
    const error = new NotificationError("webhook:x: https://h.example answered 503", {
      sink: "webhook:x",
      statusCode: 503,
      retryable: true,
    });

    expect(error).toBeInstanceOf(VigilError);
    expect(isNotificationError(error)).toBe(true);
    expect(error).toMatchObject({
      name: "NotificationError",
      code: "Http503",
      retryAfterInMs: undefined,
    });
  });

  it("defaults the code to DeliveryFailed when no answer came", () => {
    const error = new NotificationError("m", { sink: "teams:x", retryable: true });

    expect(error.code).toBe("DeliveryFailed");
  });

  it("tells other errors apart", () => {
    expect(isNotificationError(new VigilError("m"))).toBe(false);
  });
});
