/** The least-recently-used order the read side's caches keep on their Maps (src/server/serving/lru.ts). */
import { describe, expect, it } from "vitest";
import { oldestWhere, touch } from "@/server/serving/lru";

describe("lru", () => {
  it("touch__entryUsedAgain__movesToTheYoungEndKeepingItsValue", () => {
    // Given three entries in insertion order
    const map = new Map([["a", 1], ["b", 2], ["c", 3]]);

    // When the oldest is used again
    touch(map, "a", 1);

    // Then it is the youngest, the others keep their order
    expect([...map.entries()]).toEqual([["b", 2], ["c", 3], ["a", 1]]);
  });

  it("oldestWhere__someEntriesProtected__oldestUnprotectedOrNothing", () => {
    // Given entries of which the two oldest are protected
    const map = new Map([["a", true], ["b", true], ["c", false], ["d", false]]);

    // When the oldest evictable entry is asked for, then when every entry is protected
    const victim = oldestWhere(map, (isProtected) => !isProtected);
    const none = oldestWhere(map, () => false);

    // Then the oldest unprotected one, and nothing
    expect(victim).toBe("c");
    expect(none).toBeUndefined();
  });
});
