import { afterEach, describe, expect, it } from "vitest";
import { bindContext, contextBindings, runWithContext } from "@/server/observability/context";
import { getLogger, normaliseAttributes, REDACTED, setLogDestination } from "@/server/observability/logger";
import { withSpan } from "@/server/observability/tracing";

function collect(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  setLogDestination({ write: (line: string) => lines.push(JSON.parse(line)) });
  return lines;
}

afterEach(() => setLogDestination({ write: () => undefined }));

describe("event logger", () => {
  it("getLogger__eventWithDunderAttributes__loggerEventAndDottedNames", () => {
    // Given a domain logger
    const lines = collect();
    const log = getLogger("environments");

    // When an event is logged with __-namespaced attributes
    log.info("environment_document.written", { environment__id: 7, feature_states__count: 3 });

    // Then the line names the logger and event, with dotted attribute names
    expect(lines[0]).toMatchObject({ level: "info", logger: "environments", event: "environment_document.written", "environment.id": 7, "feature_states.count": 3 });
  });

  it("normaliseAttributes__secretNamesAndKeyLookingValues__redacted", () => {
    // Given attributes holding secrets by name and by value
    const attributes = {
      password: "hunter22",
      api_key: "abc",
      headers: { Authorization: "Api-Key fp_abcdefghijklmnopqrstuv", cookie: "flagpost_session=x", accept: "json" },
      note: "called with ser.ABCDEFGHIJKLMNOP as key",
      session_token: "t",
      count: 3,
    };

    // When normalised for a log line
    const out = normaliseAttributes(attributes);

    // Then nothing secret survives but ordinary values do
    expect(out.password).toBe(REDACTED);
    expect(out.api_key).toBe(REDACTED);
    expect(out.session_token).toBe(REDACTED);
    expect(out.headers).toEqual({ Authorization: REDACTED, cookie: REDACTED, accept: "json" });
    expect(out.note).toBe(`called with ${REDACTED} as key`);
    expect(out.count).toBe(3);
  });

  it("errorAttribute__errorWithKeyInMessage__serialisedAndScrubbed", () => {
    // Given an error mentioning a server key
    const lines = collect();

    // When it is logged
    getLogger("sdk").error("request.failed", { error: new Error("bad key ser.SECRETSECRETSECRET") });

    // Then the error is structured and the key is masked
    const error = lines[0].error as Record<string, string>;
    expect(error.type).toBe("Error");
    expect(error.message).toBe(`bad key ${REDACTED}`);
    expect(error.stack).not.toContain("SECRETSECRET");
  });

  it("boundContext__nestedCallsInsideSpan__everyLineHasIdsAndTraceIds", async () => {
    // Given a request context with ids bound at the top and a span
    const lines = collect();
    const log = getLogger("features");
    const deep = async () => {
      await Promise.resolve();
      log.info("feature.checked");
    };
    const middle = async () => deep();

    // When a deeply nested function logs
    await runWithContext(async () => {
      bindContext({ "user.id": "u-1", "organisation.id": 1, "project.id": 2, "environment.id": 3 });
      await withSpan("request", () => middle());
    });

    // Then its line carries the four ids and the span's trace ids
    expect(lines[0]).toMatchObject({ "user.id": "u-1", "organisation.id": 1, "project.id": 2, "environment.id": 3 });
    expect(lines[0].trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[0].span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("runWithContext__callbackThrows__bindingsEndWithIt", async () => {
    // Given a request that binds ids then throws
    const failing = runWithContext(async () => {
      bindContext({ "project.id": 9 });
      throw new Error("nope");
    });

    // When it has failed and another request starts
    await expect(failing).rejects.toThrow("nope");
    const seen = await runWithContext(async () => ({ ...contextBindings() }));

    // Then neither outside nor the next request sees the old binding
    expect(contextBindings()).toEqual({});
    expect(seen).toEqual({});
  });
});
