-- Web processes cache identities and their traits for the SDK API (src/server/sdk/identity-cache.ts).
-- Every change to a stored identity or its traits, whatever writes it (SDK requests in any process,
-- the admin UI, imports, cascaded deletes), NOTIFYs `identity_changes` with the changed identity
-- ids, comma-separated, or `*` (drop everything) for statements touching more than 200 identities
-- and for TRUNCATE. Statement-level triggers: one notification per statement, not per row.
CREATE FUNCTION "notify_identity_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids text[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('identity_changes', '*');
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'traits' THEN
    SELECT array_agg(id::text) INTO ids FROM (SELECT DISTINCT identity_id AS id FROM changed_rows LIMIT 201) AS d;
  ELSE
    SELECT array_agg(id::text) INTO ids FROM (SELECT DISTINCT id FROM changed_rows LIMIT 201) AS d;
  END IF;
  IF ids IS NOT NULL THEN
    PERFORM pg_notify('identity_changes', CASE WHEN cardinality(ids) > 200 THEN '*' ELSE array_to_string(ids, ',') END);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "traits_inserted_notify" AFTER INSERT ON "traits" REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
--> statement-breakpoint
CREATE TRIGGER "traits_updated_notify" AFTER UPDATE ON "traits" REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
--> statement-breakpoint
CREATE TRIGGER "traits_deleted_notify" AFTER DELETE ON "traits" REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
--> statement-breakpoint
CREATE TRIGGER "traits_truncated_notify" AFTER TRUNCATE ON "traits" FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
--> statement-breakpoint
CREATE TRIGGER "identities_updated_notify" AFTER UPDATE ON "identities" REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
--> statement-breakpoint
CREATE TRIGGER "identities_deleted_notify" AFTER DELETE ON "identities" REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
--> statement-breakpoint
CREATE TRIGGER "identities_truncated_notify" AFTER TRUNCATE ON "identities" FOR EACH STATEMENT EXECUTE FUNCTION "notify_identity_changes"();
