import { afterEach, describe, expect, it } from "vitest";
import { apiJson } from "../../../src/server/http/api";
import { route } from "../../../src/server/http/route";
import { contextBindings } from "../../../src/server/observability/context";
import { getLogger } from "../../../src/server/observability/logger";
import { captureLogs, expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";

let capture: ReturnType<typeof captureLogs> | undefined;
afterEach(() => capture?.stop());

describe("tRPC request context", () => {
  it("environmentsUpdate__deepInsideServiceTransaction__logLineCarriesAllFourIds", async () => {
    // Given a user with a project and an environment
    const user = await signUpUser();
    const { project, environments } = await projectWithEnvironments(user, ["Development"]);
    capture = captureLogs();

    // When a tRPC mutation runs a service that logs from inside its transaction callback
    await user.caller.environments.update({ environmentId: environments[0].id, allowClientTraits: false });

    // Then the event carries user, organisation, project and environment ids it was never handed
    const [line] = capture.events("environment.updated");
    expect(line).toMatchObject({
      "user.id": user.userId,
      "organisation.id": user.organisationId,
      "project.id": project.id,
      "environment.id": environments[0].id,
    });
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("interleavedRequests__twoTenantsConcurrently__neverSeeEachOthersIds", async () => {
    // Given two users in different organisations, each with an environment
    const [alice, bob] = await Promise.all([signUpUser(), signUpUser()]);
    const [a, b] = await Promise.all([projectWithEnvironments(alice, ["A"]), projectWithEnvironments(bob, ["B"])]);
    capture = captureLogs();

    // When both update their environment many times, interleaved on one process
    const calls = [];
    for (let i = 0; i < 20; i++) {
      calls.push(alice.caller.environments.update({ environmentId: a.environments[0].id, description: `a${i}` }));
      calls.push(bob.caller.environments.update({ environmentId: b.environments[0].id, description: `b${i}` }));
    }
    await Promise.all(calls);

    // Then every log line names exactly one tenant, consistently
    const lines = capture.events("environment.updated");
    expect(lines).toHaveLength(40);
    for (const line of lines) {
      const mine = line["environment.id"] === a.environments[0].id ? { user: alice, env: a } : { user: bob, env: b };
      expect(line["user.id"]).toBe(mine.user.userId);
      expect(line["organisation.id"]).toBe(mine.user.organisationId);
      expect(line["project.id"]).toBe(mine.env.project.id);
    }
  });

  it("requestAfterFailedRequest__previousCallThrewAfterBinding__startsClean", async () => {
    // Given an environment name already taken, so a rename fails after its ids were bound
    const user = await signUpUser();
    const { environments } = await projectWithEnvironments(user, ["One", "Two"]);
    capture = captureLogs();
    await expectTrpcError(user.caller.environments.update({ environmentId: environments[0].id, name: "Two" }), "CONFLICT");

    // When the next call (no project or environment in its input) logs
    await user.caller.auth.signOut();

    // Then its line has the user and organisation only, none of the failed call's ids
    const [line] = capture.events("user.signed_out");
    expect(line["user.id"]).toBe(user.userId);
    expect(line["project.id"]).toBeUndefined();
    expect(line["environment.id"]).toBeUndefined();
  });

  it("apiKeyPrincipal__anyCall__bindsOrganisationButNoUser", async () => {
    // Given an organisation API key
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, []);
    const { caller } = await (await import("../support/fixtures")).apiKeyCaller(user);
    capture = captureLogs();

    // When the key creates an environment
    await caller.environments.create({ projectId: project.id, name: "From script" });

    // Then the event has organisation and project ids and no user id
    const [line] = capture.events("environment.created");
    expect(line["organisation.id"]).toBe(user.organisationId);
    expect(line["project.id"]).toBe(project.id);
    expect(line["user.id"]).toBeUndefined();
  });
});

describe("route handler context", () => {
  const log = getLogger("test");
  const handler = route<{ environmentId: string }>(
    "/test/[environmentId]",
    async (request, params) => {
      await new Promise((r) => setTimeout(r, Number(new URL(request.url).searchParams.get("delay") ?? 0)));
      log.info("test_request.handled", { seen: contextBindings()["environment.id"] });
      if (params.environmentId === "999") throw new Error("boom");
      return apiJson(200, { bound: contextBindings() });
    },
    { bind: (_request, params) => ({ "environment.id": Number(params.environmentId) }) },
  );

  it("route__urlParams__boundBeforeHandlerAndOnLogLines", async () => {
    // Given a wrapped handler binding the environment id from its URL params
    capture = captureLogs();

    // When two requests interleave (the first finishes last)
    const [slow, fast] = await Promise.all([
      handler(new Request("http://x/test/1?delay=30"), { params: Promise.resolve({ environmentId: "1" }) }),
      handler(new Request("http://x/test/2"), { params: Promise.resolve({ environmentId: "2" }) }),
    ]);

    // Then each saw only its own id
    expect(await slow.json()).toEqual({ bound: { "environment.id": 1 } });
    expect(await fast.json()).toEqual({ bound: { "environment.id": 2 } });
    expect(capture.events("test_request.handled").map((l) => [l["environment.id"], l.seen])).toEqual([
      [2, 2],
      [1, 1],
    ]);
  });

  it("route__handlerThrows__answers500JsonAndBindingsEnd", async () => {
    // Given a handler that throws after binding
    capture = captureLogs();

    // When it is called
    const response = await handler(new Request("http://x/test/999"), { params: Promise.resolve({ environmentId: "999" }) });

    // Then the client gets a JSON 500, the failure is logged with the id, and nothing stays bound
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: "Internal server error" });
    const [failure] = capture.events("request.failed");
    expect(failure["environment.id"]).toBe(999);
    expect((failure.error as { message: string }).message).toBe("boom");
    expect(contextBindings()).toEqual({});
  });
});
