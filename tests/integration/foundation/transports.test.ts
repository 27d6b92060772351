/**
 * The public API's two transports — Next route handlers (`next dev`) and the web server's direct path
 * (production) — run the same handlers and must answer identically.
 */
import { Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { NodeApiRequest } from "../../../src/server/http/api";
import { apiRoutes } from "../../../src/server/api/routes";
import { writeEnvironmentDocument } from "../../../src/server/publishing/write-document";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";

function nodeRequest(method: string, path: string, headers: Record<string, string>, body?: string): IncomingMessage {
  const stream = Readable.from(body === undefined ? [] : [Buffer.from(body)]) as unknown as IncomingMessage;
  Object.assign(stream, { method, url: path, headers });
  return stream;
}

describe("public API transports", () => {
  it("flagsAndIdentities__nextRouteHandlerAndDirectPath__sameStatusHeadersAndBody", async () => {
    // Given an environment with a published document
    const user = await signUpUser();
    const { project, environments: [env] } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.features.create({ projectId: project.id, name: "banner", defaultEnabled: true, initialValue: "blue" });
    await writeEnvironmentDocument({ environmentId: env.id });
    const headers = { "x-environment-key": env.apiKey, "content-type": "application/json" };
    const body = JSON.stringify({ identifier: "transport-user", traits: [{ trait_key: "plan", trait_value: "pro" }] });

    // When the same requests go through Next's adapter and through the direct path
    const viaNext = [
      await apiRoutes.flags.GET(new Request("http://x/api/v1/flags/", { headers }), { params: Promise.resolve({}) }),
      await apiRoutes.identities.POST(new Request("http://x/api/v1/identities/", { method: "POST", headers, body }), { params: Promise.resolve({}) }),
    ];
    const direct = [
      await apiRoutes.flags.GET.serve(new NodeApiRequest(nodeRequest("GET", "/api/v1/flags/", headers), "http://x"), {}),
      await apiRoutes.identities.POST.serve(new NodeApiRequest(nodeRequest("POST", "/api/v1/identities/", headers, body), "http://x"), {}),
    ];

    // Then both transports answer the same
    for (let i = 0; i < 2; i++) {
      expect(viaNext[i].status).toBe(200);
      expect(direct[i].status).toBe(viaNext[i].status);
      const directBody = typeof direct[i].body === "string" ? direct[i].body : Buffer.from(direct[i].body as Uint8Array).toString("utf8");
      expect(JSON.parse(directBody as string)).toEqual(await viaNext[i].json());
      expect(direct[i].headers["x-flagsmith-document-updated-at"] ?? direct[i].headers["X-Flagsmith-Document-Updated-At"]).toBe(
        viaNext[i].headers.get("x-flagsmith-document-updated-at"),
      );
    }
  });

  it("badBody__directPath__413And400AsViaNext", async () => {
    // Given an environment with a document
    const user = await signUpUser();
    const { environments: [env] } = await projectWithEnvironments(user, ["Production"]);
    await writeEnvironmentDocument({ environmentId: env.id });
    const headers = { "x-environment-key": env.apiKey, "content-type": "application/json" };

    // When malformed and oversized bodies arrive on the direct path
    const malformed = await apiRoutes.identities.POST.serve(new NodeApiRequest(nodeRequest("POST", "/api/v1/identities/", headers, "{nope"), "http://x"), {});
    const huge = await apiRoutes.identities.POST.serve(new NodeApiRequest(nodeRequest("POST", "/api/v1/identities/", headers, "x".repeat(300 * 1024)), "http://x"), {});

    // Then they are client errors with Flagsmith's shape
    expect(malformed.status).toBe(400);
    expect(huge.status).toBe(413);
    expect(JSON.parse(malformed.body as string)).toHaveProperty("detail");
  });
});
