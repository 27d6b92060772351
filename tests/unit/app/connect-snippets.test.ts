/**
 * The Connect page's snippet catalogue (src/app/_components/connect-snippets.ts): every SDK the
 * page promises, filled in with the instance's API URL and the environment's client key, never a
 * server key, and one place (SECTION_BUILDERS) to add protocols.
 */
import { describe, expect, it } from "vitest";
import {
  apiUrlOf,
  connectSnippets,
  flagdStartCommand,
  SECTION_BUILDERS,
  SERVER_KEY_PLACEHOLDER,
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
    expect(sections.map((s) => s.id)).toEqual(["javascript", "react", "swift", "kotlin", "flutter", "node", "python", "go", "java", "dotnet", "ruby", "php", "openfeature", "flagd"]);
    for (const section of sections) {
      expect(section.docsUrl).toMatch(/^https:\/\//);
      expect(section.install.length).toBeGreaterThan(0);
      expect(section.snippets.length).toBeGreaterThan(0);
    }
    const ids = sections.flatMap((s) => s.snippets.map((snippet) => snippet.id));
    expect(new Set(ids).size).toBe(ids.length);
    // …and remote plus local evaluation where the SDK has both
    for (const sdk of ["node", "python", "go", "java", "dotnet", "ruby"]) {
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
          expect(snippet.code, snippet.id).toContain(apiUrlOf(instance));
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

    // When the catalogue is built with them
    const sections = connectSnippets(instance, environment, [...SECTION_BUILDERS, ofrep, never]);

    // Then the new section comes last, filled in, and the inapplicable one is left out
    expect(sections.at(-1)!.id).toBe("ofrep");
    expect(sections.at(-1)!.snippets[0].code).toBe(`curl -H 'Authorization: Bearer ${SERVER_KEY_PLACEHOLDER}' https://flags.example.com/ofrep/v1/evaluate/flags`);
    expect(sections).toHaveLength(SECTION_BUILDERS.length + 1);
  });
});
