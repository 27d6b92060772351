/** Password hashes: scrypt N=2^17, r=8, p=1; older hashes stay verifiable and are flagged for re-hashing. */
import { scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, SCRYPT, verifyPassword } from "@/server/auth/crypto";

/** A hash as the previous parameters (N=2^14) made it. */
function legacyHash(password: string): string {
  const salt = Buffer.from("0123456789abcdef");
  const key = scryptSync(password, salt, 64, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return ["scrypt", 16384, 8, 1, salt.toString("base64"), key.toString("base64")].join("$");
}

describe("password hashes", () => {
  it("hashPassword__currentParameters__storedInTheHashAndVerified", async () => {
    // Given a password hashed now
    const hash = await hashPassword("correct horse battery");

    // When it is read and verified
    // Then it names N=2^17, r=8, p=1, the right password verifies and another does not
    expect(SCRYPT).toMatchObject({ N: 131072, r: 8, p: 1 });
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    expect(await verifyPassword("correct horse batterx", hash)).toBe(false);
    expect(needsRehash(hash)).toBe(false);
  });

  it("verifyPassword__hashWithOlderParameters__stillVerifiesAndNeedsRehash", async () => {
    // Given a hash stored before the parameters were raised
    const hash = legacyHash("an old password");

    // When it is verified
    // Then it still works, and is flagged for re-hashing at the next sign-in
    expect(await verifyPassword("an old password", hash)).toBe(true);
    expect(await verifyPassword("another password", hash)).toBe(false);
    expect(needsRehash(hash)).toBe(true);
  });

  it("verifyPassword__tamperedOrMalformedHash__falseWithoutTrying", async () => {
    // Given stored hashes with absurd parameters (memory exhaustion) or in another format
    const absurd = "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + Buffer.alloc(64).toString("base64");
    const notPowerOfTwo = "scrypt$100000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + Buffer.alloc(64).toString("base64");

    // When verified
    // Then they simply do not match (and the dummy hash of unknown emails uses the current parameters)
    expect(await verifyPassword("x", absurd)).toBe(false);
    expect(await verifyPassword("x", notPowerOfTwo)).toBe(false);
    expect(await verifyPassword("x", "bcrypt$whatever")).toBe(false);
    expect(needsRehash(DUMMY_PASSWORD_HASH)).toBe(false);
  });
});
