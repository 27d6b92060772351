/**
 * Imported first by scripts/web.ts: names the process `web` (FLAGPOST_PROCESS) however it was
 * started — by the launcher, `npm run start:web`, or node directly as a container's PID 1 — before
 * any module reads the settings. The web defaults depend on it: 1.5 s connect and statement
 * timeouts (no request waits more than ~2 s on the database) instead of 5 s / 30 s, and the
 * `application_name` of its connections. An explicit FLAGPOST_PROCESS is kept.
 */
process.env.FLAGPOST_PROCESS ||= "web";

export {};
