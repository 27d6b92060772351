/**
 * The SDK API's identity cache in process, against this file's own database: the identity-change
 * notifications the database sends (drizzle/0005) for every way identities and traits change, and
 * how the cache follows them, also across a lost LISTEN connection.
 */
import pg from "pg";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { ensureListener, isListening } from "../../../src/server/serving/listener";
import { stopServing } from "../../../src/server/serving/gate";
import { deleteTraits, getOrCreateIdentity, upsertTraits } from "../../../src/server/identities/service";
import { IDENTITY_CHANNEL, isCachedIdentity } from "../../../src/server/sdk/identity-cache";
import { identityWithTraits } from "../../../src/server/sdk/identity-store";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { eventually } from "./support";

let user: TestUser;
let environmentId: number;
let listener: pg.Client;
const payloads: string[] = [];

beforeAll(async () => {
  user = await signUpUser();
  const { environments } = await projectWithEnvironments(user, ["Development"]);
  environmentId = environments[0].id;
  listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await listener.connect();
  listener.on("notification", (message) => {
    if (message.channel === IDENTITY_CHANNEL) payloads.push(message.payload ?? "");
  });
  await listener.query(`LISTEN ${IDENTITY_CHANNEL}`);
});

afterAll(async () => {
  await listener.end();
  await stopServing();
});

/** The notifications received while `change` runs (and shortly after). */
async function notificationsOf(change: () => Promise<unknown>): Promise<string[]> {
  payloads.length = 0;
  await change();
  // A marker sent after the change arrives after the change's own notifications.
  await getDb().execute(sql`select pg_notify(${IDENTITY_CHANNEL}, 'marker')`);
  await eventually(async () => payloads.includes("marker"), 5_000, "marker notification");
  return payloads.filter((payload) => payload !== "marker");
}

describe("identity change notifications", () => {
  it("traitWrites__insertUpdateDelete__oneNotificationNamingTheIdentity", async () => {
    // Given a stored identity
    const identity = await getOrCreateIdentity(environmentId, `notify-${Date.now()}`);

    // When traits are inserted, updated (upsert) and deleted
    const inserted = await notificationsOf(() => upsertTraits(identity.id, [{ key: "a", value: 1 }, { key: "b", value: "x" }]));
    const updated = await notificationsOf(() => upsertTraits(identity.id, [{ key: "a", value: 2 }]));
    const deleted = await notificationsOf(() => deleteTraits(identity.id, ["b"]));

    // Then each statement notifies the identity's id
    expect(inserted).toEqual([String(identity.id)]);
    expect(updated).toEqual([String(identity.id)]);
    expect(deleted).toEqual([String(identity.id)]);
  });

  it("identityChanges__updateAndDeleteWithCascade__notifyTheIdentity", async () => {
    // Given an identity with a trait
    const identity = await getOrCreateIdentity(environmentId, `cascade-${Date.now()}`);
    await notificationsOf(() => upsertTraits(identity.id, [{ key: "a", value: 1 }]));

    // When it is changed, then deleted through the admin API (its traits go with it)
    const changed = await notificationsOf(() => getDb().execute(sql`update identities set django_id = 99 where id = ${identity.id}`));
    const deleted = await notificationsOf(() => user.caller.identities.delete({ identityId: identity.id }));

    // Then both name it, and only it
    expect(changed).toEqual([String(identity.id)]);
    expect(deleted.length).toBeGreaterThan(0);
    expect(new Set(deleted)).toEqual(new Set([String(identity.id)]));
  });

  it("bulkStatement__moreThan200Identities__everythingAtOnce", async () => {
    // Given 201 identities
    const ids = (
      await getDb().execute<{ id: string }>(
        sql`insert into identities (environment_id, identifier) select ${environmentId}, 'bulk-' || g from generate_series(1, 201) g returning id`,
      )
    ).rows.map((row) => Number(row.id));

    // When one statement gives each a trait, and another gives a trait to only 2 of them
    const bulk = await notificationsOf(() => getDb().execute(sql`insert into traits (identity_id, key, value) select id, 'k', '1'::jsonb from identities where identifier like 'bulk-%'`));
    const few = await notificationsOf(() => getDb().execute(sql`update traits set value = '2'::jsonb where identity_id in (${ids[0]}, ${ids[1]})`));

    // Then the bulk statement says "everything", the small one names both
    expect(bulk).toEqual(["*"]);
    expect(few.flatMap((payload) => payload.split(",")).sort()).toEqual([String(ids[0]), String(ids[1])].sort());
  });
});

/** Whether the identity comes from the cache, with trait `age` = `age` (its write's notification has come back). */
async function isAgeCached(identifier: string, age: number): Promise<boolean> {
  const identity = await identityWithTraits(environmentId, identifier, true);
  return isCachedIdentity(identity) && identity.traits[0]?.value === age;
}

describe("identityWithTraits (cached while listening)", () => {
  it("identityWithTraits__traitChangedElsewhere__cachedUntilNotified", async () => {
    // Given a listening process that has read an identity twice
    ensureListener();
    await eventually(async () => isListening(), 5_000, "listener connected");
    const identifier = `cached-${Date.now()}`;
    const created = (await identityWithTraits(environmentId, identifier, true))!;
    await upsertTraits(created.id, [{ key: "age", value: 30 }]);
    await eventually(async () => isAgeCached(identifier, 30), 5_000, "cached with the trait");
    expect((await identityWithTraits(environmentId, identifier, true))!.traits).toEqual([{ key: "age", value: 30 }]);

    // When the trait is changed by someone else (the admin API)
    await user.caller.identities.setTrait({ identityId: created.id, key: "age", value: 12 });

    // Then the next reads see the new value
    await eventually(async () => (await identityWithTraits(environmentId, identifier, true))!.traits[0]?.value === 12, 5_000, "new value read");
  });

  it("identityWithTraits__listenerLostWhileATraitChanged__notServedFromTheOldEntry", async () => {
    // Given a cached identity
    ensureListener();
    await eventually(async () => isListening(), 5_000, "listener connected");
    const identifier = `lost-${Date.now()}`;
    const created = (await identityWithTraits(environmentId, identifier, true))!;
    await upsertTraits(created.id, [{ key: "age", value: 30 }]);
    await eventually(async () => isAgeCached(identifier, 30), 5_000, "cached with the trait");

    // When the LISTEN connection is dropped, and a trait changes while it is down (its notification is lost)
    await getDb().execute(
      sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name like '%document-listener' and datname = current_database()`,
    );
    await eventually(async () => !isListening(), 5_000, "listener down");
    await getDb().execute(sql`update traits set value = '12'::jsonb where identity_id = ${created.id}`);

    // Then reads go to the database while it is down and after it reconnects
    expect((await identityWithTraits(environmentId, identifier, true))!.traits).toEqual([{ key: "age", value: 12 }]);
    await eventually(async () => isListening(), 10_000, "listener reconnected");
    expect((await identityWithTraits(environmentId, identifier, true))!.traits).toEqual([{ key: "age", value: 12 }]);
  });
});
