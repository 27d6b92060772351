/**
 * Imported first by the worker's entry (main.ts): names the process `worker` (FLAGPOST_PROCESS:
 * its connections' `application_name` and the worker's timeouts, src/server/config.ts) however it
 * was started — by the launcher, `npm run start:worker`, or node directly in a container — before
 * any module reads the settings. An explicit FLAGPOST_PROCESS is kept.
 */
process.env.FLAGPOST_PROCESS ||= "worker";

export {};
