CREATE TYPE "public"."feature_type" AS ENUM('STANDARD', 'MULTIVARIATE');--> statement-breakpoint
CREATE TYPE "public"."scheduled_change_status" AS ENUM('PENDING', 'LIVE', 'CANCELLED', 'FAILED');--> statement-breakpoint
CREATE SEQUENCE "public"."feature_state_hashing_seed_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "feature_states" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"feature_id" integer NOT NULL,
	"environment_id" integer NOT NULL,
	"segment_id" integer,
	"identity_id" bigint,
	"enabled" boolean DEFAULT false NOT NULL,
	"value" jsonb,
	"priority" integer,
	"hashing_seed" bigint DEFAULT nextval('feature_state_hashing_seed_seq') NOT NULL,
	"uuid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "features" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"type" "feature_type" DEFAULT 'STANDARD' NOT NULL,
	"default_enabled" boolean DEFAULT false NOT NULL,
	"initial_value" jsonb,
	"is_server_key_only" boolean DEFAULT false NOT NULL,
	"is_archived" boolean DEFAULT false NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_creating" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "identities" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment_id" integer NOT NULL,
	"identifier" text NOT NULL,
	"uuid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"django_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "multivariate_options" (
	"id" serial PRIMARY KEY NOT NULL,
	"feature_id" integer NOT NULL,
	"value" jsonb,
	"key" text,
	"default_percentage_allocation" double precision DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "multivariate_state_values" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"feature_state_id" bigint NOT NULL,
	"option_id" integer NOT NULL,
	"percentage_allocation" double precision NOT NULL,
	"uuid" uuid DEFAULT gen_random_uuid() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheduled_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment_id" integer NOT NULL,
	"feature_id" integer NOT NULL,
	"segment_id" integer,
	"change" jsonb NOT NULL,
	"live_from" timestamp with time zone NOT NULL,
	"status" "scheduled_change_status" DEFAULT 'PENDING' NOT NULL,
	"created_by_user_id" uuid,
	"created_by_api_key_id" integer,
	"actor_label" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "segments" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer NOT NULL,
	"feature_id" integer,
	"name" text NOT NULL,
	"description" text,
	"rules" jsonb NOT NULL,
	"document_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "traits" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"identity_id" bigint NOT NULL,
	"key" text NOT NULL,
	"value" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "feature_states" ADD CONSTRAINT "feature_states_feature_id_features_id_fk" FOREIGN KEY ("feature_id") REFERENCES "public"."features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_states" ADD CONSTRAINT "feature_states_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_states" ADD CONSTRAINT "feature_states_segment_id_segments_id_fk" FOREIGN KEY ("segment_id") REFERENCES "public"."segments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_states" ADD CONSTRAINT "feature_states_identity_id_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."identities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "features" ADD CONSTRAINT "features_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "identities" ADD CONSTRAINT "identities_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "multivariate_options" ADD CONSTRAINT "multivariate_options_feature_id_features_id_fk" FOREIGN KEY ("feature_id") REFERENCES "public"."features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "multivariate_state_values" ADD CONSTRAINT "multivariate_state_values_feature_state_id_feature_states_id_fk" FOREIGN KEY ("feature_state_id") REFERENCES "public"."feature_states"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "multivariate_state_values" ADD CONSTRAINT "multivariate_state_values_option_id_multivariate_options_id_fk" FOREIGN KEY ("option_id") REFERENCES "public"."multivariate_options"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_changes" ADD CONSTRAINT "scheduled_changes_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_changes" ADD CONSTRAINT "scheduled_changes_feature_id_features_id_fk" FOREIGN KEY ("feature_id") REFERENCES "public"."features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_changes" ADD CONSTRAINT "scheduled_changes_segment_id_segments_id_fk" FOREIGN KEY ("segment_id") REFERENCES "public"."segments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_changes" ADD CONSTRAINT "scheduled_changes_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_changes" ADD CONSTRAINT "scheduled_changes_created_by_api_key_id_organisation_api_keys_id_fk" FOREIGN KEY ("created_by_api_key_id") REFERENCES "public"."organisation_api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "segments" ADD CONSTRAINT "segments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "segments" ADD CONSTRAINT "segments_feature_id_features_id_fk" FOREIGN KEY ("feature_id") REFERENCES "public"."features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traits" ADD CONSTRAINT "traits_identity_id_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."identities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "feature_states_default_uq" ON "feature_states" USING btree ("feature_id","environment_id") WHERE "feature_states"."segment_id" is null and "feature_states"."identity_id" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "feature_states_segment_uq" ON "feature_states" USING btree ("feature_id","environment_id","segment_id") WHERE "feature_states"."segment_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "feature_states_identity_uq" ON "feature_states" USING btree ("feature_id","environment_id","identity_id") WHERE "feature_states"."identity_id" is not null;--> statement-breakpoint
CREATE INDEX "feature_states_environment_idx" ON "feature_states" USING btree ("environment_id");--> statement-breakpoint
CREATE INDEX "feature_states_identity_idx" ON "feature_states" USING btree ("identity_id");--> statement-breakpoint
CREATE INDEX "feature_states_segment_idx" ON "feature_states" USING btree ("segment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "features_project_name_lower_uq" ON "features" USING btree ("project_id",lower("name"));--> statement-breakpoint
CREATE INDEX "features_project_idx" ON "features" USING btree ("project_id");--> statement-breakpoint
CREATE UNIQUE INDEX "identities_environment_identifier_uq" ON "identities" USING btree ("environment_id","identifier");--> statement-breakpoint
CREATE INDEX "multivariate_options_feature_idx" ON "multivariate_options" USING btree ("feature_id");--> statement-breakpoint
CREATE UNIQUE INDEX "multivariate_options_feature_key_uq" ON "multivariate_options" USING btree ("feature_id","key") WHERE "multivariate_options"."key" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "multivariate_state_values_state_option_uq" ON "multivariate_state_values" USING btree ("feature_state_id","option_id");--> statement-breakpoint
CREATE INDEX "scheduled_changes_environment_status_idx" ON "scheduled_changes" USING btree ("environment_id","status","live_from");--> statement-breakpoint
CREATE UNIQUE INDEX "segments_project_name_lower_uq" ON "segments" USING btree ("project_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "segments_project_document_id_uq" ON "segments" USING btree ("project_id",coalesce("document_id", "id"));--> statement-breakpoint
CREATE INDEX "segments_feature_idx" ON "segments" USING btree ("feature_id");--> statement-breakpoint
CREATE UNIQUE INDEX "traits_identity_key_uq" ON "traits" USING btree ("identity_id","key");