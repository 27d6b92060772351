import { beforeAll, describe, expect, it } from "vitest";
import {
  DatabaseUnavailableError,
  isDatabaseDown,
  isDatabaseUnavailable,
  markUp,
  reportDatabaseError,
  setDatabaseProber,
  unlessDatabaseGoesDown,
  watchDatabase,
} from "@/server/db/availability";
import { causeChain, findPgError } from "@/server/errors";
import { setLogDestination } from "@/server/observability/logger";

beforeAll(() => {
  // Transitions are logged; this file asserts them through watchers instead.
  setLogDestination({ write: () => undefined });
});

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["connection refused", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }), true],
    ["pool connect timeout", new Error("timeout exceeded when trying to connect"), true],
    ["client-side query timeout", new Error("Query read timeout"), true],
    ["server shutting down", pgError("57P01", "terminating connection due to administrator command"), true],
    ["statement timeout", pgError("57014", "canceling statement due to statement timeout"), true],
    ["connection exception class 08", pgError("08006"), true],
    ["wrapped by drizzle", new Error("Failed query: select 1", { cause: pgError("57P03") }), true],
    ["unique violation", pgError("23505"), false],
    ["a bug", new TypeError("cannot read properties of undefined"), false],
  ])("isDatabaseUnavailable__%s__%s", (_name, error, expected) => {
    // Given an error as a query can fail
    // When it is classified
    // Then only failures for want of the database count
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});

describe("causeChain", () => {
  it("causeChain__wrappedErrorsAndACycle__outermostFirstAndBounded", () => {
    // Given an error wrapping a pg error (as drizzle does), and an error whose cause is itself
    const inner = pgError("23505");
    const outer = new Error("Failed query", { cause: inner });
    const cyclic: Error & { cause?: unknown } = new Error("loop");
    cyclic.cause = cyclic;

    // When their chains are walked
    // Then the wrapped error comes after its wrapper, a cycle ends at the depth, and findPgError finds the code through it
    expect([...causeChain(outer)]).toEqual([outer, inner]);
    expect([...causeChain(cyclic, 4)]).toHaveLength(4);
    expect([...causeChain("not an error")]).toEqual([]);
    expect(findPgError(outer)?.code).toBe("23505");
  });
});

describe("availability", () => {
  it("reportDatabaseError__refusedThenProbeSucceeds__downUntilTheProbeThenUpAndWatchersTold", async () => {
    // Given a probe that fails until the database is "back", and a watcher
    let back = false;
    setDatabaseProber(async () => {
      if (!back) throw new Error("connect ECONNREFUSED");
    });
    const told: boolean[] = [];
    watchDatabase("test", (down) => told.push(down));
    markUp();

    // When a query is refused, then the database comes back
    expect(reportDatabaseError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe(true);
    const downAtOnce = isDatabaseDown();
    back = true;
    const deadline = Date.now() + 5_000;
    while (isDatabaseDown() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    // Then it was down at once, up after the probe, and the watcher heard both
    expect(downAtOnce).toBe(true);
    expect(isDatabaseDown()).toBe(false);
    expect(told).toEqual([true, false]);
  });

  it("reportDatabaseError__statementTimeoutOnAnAnsweringServer__probedAndNotMarkedDown", async () => {
    // Given a server that answers probes
    setDatabaseProber(async () => undefined);
    markUp();

    // When one statement runs past the statement timeout
    const counted = reportDatabaseError(pgError("57014", "canceling statement due to statement timeout"));
    await new Promise((r) => setTimeout(r, 20));

    // Then the request counts it as unavailable, but the database is not marked down
    expect(counted).toBe(true);
    expect(isDatabaseDown()).toBe(false);
  });

  it("reportDatabaseError__anyOtherError__ignored", () => {
    // Given the database up
    markUp();

    // When a query fails for a reason of its own
    const counted = reportDatabaseError(pgError("23505", "duplicate key"));

    // Then nothing changes
    expect(counted).toBe(false);
    expect(isDatabaseDown()).toBe(false);
  });

  it("unlessDatabaseGoesDown__waitingWhenTheDatabaseIsFoundDown__rejectedAtOnce", async () => {
    // Given work waiting on a frozen database (it never settles) and a probe that fails
    setDatabaseProber(async () => {
      throw new Error("Query read timeout");
    });
    markUp();
    const waiting = unlessDatabaseGoesDown(new Promise<never>(() => undefined));

    // When another query meets a timeout
    reportDatabaseError(new Error("Query read timeout"));

    // Then the waiting work is answered with DatabaseUnavailableError, and new work is refused without waiting
    await expect(waiting).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(unlessDatabaseGoesDown(Promise.resolve(1))).rejects.toBeInstanceOf(DatabaseUnavailableError);
    markUp();
    await expect(unlessDatabaseGoesDown(Promise.resolve(2))).resolves.toBe(2);
  });
});
