/** Unit tests of Host()/HostSNI() parsing in Traefik rules. */
import { describe, expect, it } from "vitest";
import { hostsOfRule } from "../../../../src/collectors/kubernetes/match-rules.js";

describe("hostsOfRule", () => {
  it.each([
    ["Host(`erp.example.com`)", ["erp.example.com"]],
    ["Host(`a.example.com`) || Host(`b.example.com`)", ["a.example.com", "b.example.com"]],
    ["Host(`a.example.com`, `b.example.com`)", ["a.example.com", "b.example.com"]],
    ['Host("quoted.example.com")', ["quoted.example.com"]],
    ["Host(`ERP.Example.com`) && PathPrefix(`/web`)", ["erp.example.com"]],
    ["Host(`edi.example.com`) && (PathPrefix(`/as2`) || PathPrefix(`/api`))", ["edi.example.com"]],
    ["HostRegexp(`^.+$`)", []],
    ["!Host(`not.example.com`) && Host(`yes.example.com`)", ["yes.example.com"]],
    ["Host(`dup.example.com`) || Host(`dup.example.com`)", ["dup.example.com"]],
    ["PathPrefix(`/`)", []],
  ])("reads the hosts of %s", (rule, hosts) => {
    expect(hostsOfRule(rule)).toEqual(hosts);
  });

  it("reads HostSNI only when asked, and skips the catch-all", () => {
    const rule = "HostSNI(`db.example.com`) || HostSNI(`*`)";

    expect(hostsOfRule(rule)).toEqual([]);
    expect(hostsOfRule(rule, { sni: true })).toEqual(["db.example.com"]);
  });
});
