/** Classification of failed handshakes: refused by the server, or not tested. */

import { describe, expect, it } from "vitest";
import {
  classifyHandshakeError,
  PROBE_UNSUPPORTED,
} from "../../../../src/collectors/tls/handshake.js";

describe("classifyHandshakeError", () => {
  it.each([
    "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
    "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
    "ERR_SSL_TLSV1_UNRECOGNIZED_NAME",
    "ERR_SSL_WRONG_VERSION_NUMBER",
    "ERR_SSL_UNSUPPORTED_PROTOCOL",
  ])("reports %s after connecting as refused", (code) => {
    expect(classifyHandshakeError({ code, message: "alert" }, true)).toEqual({
      kind: "refused",
      code,
      message: "alert",
    });
  });

  it("reports any alert received from the server as refused", () => {
    const message = "error:0A000458:SSL routines::tlsv1 unrecognized name:SSL alert number 112";

    expect(classifyHandshakeError({ code: "ERR_SSL_SOMETHING_ELSE", message }, true)).toMatchObject(
      {
        kind: "refused",
      },
    );
  });

  it.each([
    "ERR_SSL_NO_PROTOCOLS_AVAILABLE",
    "ERR_SSL_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED",
    "ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
  ])("reports the local library limit %s as not tested", (code) => {
    expect(classifyHandshakeError({ code, message: "local" }, true)).toEqual({
      kind: "untested",
      connected: true,
      code: PROBE_UNSUPPORTED,
      message: `${code}: local`,
    });
  });

  it.each(["ECONNRESET", "EPIPE", "ERR_SSL_SOMETHING_NEW", undefined])(
    "reports %s after connecting as not tested, never as refused",
    (code) => {
      const outcome = classifyHandshakeError({ code, message: "socket hang up" }, true);

      expect(outcome).toEqual({
        kind: "untested",
        connected: true,
        code: code ?? "HandshakeFailed",
        message: "socket hang up",
      });
    },
  );

  it("reports any failure before the TCP connection as not connected", () => {
    const outcome = classifyHandshakeError(
      { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", message: "x" },
      false,
    );

    expect(outcome).toMatchObject({ kind: "untested", connected: false });
  });
});
