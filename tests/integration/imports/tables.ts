import { rowCounts } from "../support/fixtures";

/** Every table an import writes (and the job queue): counted before and after to show what an import or a preview left. */
export const IMPORT_TABLES = [
  "organisations",
  "projects",
  "environments",
  "environment_api_keys",
  "features",
  "multivariate_options",
  "segments",
  "identities",
  "traits",
  "feature_states",
  "multivariate_state_values",
  "audit_log",
  "graphile_worker._private_jobs",
] as const;

export const countImportRows = () => rowCounts(IMPORT_TABLES);
