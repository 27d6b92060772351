import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { bootstrapFlagd } from "../../../src/server/flagd/bootstrap";
import { resolvePrincipal } from "../../../src/server/auth/principal";
import { signIn } from "../../../src/server/auth/service";

describe("bootstrap:flagd", () => {
  it("bootstrap__runTwice__sameEntitiesOneKeyIntegrationOnAdminCanSignIn", async () => {
    // Given nothing but the inputs of the local stack
    const input = { apiKey: "ser.local-flagd-test-key", adminEmail: "Admin@Example.com", adminPassword: "flagpost-admin", organisation: "Local", project: "flagd", environment: "Development" };

    // When the bootstrap runs twice
    const first = await bootstrapFlagd(input);
    const second = await bootstrapFlagd(input);

    // Then the second run changed nothing, the key exists once, the integration is on and the admin can sign in
    expect(second).toEqual(first);
    const keys = await getDb().execute<{ n: number }>(sql`select count(*)::int as n from environment_api_keys where environment_id = ${first.environmentId}`);
    expect(keys.rows[0].n).toBe(1);
    const project = await getDb().execute<{ flagd_enabled: boolean }>(sql`select flagd_enabled from projects where id = ${first.projectId}`);
    expect(project.rows[0].flagd_enabled).toBe(true);
    const session = await signIn({ email: "admin@example.com", password: "flagpost-admin" });
    const { principal } = await resolvePrincipal(new Headers({ cookie: `flagpost_session=${session.token}` }));
    expect(principal?.kind).toBe("user");
    const audit = await getDb().execute<{ n: number }>(sql`select count(*)::int as n from audit_log where action = 'flagd_integration.enabled' and project_id = ${first.projectId}`);
    expect(audit.rows[0].n).toBe(1);
  });

  it("bootstrap__keyOfAnotherEnvironment__refused", async () => {
    // Given a key bootstrapped for one environment
    await bootstrapFlagd({ apiKey: "ser.shared-key-1234", adminEmail: "a@example.com", adminPassword: "password-1", organisation: "One", project: "p", environment: "e" });

    // When another bootstrap wants the same key for a different environment
    const again = bootstrapFlagd({ apiKey: "ser.shared-key-1234", adminEmail: "a@example.com", adminPassword: "password-1", organisation: "Two", project: "p", environment: "e" });

    // Then it is refused
    await expect(again).rejects.toThrow("another environment");
  });
});
