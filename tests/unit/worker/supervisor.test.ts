/**
 * The worker's supervisor (a module test: runners are stand-ins whose promise the test settles;
 * the real worker surviving a stopped database is shown by tests/integration/system/outage.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setLogDestination } from "../../../src/server/observability/logger";
import type { Runner } from "graphile-worker";
import { MetricsPortTakenError, type WorkerHandle } from "../../../src/worker/runner";
import { superviseWorker } from "../../../src/worker/supervisor";

interface FakeRunner {
  handle: WorkerHandle;
  fail(error: Error): void;
  end(): void;
  stops: number[];
}

function fakeRunner(): FakeRunner {
  let settle!: { resolve: () => void; reject: (error: Error) => void };
  const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  promise.catch(() => undefined);
  const stops: number[] = [];
  const handle: WorkerHandle = {
    runner: { promise } as unknown as Runner,
    metricsPort: 0,
    async stop(timeoutMs = 10_000) {
      stops.push(timeoutMs);
      settle.resolve();
      return true;
    },
  };
  return { handle, fail: (error) => settle.reject(error), end: () => settle.resolve(), stops };
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

let events: string[] = [];
beforeEach(() => {
  events = [];
  setLogDestination({ write: (line: string) => void events.push((JSON.parse(line) as { event: string }).event) });
});
afterEach(() => setLogDestination({ write: () => undefined }));

describe("superviseWorker", () => {
  it("runnerFails__databaseBackOnTheThirdAttempt__failedRunnerStoppedAndANewOneInUse", async () => {
    // Given a supervised runner, and a database that refuses the next two starts
    const first = fakeRunner();
    const second = fakeRunner();
    let attempts = 0;
    const worker = await superviseWorker(
      async () => {
        attempts += 1;
        if (attempts === 1) return first.handle;
        if (attempts <= 3) throw new Error("connect ECONNREFUSED");
        return second.handle;
      },
      { minRetryMs: 1, maxRetryMs: 4 },
    );

    // When the runner's pool fails (a job's outcome could not be recorded)
    first.fail(new Error("Failed to release job"));
    for (let i = 0; i < 100 && worker.current !== second.handle; i++) await tick();

    // Then the failed runner was stopped at once, starts were retried, and the new runner is in use
    expect(first.stops).toEqual([0]);
    expect(attempts).toBe(4);
    expect(worker.current).toBe(second.handle);
    expect(events).toEqual(["worker.runner_failed", "worker.restart_failed", "worker.restart_failed", "worker.restarted"]);
    // and stopping stops the new one and ends the supervision
    await worker.stop(1234);
    expect(second.stops).toEqual([1234]);
    await worker.finished;
  });

  it("stopWhileRestarting__noNewRunnerLeftRunning", async () => {
    // Given a runner that failed, and a start that is slow to come back
    const first = fakeRunner();
    const late = fakeRunner();
    let release!: () => void;
    let attempts = 0;
    const worker = await superviseWorker(
      async () => {
        attempts += 1;
        if (attempts === 1) return first.handle;
        await new Promise<void>((resolve) => (release = resolve));
        return late.handle;
      },
      { minRetryMs: 1 },
    );
    first.fail(new Error("pool failed"));
    for (let i = 0; i < 100 && attempts < 2; i++) await tick();

    // When the process is stopped during the restart, and the start then completes
    await worker.stop();
    release();
    await worker.finished;

    // Then the runner that came up late was stopped too
    expect(late.stops).toEqual([0]);
  });

  it("runnerEndsWithoutAnError__restarted", async () => {
    // Given a supervised runner
    const first = fakeRunner();
    const second = fakeRunner();
    let attempts = 0;
    const worker = await superviseWorker(
      async () => {
        attempts += 1;
        return attempts === 1 ? first.handle : second.handle;
      },
      { minRetryMs: 1 },
    );

    // When graphile-worker's runner ends on its own (its pool gave up: it resolves, it does not reject)
    first.end();
    for (let i = 0; i < 100 && worker.current !== second.handle; i++) await tick();

    // Then a new runner is in use
    expect(worker.current).toBe(second.handle);
    await worker.stop();
    await worker.finished;
  });

  it("runnerEndsAfterAskingTheProcessToExit__notRestarted", async () => {
    // Given a supervised runner
    const only = fakeRunner();
    let attempts = 0;
    const worker = await superviseWorker(async () => {
      attempts += 1;
      return only.handle;
    });

    // When graphile-worker ends after setting an exit code (a breaking migration by a newer worker)
    const previous = process.exitCode;
    process.exitCode = 57;
    try {
      only.end();
      await worker.finished;
    } finally {
      process.exitCode = previous;
    }

    // Then nothing was restarted
    expect(attempts).toBe(1);
  });

  it("firstStart__databaseUnreachableTwice__retriedUntilItAnswers", async () => {
    // Given a worker started while its database refuses connections, then answers on the third attempt
    const only = fakeRunner();
    let attempts = 0;
    const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

    // When it is supervised
    const worker = await superviseWorker(
      async () => {
        attempts += 1;
        if (attempts <= 2) throw refused();
        return only.handle;
      },
      { minRetryMs: 1, maxRetryMs: 4 },
    );

    // Then the first start was retried (each failed attempt logged) instead of ending the process, and the runner is in use
    expect(attempts).toBe(3);
    expect(worker.current).toBe(only.handle);
    expect(events).toEqual(["worker.start_failed", "worker.start_failed"]);
    await worker.stop();
    await worker.finished;
  });

  it("firstStart__failsForAnotherReason__rejectsAtOnce", async () => {
    // Given a first start that fails for want of a valid configuration, not of the database
    let attempts = 0;

    // When it is supervised
    const started = superviseWorker(
      async () => {
        attempts += 1;
        throw Object.assign(new Error('password authentication failed for user "flagpost"'), { code: "28P01" });
      },
      { minRetryMs: 1 },
    );

    // Then the supervision fails with that error (the process exits and says why) without retrying
    await expect(started).rejects.toThrow("password authentication failed");
    expect(attempts).toBe(1);
  });

  it("metricsPortTakenOnRestart__supervisionEndsWithThatError", async () => {
    // Given a runner whose restart finds its explicit metrics port taken
    const first = fakeRunner();
    let attempts = 0;
    const worker = await superviseWorker(
      async () => {
        attempts += 1;
        if (attempts === 1) return first.handle;
        throw new MetricsPortTakenError(9465, "127.0.0.1", "WORKER_METRICS_PORT");
      },
      { minRetryMs: 1 },
    );

    // When the runner fails
    first.fail(new Error("pool failed"));

    // Then the supervision ends with the configuration error (the process exits and says why)
    await expect(worker.finished).rejects.toBeInstanceOf(MetricsPortTakenError);
  });
});
