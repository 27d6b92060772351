CREATE TABLE "environment_documents" (
	"environment_id" integer PRIMARY KEY NOT NULL,
	"revision" bigint NOT NULL,
	"document" text NOT NULL,
	"sdk_extras" jsonb NOT NULL,
	"flagd_document" text,
	"flagd_etag" text,
	"flagd_diagnostics" jsonb,
	"translator_version" text,
	"environment_updated_at" timestamp (6) with time zone NOT NULL,
	"written_at" timestamp with time zone DEFAULT now() NOT NULL,
	"bytes" integer NOT NULL,
	"feature_states_count" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feature_evaluations" (
	"environment_id" integer NOT NULL,
	"feature_name" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "feature_evaluations_environment_id_feature_name_hour_pk" PRIMARY KEY("environment_id","feature_name","hour")
);
--> statement-breakpoint
ALTER TABLE "environment_documents" ADD CONSTRAINT "environment_documents_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_evaluations" ADD CONSTRAINT "feature_evaluations_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "feature_evaluations_hour_idx" ON "feature_evaluations" USING btree ("hour");