/**
 * The Connect page's snippet catalogue (src/app/_components/connect-snippets.ts): every SDK the
 * page promises, filled in with the instance's API URL and the environment's client key, never a
 * server key, and one place (SECTION_BUILDERS) to add protocols.
 */
import { describe, expect, it } from "vitest";
import {
  apiUrlOf,
  connectSnippets,
  flagdGrpcStartCommand,
  flagdInProcessSnippet,
  flagdStartCommand,
  SECTION_BUILDERS,
  SERVER_KEY_PLACEHOLDER,
  flagsmithStreamUrlOf,
  ofrepBaseUrlOf,
  type ConnectEnvironment,
  type SectionBuilder,
} from "@/app/_components/connect-snippets";

const instance = { origin: "https://flags.example.com" };
const environment: ConnectEnvironment = { name: "Production", clientKey: "cLiEnTkEy1234567890abcd", flagdEnabled: true, exampleFeature: "new_checkout" };

describe("connect snippets", () => {
  it("connectSnippets__anEnvironment__everyPromisedSdkWithDocsAndUniqueIds", () => {
    // Given an environment of an instance
    // When the catalogue is built
    const sections = connectSnippets(instance, environment);

    // Then it has every SDK of the issue, each with an https docs link, an install line and at least one snippet
    expect(sections.map((s) => s.id)).toEqual(["javascript", "react", "swift", "kotlin", "flutter", "node", "python", "go", "java", "dotnet", "ruby", "php", "openfeature", "ofrep-server", "ofrep-web", "flagd"]);
    for (const section of sections) {
      expect(section.docsUrl).toMatch(/^https:\/\//);
      expect(section.install.length).toBeGreaterThan(0);
      expect(section.snippets.length).toBeGreaterThan(0);
    }
    const ids = sections.flatMap((s) => s.snippets.map((snippet) => snippet.id));
    expect(new Set(ids).size).toBe(ids.length);
    // …and remote plus local evaluation where the SDK has both
    for (const sdk of ["node", "python", "go", "java", "dotnet", "ruby", "php"]) {
      expect(sections.find((s) => s.id === sdk)!.snippets.map((s) => s.label)).toEqual(["Remote evaluation", "Local evaluation"]);
    }
  });

  it("connectSnippets__keys__clientKeyFilledServerKeyOnlyAsPlaceholder", () => {
    // Given the catalogue
    const sections = connectSnippets(instance, environment);

    // Then client-side sections carry the client key and the API URL, server-side ones the placeholder
    for (const section of sections) {
      for (const snippet of section.snippets) {
        if (section.keyKind === "client") {
          expect(snippet.code, snippet.id).toContain(environment.clientKey);
          // (OFREP providers take the instance's origin as their base URL; Flagsmith SDKs its API URL)
          expect(snippet.code, snippet.id).toContain(section.id.startsWith("ofrep") ? `baseUrl: "${instance.origin}"` : apiUrlOf(instance));
        } else {
          expect(snippet.code, snippet.id).toContain(SERVER_KEY_PLACEHOLDER);
          expect(snippet.code, snippet.id).not.toContain(environment.clientKey);
        }
        expect(snippet.code, snippet.id).not.toMatch(/ser\.(?!YOUR_SERVER_KEY)[A-Za-z0-9_-]{6,}/);
      }
    }
    expect(apiUrlOf({ origin: "http://127.0.0.1:3000/" })).toBe("http://127.0.0.1:3000/api/v1/");
  });

  it("connectSnippets__currentSdkApis__initialisedAsTheirDocsSay", () => {
    // Given the catalogue
    const code = (id: string) => connectSnippets(instance, environment).flatMap((s) => s.snippets).find((s) => s.id === id)!.code;

    // Then each uses its SDK's current initialisation
    expect(code("node-remote")).toContain('import { Flagsmith } from "flagsmith-nodejs";');
    expect(code("node-remote")).toContain(`apiUrl: "${apiUrlOf(instance)}"`);
    expect(code("node-local")).toContain("enableLocalEvaluation: true");
    expect(code("react-remote")).toContain('from "flagsmith/react"');
    expect(code("react-remote")).toContain("flags.new_checkout.enabled");
    expect(code("javascript-remote")).toContain(`api: "${apiUrlOf(instance)}"`);
    expect(code("python-local")).toContain("enable_local_evaluation=True");
    expect(code("php-local")).toContain("->withCache(new Psr16Cache(");
    expect(code("go-remote")).toContain('flagsmith "github.com/Flagsmith/flagsmith-go-client/v5"');
    expect(code("go-remote")).toContain("client.GetEnvironmentFlags(ctx)");
    expect(code("go-local")).toContain("flagsmith.WithLocalEvaluation(ctx)");
    expect(code("go-local")).toContain('\t"time"\n');
    expect(code("java-local")).toContain(".withLocalEvaluation(true)");
    expect(code("dotnet-local")).toContain("EnableClientSideEvaluation = true");
    expect(code("ruby-local")).toContain("enable_local_evaluation: true");
    expect(code("php-remote")).toContain(`new Flagsmith('${SERVER_KEY_PLACEHOLDER}', '${apiUrlOf(instance)}')`);
    expect(code("swift-remote")).toContain(`Flagsmith.shared.baseURL = URL(string: "${apiUrlOf(instance)}")!`);
    expect(code("kotlin-remote")).toContain(`baseUrl = "${apiUrlOf(instance)}"`);
    expect(code("kotlin-remote")).toContain("${it.enabled}");
    expect(code("flutter-remote")).toContain(`FlagsmithConfig(baseURI: '${apiUrlOf(instance)}')`);
    expect(code("openfeature-remote")).toContain("new FlagsmithOpenFeatureProvider(flagsmith)");
    expect(code("flagd-http")).toBe(flagdStartCommand(instance));
    expect(flagdStartCommand(instance)).toContain('"authHeader":"Bearer ser.YOUR_SERVER_KEY"');
    expect(flagdStartCommand(instance)).toContain('"uri":"https://flags.example.com/api/v1/flagd/flags.json"');
  });

  it("connectSnippets__ofrepAndRealtime__officialProvidersAndFlagsmithRealtimeWithThisInstance", () => {
    // Given the catalogue
    const sections = connectSnippets(instance, environment);
    const code = (id: string) => sections.flatMap((s) => s.snippets).find((s) => s.id === id)!.code;

    // Then the OFREP server provider uses a server key (placeholder), the web provider the client key, both with the
    // instance as base URL; the Flagsmith JS client has real-time updates on, its event source this instance
    expect(sections.find((s) => s.id === "ofrep-server")!.keyKind).toBe("server");
    expect(code("ofrep-server-remote")).toContain('import { OFREPProvider } from "@openfeature/ofrep-provider";');
    expect(code("ofrep-server-remote")).toContain(`headers: [["Authorization", "Bearer ${SERVER_KEY_PLACEHOLDER}"]]`);
    expect(code("ofrep-server-remote")).toContain('targetingKey: "user-123"');
    expect(sections.find((s) => s.id === "ofrep-web")!.keyKind).toBe("client");
    expect(code("ofrep-web-remote")).toContain('import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";');
    expect(code("ofrep-web-remote")).toContain(`headers: [["Authorization", "Bearer ${environment.clientKey}"]]`);
    expect(code("ofrep-web-remote")).toContain("ProviderEvents.ConfigurationChanged");
    expect(code("javascript-realtime")).toContain("realtime: true");
    expect(code("javascript-realtime")).toContain(`eventSourceUrl: "${instance.origin}/"`);
    expect(ofrepBaseUrlOf({ origin: "https://flags.example.com/" })).toBe("https://flags.example.com");
    expect(flagsmithStreamUrlOf(instance, environment.clientKey)).toBe(`https://flags.example.com/sse/environments/${environment.clientKey}/stream`);
  });

  it("connectSnippets__ofrepOrRealtimeGateOff__notOffered", () => {
    // Given an organisation whose ofrep_api gate is off, and one whose realtime_streams gate is off
    // When the catalogue is built for each
    const withoutOfrep = connectSnippets(instance, { ...environment, ofrepEnabled: false });
    const withoutRealtime = connectSnippets(instance, { ...environment, realtimeEnabled: false });

    // Then the OFREP sections are left out, or the real-time snippet is, and the web provider is said to poll
    expect(withoutOfrep.map((s) => s.id)).not.toContain("ofrep-server");
    expect(withoutOfrep.map((s) => s.id)).not.toContain("ofrep-web");
    expect(withoutRealtime.find((s) => s.id === "javascript")!.snippets.map((s) => s.id)).toEqual(["javascript-remote"]);
    expect(withoutRealtime.find((s) => s.id === "ofrep-web")!.snippets[0].note).toContain("polls");
    expect(withoutRealtime.flatMap((s) => s.snippets).some((snippet) => snippet.code.includes("/sse/") || (snippet.note ?? "").includes("/sse/"))).toBe(false);
  });

  it("connectSnippets__unsafeOrMissingExampleFeature__placeholderFeatureName", () => {
    // Given an example feature whose name would break a string literal, and none at all
    // When the catalogue is built
    const quoted = connectSnippets(instance, { ...environment, exampleFeature: 'a"b' });
    const none = connectSnippets(instance, { ...environment, exampleFeature: undefined });

    // Then both use my_feature
    for (const sections of [quoted, none]) expect(sections.find((s) => s.id === "python")!.snippets[0].code).toContain('"my_feature"');
  });

  it("connectSnippets__flagdOff__sectionSaysToTurnItOn", () => {
    // Given a project that does not publish to flagd
    // When the catalogue is built
    const flagd = connectSnippets(instance, { ...environment, flagdEnabled: false }).find((s) => s.id === "flagd")!;

    // Then the flagd section says how to turn it on
    expect(flagd.summary).toContain("Project settings → flagd");
  });

  it("connectSnippets__instanceServingGrpcSync__inProcessProviderAndFlagdGrpcSnippetsOnItsPort", () => {
    // Given an instance whose web process serves flagd gRPC sync on 8015 (plaintext), and one on 9443 with TLS
    const plain = { ...instance, flagdSync: { port: 8015, tls: false } };
    const tls = { origin: "https://[2001:db8::1]", flagdSync: { port: 9443, tls: true } };

    // When the catalogue is built
    const sections = connectSnippets(plain, environment);
    const section = sections.find((s) => s.id === "flagd-grpc")!;
    const code = (id: string) => section.snippets.find((s) => s.id === id)!.code;

    // Then the last section is the in-process provider and flagd's grpc source, with the server key as selector
    expect(sections.at(-1)).toBe(section);
    expect(section.keyKind).toBe("server");
    expect(code("flagd-grpc-node")).toBe(flagdInProcessSnippet(plain, plain.flagdSync, SERVER_KEY_PLACEHOLDER, "new_checkout"));
    expect(code("flagd-grpc-node")).toContain('resolverType: "in-process",\n    host: "flags.example.com",\n    port: 8015,\n    tls: false,\n    selector: "ser.YOUR_SERVER_KEY",');
    expect(code("flagd-grpc-node")).toContain('client.getStringDetails("new_checkout", "off", { targetingKey: "user-123", plan: "beta" })');
    expect(code("flagd-grpc-daemon")).toBe(`flagd start --sources='[{"uri":"flags.example.com:8015","provider":"grpc","selector":"ser.YOUR_SERVER_KEY"}]'`);
    expect(section.snippets[0].note).toContain("private network");
    // …TLS and IPv6 hosts are written as flagd and grpc-js expect them
    expect(flagdGrpcStartCommand(tls, tls.flagdSync)).toBe(`flagd start --sources='[{"uri":"[2001:db8::1]:9443","provider":"grpc","tls":true,"selector":"ser.YOUR_SERVER_KEY"}]'`);
    expect(flagdInProcessSnippet(tls, tls.flagdSync)).toContain('host: "2001:db8::1",\n    port: 9443,\n    tls: true,');
    // …the section says to turn the integration on when it is off, and is absent when gRPC sync is not served
    expect(connectSnippets(plain, { ...environment, flagdEnabled: false }).find((s) => s.id === "flagd-grpc")!.summary).toContain("Project settings → flagd");
    expect(connectSnippets({ ...instance, flagdSync: null }, environment).map((s) => s.id)).not.toContain("flagd-grpc");
  });

  it("connectSnippets__extraBuilder__appendedWhereItIsListed", () => {
    // Given a protocol added at the extension point (as OFREP will be), and one that does not apply
    const ofrep: SectionBuilder = ({ origin, serverKey }) => ({
      id: "ofrep",
      title: "OFREP",
      keyKind: "server",
      install: "any OFREP provider",
      docsUrl: "https://openfeature.dev",
      summary: "OpenFeature Remote Evaluation Protocol.",
      snippets: [{ id: "ofrep-curl", label: "curl", language: "Shell", code: `curl -H 'Authorization: Bearer ${serverKey}' ${origin}/ofrep/v1/evaluate/flags` }],
    });
    const never: SectionBuilder = () => null;

    // When the catalogue is built with them (for an instance serving every protocol listed)
    const sections = connectSnippets({ ...instance, flagdSync: { port: 8015, tls: false } }, environment, [...SECTION_BUILDERS, ofrep, never]);

    // Then the new section comes last, filled in, and the inapplicable one is left out
    expect(sections.at(-1)!.id).toBe("ofrep");
    expect(sections.at(-1)!.snippets[0].code).toBe(`curl -H 'Authorization: Bearer ${SERVER_KEY_PLACEHOLDER}' https://flags.example.com/ofrep/v1/evaluate/flags`);
    expect(sections).toHaveLength(SECTION_BUILDERS.length + 1);
  });
});
