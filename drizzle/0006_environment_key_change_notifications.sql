-- Web processes cache environment keys (src/server/serving/key-cache.ts). A change to a server key
-- (created, revoked, deactivated, expiry changed, deleted) or the deletion of an environment
-- (directly or cascaded from its project or organisation) NOTIFYs `environment_keys` with the ids of
-- the environments concerned, comma-separated, or `*` past 200 environments and for TRUNCATE, so
-- that a revoked key is refused on the next request in every process. Statement-level triggers:
-- one notification per statement.
CREATE FUNCTION "notify_environment_key_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids text[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('environment_keys', '*');
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'environment_api_keys' THEN
    SELECT array_agg(id::text) INTO ids FROM (SELECT DISTINCT environment_id AS id FROM changed_rows LIMIT 201) AS d;
  ELSE
    SELECT array_agg(id::text) INTO ids FROM (SELECT DISTINCT id FROM changed_rows LIMIT 201) AS d;
  END IF;
  IF ids IS NOT NULL THEN
    PERFORM pg_notify('environment_keys', CASE WHEN cardinality(ids) > 200 THEN '*' ELSE array_to_string(ids, ',') END);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "environment_api_keys_inserted_notify" AFTER INSERT ON "environment_api_keys" REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_environment_key_changes"();
--> statement-breakpoint
CREATE TRIGGER "environment_api_keys_updated_notify" AFTER UPDATE ON "environment_api_keys" REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_environment_key_changes"();
--> statement-breakpoint
CREATE TRIGGER "environment_api_keys_deleted_notify" AFTER DELETE ON "environment_api_keys" REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_environment_key_changes"();
--> statement-breakpoint
CREATE TRIGGER "environment_api_keys_truncated_notify" AFTER TRUNCATE ON "environment_api_keys" FOR EACH STATEMENT EXECUTE FUNCTION "notify_environment_key_changes"();
--> statement-breakpoint
CREATE FUNCTION "notify_environment_client_key_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('environment_keys', NEW.id::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Client keys do not change today; a row trigger (transition tables do not allow column lists) keeps
-- the revision bumps of every flag change from notifying.
CREATE TRIGGER "environments_client_key_updated_notify" AFTER UPDATE OF "api_key" ON "environments" FOR EACH ROW WHEN (OLD."api_key" IS DISTINCT FROM NEW."api_key") EXECUTE FUNCTION "notify_environment_client_key_changed"();
--> statement-breakpoint
CREATE TRIGGER "environments_deleted_notify" AFTER DELETE ON "environments" REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "notify_environment_key_changes"();
--> statement-breakpoint
CREATE TRIGGER "environments_truncated_notify" AFTER TRUNCATE ON "environments" FOR EACH STATEMENT EXECUTE FUNCTION "notify_environment_key_changes"();
