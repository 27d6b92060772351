import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

type Service = {
  image?: string;
  command?: string[] | string;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
};
const compose = yaml.load(fs.readFileSync(path.resolve(__dirname, "../../../docker-compose.yml"), "utf8")) as { services: Record<string, Service> };

/** Compose's `${VAR:-default}` with the defaults (what `docker compose up` uses without a .env). */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
}

describe("docker-compose.yml", () => {
  it("stack__services__postgresWebWorkerBootstrapAndUpstreamFlagd", () => {
    // Given the compose file
    // When its services are listed
    // Then it defines the whole local stack with the upstream flagd image
    expect(Object.keys(compose.services).sort()).toEqual(["bootstrap", "flagd", "migrate", "postgres", "web", "worker"]);
    expect(compose.services.flagd.image).toMatch(/^ghcr\.io\/open-feature\/flagd:v\d+\.\d+\.\d+$/);
  });

  it("flagd__sources__pollsFlagpostWithTheBootstrappedServerKeyAsBearer", () => {
    // Given flagd's command and the bootstrap's command
    const flagd = (compose.services.flagd.command as string[]).map(interpolate);
    const bootstrap = (compose.services.bootstrap.command as string[]).map(interpolate);

    // When the sources JSON is read
    const sources = JSON.parse(flagd[flagd.indexOf("--sources") + 1]) as { uri: string; provider: string; authHeader: string; interval: number }[];
    const apiKey = bootstrap[bootstrap.indexOf("--api-key") + 1];

    // Then flagd polls the flags.json endpoint over HTTP with `Bearer <the same server key>`
    expect(flagd[0]).toBe("start");
    expect(sources).toEqual([{ uri: "http://web:3000/api/v1/flagd/flags.json", provider: "http", authHeader: `Bearer ${apiKey}`, interval: 5 }]);
    expect(apiKey).toMatch(/^ser\./);
    expect(bootstrap.slice(0, 3)).toEqual(["npm", "run", "bootstrap:flagd"]);
  });

  it("flagd__startOrder__waitsForHealthyWebAndCompletedBootstrap", () => {
    // Given flagd exits when its first sync fails
    // When the start order (depends_on) of flagd and web is read
    // Then flagd starts only after the web answers and the bootstrap finished
    expect(compose.services.flagd.depends_on).toMatchObject({
      web: { condition: "service_healthy" },
      bootstrap: { condition: "service_completed_successfully" },
    });
    expect(compose.services.web.depends_on).toMatchObject({ migrate: { condition: "service_completed_successfully" } });
    expect(compose.services.web.environment).toMatchObject({ HOST: "0.0.0.0" });
  });

  it("webAndWorker__containers__nodeGetsSigtermReadinessHealthcheckAndASnapshotVolume", () => {
    // Given the web and worker services
    const { web, worker } = compose.services;

    // When their commands, health checks and volumes are read
    // Then node runs without npm or a shell in between (SIGTERM reaches it), with time to drain,
    expect(web.command).toEqual(["node", "--import", "tsx", "scripts/launcher.ts", "web"]);
    expect(worker.command).toEqual(["node", "--import", "tsx", "scripts/launcher.ts", "worker"]);
    expect(web.stop_grace_period).toBe("15s");
    // the web's health check is readiness, and last-good documents are kept on a volume
    expect(web.healthcheck?.test.join(" ")).toContain("/api/health/ready");
    expect(web.environment?.FLAGPOST_DOCUMENT_CACHE_DIR).toBe("/var/cache/flagpost");
    expect(web.volumes).toContain("document_cache:/var/cache/flagpost");
  });
});
