import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

type Service = {
  image?: string;
  profiles?: string[];
  restart?: string;
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
    // Then it defines the whole local stack with the upstream flagd image (and, behind a profile, a flagd fed over gRPC sync)
    expect(Object.keys(compose.services).sort()).toEqual(["bootstrap", "flagd", "flagd-grpc", "migrate", "postgres", "web", "worker"]);
    expect(compose.services.flagd.image).toMatch(/^ghcr\.io\/open-feature\/flagd:v\d+\.\d+\.\d+$/);
    expect(compose.services["flagd-grpc"].image).toBe(compose.services.flagd.image);
    expect(compose.services.flagd.profiles).toBeUndefined();
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

  it("flagdGrpc__profileGrpcSync__readsFlagpostsSyncServiceWithTheBootstrappedServerKeyAsSelector", () => {
    // Given the optional gRPC-fed flagd, the web service and the bootstrap's command
    const { web, bootstrap } = compose.services;
    const flagdGrpc = compose.services["flagd-grpc"];
    const command = (flagdGrpc.command as string[]).map(interpolate);
    const apiKey = (bootstrap.command as string[]).map(interpolate)[(bootstrap.command as string[]).indexOf("--api-key") + 1];

    // When its sources JSON, profile, ports and start order are read
    const sources = JSON.parse(command[command.indexOf("--sources") + 1]) as unknown[];

    // Then it runs only with `--profile grpc-sync`, reads web:8015 (the web's FLAGD_SYNC_PORT, bound by FLAGD_SYNC_HOST
    // to the container's interfaces: gRPC sync is on loopback unless told otherwise) as a grpc source with the server
    // key as selector, on host ports that do not clash with the HTTP-fed flagd
    expect(flagdGrpc.profiles).toEqual(["grpc-sync"]);
    expect(command[0]).toBe("start");
    expect(sources).toEqual([{ uri: "web:8015", provider: "grpc", selector: apiKey }]);
    expect(web.environment).toMatchObject({ FLAGD_SYNC_HOST: "0.0.0.0", FLAGD_SYNC_PORT: "8015" });
    expect(flagdGrpc.ports).toEqual(["8023:8013", "8026:8016"]);
    expect(flagdGrpc.ports!.filter((port) => compose.services.flagd.ports!.includes(port))).toEqual([]);
    expect(flagdGrpc.depends_on).toMatchObject({ web: { condition: "service_healthy" }, bootstrap: { condition: "service_completed_successfully" } });
    expect(flagdGrpc.restart).toBe("on-failure");
    // and the host reaches the web's sync port on its loopback only (the selector is a key, the port plaintext)
    expect(web.ports).toContain("127.0.0.1:8015:8015");
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

  it("longRunningServices__restartPolicy__restartUnlessStoppedOneShotsNot", () => {
    // Given the services of the stack
    const { services } = compose;

    // When their restart policies are read
    // Then the database, web and worker come back by themselves (web and worker start without a reachable
    // database, so a restart during an outage serves the snapshot instead of failing), the one-shots do not
    expect(services.postgres.restart).toBe("unless-stopped");
    expect(services.web.restart).toBe("unless-stopped");
    expect(services.worker.restart).toBe("unless-stopped");
    expect(services.migrate.restart).toBeUndefined();
    expect(services.bootstrap.restart).toBeUndefined();
  });
});
