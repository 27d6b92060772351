import { describe, expect, it } from "vitest";
import { secondInstanceAdvice, secondInstancePort } from "../../../scripts/launcher-advice";

describe("second npm start on the same data directory", () => {
  it("secondInstanceAdvice__anotherPortAskedFor__commandWithItsOwnDataDirectoryAndThatPort", () => {
    // Given a running instance on port 3000 and a second `PORT=3001 npm start`
    // When the launcher explains why it refuses
    const advice = secondInstanceAdvice({ running: { pid: 4242, port: 3000 }, dataDir: ".data", port: 3001, command: "npm start" });

    // Then it says who runs there and gives the exact command for a second instance
    expect(advice).toContain("Flagpost (pid 4242) is already running at port 3000 on .data/");
    expect(advice).toContain("FLAGPOST_DATA_DIR=.data-3001 PORT=3001 npm start");
  });

  it("secondInstanceAdvice__dataDirectoryWithASpace__quotedForTheShell", () => {
    // Given a data directory whose path holds a space and a quote
    // When the command is suggested
    const advice = secondInstanceAdvice({ running: { pid: 7 }, dataDir: "/srv/my flags/it's", port: 3000, command: "npm start" });

    // Then it can be pasted as it is
    expect(advice).toContain(`FLAGPOST_DATA_DIR='/srv/my flags/it'\\''s-3001' PORT=3001 npm start`);
  });

  it.each([
    [3000, { pid: 1, port: 3000 }, 3001],
    [3001, { pid: 1, port: 3000 }, 3001],
    [3000, { pid: 1, port: 4000 }, 3000],
    [3000, { pid: 1 }, 3001],
    [5000, { pid: 1 }, 5000],
  ])("secondInstancePort__asked%s__running%o__suggests%s", (requested, running, expected) => {
    // Given the port asked for and what the running instance recorded
    // When a port is suggested
    // Then it is the one asked for unless the running instance has it
    expect(secondInstancePort(requested, running)).toBe(expected);
  });
});
