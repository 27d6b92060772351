/**
 * The `ofrep_api` and `realtime_streams` gates (docs/rollouts.md) on the OFREP and event-stream endpoints, in both
 * states: web processes of their own read a shipped-flags file (FLAGPOST_FLAGS_FILE) with one gate off, beside the
 * system's web process (the shipped file: every gate on). Off, an endpoint answers exactly what an unknown path of
 * the same method gets (Next's 404); on, it serves.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { flagsFileWith } from "../../support/flags-files";
import { startWebProcess, stopProcess } from "../../support/system";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { waitForDocuments } from "../sdk/support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const systemUrl = inject("systemUrl");

interface Answer {
  status: number;
  contentType: string | null;
  headers?: string[];
  body: string;
}

let clientKey = "";
const processes: ChildProcess[] = [];
let ofrepOff = "";
let streamsOff = "";

beforeAll(async () => {
  const user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Production"]);
  await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "hello", defaultEnabled: true });
  await waitForDocuments([environments[0].id]);
  clientKey = environments[0].apiKey;
  const start = async (gates: Record<string, boolean>) => {
    const web = await startWebProcess({ databaseUrl: inject("systemDatabaseUrl"), env: { FLAGPOST_FLAGS_FILE: flagsFileWith(gates), LOG_LEVEL: "warn" } });
    processes.push(web.child);
    return web.url;
  };
  [ofrepOff, streamsOff] = await Promise.all([start({ ofrep_api: false }), start({ realtime_streams: false })]);
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((child) => stopProcess(child)));
});

/**
 * A response with what differs between any two requests of Next's 404 page taken out: the per-request nonce (in the
 * page and its Content-Security-Policy), the requested path that the page's payload echoes, and the date.
 */
async function answer(response: Response): Promise<Answer> {
  const nonces = (text: string) => text.replace(/[A-Za-z0-9+/]{22}==/g, "<nonce>");
  const headers = [...response.headers.entries()].filter(([name]) => name !== "date").map(([name, value]) => `${name}: ${nonces(value)}`);
  const body = nonces(await response.text()).replace(/\\"c\\":\[[^\]]*\]/g, "<path>");
  return { status: response.status, contentType: response.headers.get("content-type"), headers, body };
}

function evaluate(base: string, path: string, contentType = "application/json"): Promise<Answer> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, authorization: `Bearer ${clientKey}` },
    body: JSON.stringify({ context: { targetingKey: "user-1" } }),
  }).then(answer);
}

/** Opens a stream, reads its head, and closes it. */
async function stream(base: string, path: string): Promise<Answer> {
  const controller = new AbortController();
  const response = await fetch(`${base}${path}`, { signal: controller.signal });
  const head = { status: response.status, contentType: response.headers.get("content-type") };
  if (response.status === 200) {
    controller.abort();
    return { ...head, body: "" };
  }
  return answer(response);
}

describe("ofrep_api gate", () => {
  it("ofrepEndpoints__gateOff__answeredExactlyAsAnUnknownPath", { timeout: 60_000 }, async () => {
    // Given a web process whose flags file has ofrep_api off for every organisation
    // When both OFREP endpoints are called with a valid key, and a path that no route serves
    const bulk = await evaluate(ofrepOff, "/ofrep/v1/evaluate/flags");
    const single = await evaluate(ofrepOff, "/ofrep/v1/evaluate/flags/banner");
    // (also a request OFREP would refuse for its media type: the gate comes first, so nothing tells OFREP is there)
    const wrongType = await evaluate(ofrepOff, "/ofrep/v1/evaluate/flags", "application/xml");
    const unknown = await evaluate(ofrepOff, "/ofrep/v1/evaluate/nothing-here");

    // Then both get what the unknown path gets: Next's 404 page (same headers and page, but for the nonce and the
    // path it echoes), nothing of OFREP's
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain("<path>");
    expect(bulk).toEqual(unknown);
    expect(single).toEqual(unknown);
    expect(wrongType).toEqual(unknown);
    expect(bulk.body).not.toContain("errorCode");
  });

  it("ofrepEndpoints__gateOn__evaluated", async () => {
    // Given the shipped flags (every gate on) on the system's web process, and the process where only streams are off
    // When the OFREP endpoints are called
    const onSystem = await evaluate(systemUrl, "/ofrep/v1/evaluate/flags/banner");
    const onOtherProcess = await evaluate(streamsOff, "/ofrep/v1/evaluate/flags");

    // Then they evaluate
    expect(onSystem.status).toBe(200);
    expect(JSON.parse(onSystem.body)).toMatchObject({ key: "banner", value: "hello" });
    expect(onOtherProcess.status).toBe(200);
    expect(JSON.parse(onOtherProcess.body).flags).toEqual([expect.objectContaining({ key: "banner", value: "hello" })]);
  });

  it("bulkEvaluation__eventStreamsAnnouncedOnlyWhereTheStreamsGateIsOpen", async () => {
    // Given the system's web process (streams on) and the process where realtime_streams is off
    // When the bulk endpoint is called on both, with and without a targeting key
    const announced = (answer: Answer) => (JSON.parse(answer.body) as { eventStreams?: { endpoint: { requestUri: string } }[] }).eventStreams;
    const on = await evaluate(systemUrl, "/ofrep/v1/evaluate/flags");
    const off = await evaluate(streamsOff, "/ofrep/v1/evaluate/flags");
    const offAnonymous = await fetch(`${streamsOff}/ofrep/v1/evaluate/flags`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${clientKey}` }, body: "{}" }).then(answer);

    // Then only the process with streams on announces its stream (a closed gate's stream would answer 404, and the
    // OFREP web provider would stop polling for it); the other answers are the same evaluation without it
    expect(announced(on)).toEqual([{ type: "sse", endpoint: { requestUri: `/sse/environments/${clientKey}/ofrep` } }]);
    expect([off.status, offAnonymous.status]).toEqual([200, 200]);
    expect(announced(off)).toBeUndefined();
    expect(announced(offAnonymous)).toBeUndefined();
    expect(JSON.parse(off.body).flags).toEqual(JSON.parse(on.body).flags);
  });
});

describe("realtime_streams gate", () => {
  it("streamEndpoints__gateOff__answeredExactlyAsAnUnknownPath", { timeout: 60_000 }, async () => {
    // Given a web process whose flags file has realtime_streams off
    // When both stream endpoints are opened with a valid key, and a path that no route serves
    const flagsmith = await stream(streamsOff, `/sse/environments/${clientKey}/stream`);
    const ofrep = await stream(streamsOff, `/sse/environments/${clientKey}/ofrep`);
    const unknown = await stream(streamsOff, `/sse/environments/${clientKey}/nothing-here`);

    // Then both get what the unknown path gets
    expect(unknown.status).toBe(404);
    expect(flagsmith).toEqual(unknown);
    expect(ofrep).toEqual(unknown);
  });

  it("streamEndpoints__gateOn__eventStreams", async () => {
    // Given the shipped flags on the system's web process, and the process where only OFREP is off
    // When the stream endpoints are opened
    const answers = [
      await stream(systemUrl, `/sse/environments/${clientKey}/stream`),
      await stream(systemUrl, `/sse/environments/${clientKey}/ofrep`),
      await stream(ofrepOff, `/sse/environments/${clientKey}/stream`),
    ];

    // Then each is an event stream
    for (const opened of answers) {
      expect(opened.status).toBe(200);
      expect(opened.contentType).toContain("text/event-stream");
    }
  });
});
