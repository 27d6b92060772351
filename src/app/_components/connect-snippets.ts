/**
 * The Connect page's catalogue: copyable set-up snippets for every way an application reaches an
 * environment, as data (pure: no React, no server code, no I/O), filled in with this instance's
 * API URL and the environment's client-side key. Server-side keys are never filled in: snippets
 * that need one carry SERVER_KEY_PLACEHOLDER.
 *
 * Each snippet was written against the SDK's current initialisation API (Flagsmith's SDK docs and
 * sources: flagsmith 9 / flagsmith/react, flagsmith-nodejs 8 (named `Flagsmith` export), Python
 * `flagsmith`, Go `flagsmith-go-client/v5` (context arguments), Java `FlagsmithConfig.newBuilder()`,
 * .NET `FlagsmithConfiguration`, Ruby `Flagsmith::Client`, PHP `Flagsmith`, iOS `Flagsmith.shared`
 * with a `URL` base, Android `Flagsmith(baseUrl = …)`, Flutter `FlagsmithConfig(baseURI: …)`,
 * `@openfeature/flagsmith-provider` 0.1 (`FlagsmithOpenFeatureProvider` around a flagsmith-nodejs
 * client), `@openfeature/ofrep-provider` 0.1 (`OFREPProvider({ baseUrl, headers })`),
 * `@openfeature/ofrep-web-provider` 0.4 (`OFREPWebProvider`, event streams from the bulk answer's
 * `eventStreams`), flagsmith 10 with `realtime: true` and `eventSourceUrl`). The Node snippet is run
 * by the e2e suite against a live instance.
 *
 * EXTENSION POINT — adding a protocol (OFREP, …; flagd gRPC sync is one): write a `SectionBuilder`
 * (`(context) => ConnectSection | null`, null when it does not apply, e.g. a protocol the project
 * has not turned on) and append it to `SECTION_BUILDERS` below. `connectSnippets(instance,
 * environment)` returns the sections in that order; the Connect page renders whatever it returns
 * (a heading, install line, docs link and one copyable block per snippet), so nothing else changes.
 */

/** Where this Flagpost instance is reached (the browser's origin on the Connect page). */
export interface ConnectInstance {
  /** e.g. `https://flags.example.com` (no trailing slash). */
  origin: string;
  /** Where the web process serves flagd gRPC sync (`flagd.status`'s `grpcSync`); absent or null: not served. */
  flagdSync?: FlagdSyncAddress | null;
}

/** flagd gRPC sync of an instance: on the origin's host name, at its own port. */
export interface FlagdSyncAddress {
  port: number;
  tls: boolean;
}

export interface ConnectEnvironment {
  name: string;
  /** The environment's client-side key (public: it ships in browsers and apps). */
  clientKey: string;
  /** The project publishes flagd documents (Project settings → flagd). */
  flagdEnabled: boolean;
  /** A feature of the project to show in the snippets (default `my_feature`). */
  exampleFeature?: string;
  /** OFREP is served for the organisation (the `ofrep_api` gate; default on). */
  ofrepEnabled?: boolean;
  /** Real-time event streams are served for the organisation (the `realtime_streams` gate; default on). */
  realtimeEnabled?: boolean;
}

export interface Snippet {
  id: string;
  /** e.g. "Remote evaluation", "Local evaluation". */
  label: string;
  /** Language of the code (for the reader and assistive technology). */
  language: string;
  code: string;
  /** A line under the code: what the snippet needs or does. */
  note?: string;
}

export interface ConnectSection {
  id: string;
  title: string;
  /** Client-side SDKs use the environment's client key; server-side ones a server key (placeholder). */
  keyKind: "client" | "server";
  /** The package to install, as its ecosystem's command. */
  install: string;
  docsUrl: string;
  /** One sentence: what it is for. */
  summary: string;
  snippets: Snippet[];
}

export interface SectionContext {
  /** `<origin>/api/v1/` — what every Flagsmith SDK calls its API URL. */
  apiUrl: string;
  origin: string;
  /** flagd gRPC sync of the instance, if it serves it. */
  flagdSync: FlagdSyncAddress | null;
  environment: ConnectEnvironment;
  clientKey: string;
  serverKey: string;
  feature: string;
}

export type SectionBuilder = (context: SectionContext) => ConnectSection | null;

/** Stands where a server-side key goes; create one under Environment settings → SDK keys. */
export const SERVER_KEY_PLACEHOLDER = "ser.YOUR_SERVER_KEY";

/** The Flagsmith SDK API of an instance: `<origin>/api/v1/` (trailing slash: the SDKs append paths). */
export function apiUrlOf(instance: ConnectInstance): string {
  return `${instance.origin.replace(/\/+$/, "")}/api/v1/`;
}

/** flagd started against this instance's flagd sync endpoint (HTTP polling every 5 s). */
export function flagdStartCommand(instance: ConnectInstance, serverKey: string = SERVER_KEY_PLACEHOLDER): string {
  const sources = JSON.stringify([{ uri: `${instance.origin.replace(/\/+$/, "")}/api/v1/flagd/flags.json`, provider: "http", authHeader: `Bearer ${serverKey}`, interval: 5 }]);
  return `flagd start --sources='${sources}'`;
}

/** The host name gRPC clients use for this instance: the origin's (without brackets for IPv6). */
export function grpcHostOf(instance: ConnectInstance): string {
  return new URL(instance.origin).hostname.replace(/^\[(.*)\]$/, "$1");
}

/** `host:port` as flagd's `grpc` source and gRPC targets write it. */
function grpcTarget(instance: ConnectInstance, sync: FlagdSyncAddress): string {
  const host = grpcHostOf(instance);
  return `${host.includes(":") ? `[${host}]` : host}:${sync.port}`;
}

/** flagd started against this instance's gRPC sync (documents pushed as they are published); the selector is the server key. */
export function flagdGrpcStartCommand(instance: ConnectInstance, sync: FlagdSyncAddress, serverKey: string = SERVER_KEY_PLACEHOLDER): string {
  const sources = JSON.stringify([{ uri: grpcTarget(instance, sync), provider: "grpc", ...(sync.tls ? { tls: true } : {}), selector: serverKey }]);
  return `flagd start --sources='${sources}'`;
}

/** The official Node.js flagd provider evaluating in-process, synced from this instance over gRPC. */
export function flagdInProcessSnippet(instance: ConnectInstance, sync: FlagdSyncAddress, serverKey: string = SERVER_KEY_PLACEHOLDER, feature = "my_feature"): string {
  return `import { OpenFeature } from "@openfeature/server-sdk";
import { FlagdProvider } from "@openfeature/flagd-provider";

await OpenFeature.setProviderAndWait(
  new FlagdProvider({
    resolverType: "in-process",
    host: "${grpcHostOf(instance)}",
    port: ${sync.port},
    tls: ${sync.tls},
    selector: "${serverKey}",
  }),
);

// The targeting key is the identity; traits are top-level attributes.
const client = OpenFeature.getClient();
const details = await client.getStringDetails("${feature}", "off", { targetingKey: "user-123", plan: "beta" });
console.log(details.value, details.reason);

// Flagpost pushes every change: later evaluations see it at once (PROVIDER_CONFIGURATION_CHANGED).
await OpenFeature.close(); // when your process stops`;
}

const SERVER_SIDE_DOCS = "https://docs.flagsmith.com/clients/server-side";
const LOCAL_NOTE = "Local evaluation polls the environment document (server-side keys only) and evaluates in your process.";

const javascript: SectionBuilder = ({ apiUrl, origin, clientKey, feature, environment }) => ({
  id: "javascript",
  title: "JavaScript (browser)",
  keyKind: "client",
  install: "npm install flagsmith",
  docsUrl: "https://docs.flagsmith.com/clients/javascript",
  summary: "Browsers and single-page apps; flags are fetched with the client-side key.",
  snippets: [
    {
      id: "javascript-remote",
      label: "Remote evaluation",
      language: "JavaScript",
      code: `import flagsmith from "flagsmith";

await flagsmith.init({
  environmentID: "${clientKey}",
  api: "${apiUrl}",
});
console.log(flagsmith.hasFeature("${feature}"), flagsmith.getValue("${feature}"));

// Flags for a signed-in user (segments, identity overrides, splits):
await flagsmith.identify("user-123", { plan: "beta" });
console.log(flagsmith.hasFeature("${feature}"));`,
    },
    ...(environment.realtimeEnabled === false
      ? []
      : [
          {
            id: "javascript-realtime",
            label: "Real-time updates",
            language: "JavaScript",
            code: `import flagsmith from "flagsmith";

await flagsmith.init({
  environmentID: "${clientKey}",
  api: "${apiUrl}",
  realtime: true,
  eventSourceUrl: "${origin}/", // this instance's event streams (the default is Flagsmith's SaaS)
  onChange: (previous, { flagsChanged }) => {
    // Called again whenever a change is pushed: no reload, no polling.
    console.log(flagsChanged, flagsmith.getValue("${feature}"));
  },
});`,
            note: `The client listens on ${origin}/sse/environments/${clientKey}/stream and fetches its flags again when the environment changes.`,
          },
        ]),
  ],
});

/** `<origin>/sse/environments/<client key>/stream`: Flagsmith's real-time wire (the flagsmith JS client's `eventSourceUrl` + this path). */
export function flagsmithStreamUrlOf(instance: ConnectInstance, clientKey: string): string {
  return `${instance.origin.replace(/\/+$/, "")}/sse/environments/${encodeURIComponent(clientKey)}/stream`;
}

/** The OFREP base URL of an instance (the providers' `baseUrl`: they append `/ofrep/v1/…`). */
export function ofrepBaseUrlOf(instance: ConnectInstance): string {
  return instance.origin.replace(/\/+$/, "");
}

const react: SectionBuilder = ({ apiUrl, clientKey, feature }) => ({
  id: "react",
  title: "React",
  keyKind: "client",
  install: "npm install flagsmith",
  docsUrl: "https://docs.flagsmith.com/clients/react",
  summary: "A provider and hooks (flagsmith/react) that re-render only the components whose flags change.",
  snippets: [
    {
      id: "react-remote",
      label: "Remote evaluation",
      language: "JSX",
      code: `import flagsmith from "flagsmith";
import { FlagsmithProvider, useFlags } from "flagsmith/react";

export function AppRoot({ children }) {
  return (
    <FlagsmithProvider flagsmith={flagsmith} options={{ environmentID: "${clientKey}", api: "${apiUrl}" }}>
      {children}
    </FlagsmithProvider>
  );
}

export function Example() {
  const flags = useFlags(["${feature}"]);
  return flags${accessor(feature)}.enabled ? <p>{String(flags${accessor(feature)}.value)}</p> : null;
}`,
    },
  ],
});

/** `.name` when `name` is a JavaScript identifier, else `["name"]`. */
function accessor(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/** Feature names that read safely inside any of the snippets' string literals. */
const SAFE_FEATURE_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

const node: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "node",
  title: "Node.js",
  keyKind: "server",
  install: "npm install flagsmith-nodejs",
  docsUrl: `${SERVER_SIDE_DOCS}?language=nodejs`,
  summary: "Servers and scripts; remote evaluation asks Flagpost, local evaluation runs the engine in your process.",
  snippets: [
    {
      id: "node-remote",
      label: "Remote evaluation",
      language: "JavaScript (ES module)",
      code: `import { Flagsmith } from "flagsmith-nodejs";

const flagsmith = new Flagsmith({
  environmentKey: "${serverKey}",
  apiUrl: "${apiUrl}",
});

const flags = await flagsmith.getEnvironmentFlags();
for (const flag of flags.allFlags()) {
  console.log(flag.featureName, flag.enabled, flag.value);
}

// Flags for one user (segments, identity overrides, splits):
// const userFlags = await flagsmith.getIdentityFlags("user-123", { plan: "beta" });
// console.log(userFlags.isFeatureEnabled("${feature}"));`,
      note: "Save as flags.mjs and run with node flags.mjs: it prints every flag of this environment.",
    },
    {
      id: "node-local",
      label: "Local evaluation",
      language: "JavaScript (ES module)",
      code: `import { Flagsmith } from "flagsmith-nodejs";

const flagsmith = new Flagsmith({
  environmentKey: "${serverKey}",
  apiUrl: "${apiUrl}",
  enableLocalEvaluation: true,
  environmentRefreshIntervalSeconds: 60,
});

const flags = await flagsmith.getIdentityFlags("user-123", { plan: "beta" });
console.log(flags.isFeatureEnabled("${feature}"), flags.getFeatureValue("${feature}"));

await flagsmith.close(); // stops polling the environment document`,
      note: LOCAL_NOTE,
    },
  ],
});

const python: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "python",
  title: "Python",
  keyKind: "server",
  install: "pip install flagsmith",
  docsUrl: `${SERVER_SIDE_DOCS}?language=python`,
  summary: "The flagsmith package for Python services.",
  snippets: [
    {
      id: "python-remote",
      label: "Remote evaluation",
      language: "Python",
      code: `from flagsmith import Flagsmith

flagsmith = Flagsmith(
    environment_key="${serverKey}",
    api_url="${apiUrl}",
)

flags = flagsmith.get_environment_flags()
print(flags.is_feature_enabled("${feature}"), flags.get_feature_value("${feature}"))

identity_flags = flagsmith.get_identity_flags(identifier="user-123", traits={"plan": "beta"})
print(identity_flags.is_feature_enabled("${feature}"))`,
    },
    {
      id: "python-local",
      label: "Local evaluation",
      language: "Python",
      code: `from flagsmith import Flagsmith

flagsmith = Flagsmith(
    environment_key="${serverKey}",
    api_url="${apiUrl}",
    enable_local_evaluation=True,
    environment_refresh_interval_seconds=60,
)

identity_flags = flagsmith.get_identity_flags(identifier="user-123", traits={"plan": "beta"})
print(identity_flags.is_feature_enabled("${feature}"))`,
      note: LOCAL_NOTE,
    },
  ],
});

const goProgram = (apiUrl: string, serverKey: string, feature: string, local: boolean) => `package main

import (
	"context"
	"fmt"

	flagsmith "github.com/Flagsmith/flagsmith-go-client/v5"
)

func main() {
	ctx := context.Background()
	client := flagsmith.NewClient("${serverKey}",
		flagsmith.WithBaseURL("${apiUrl}"),${local ? "\n\t\tflagsmith.WithLocalEvaluation(ctx),\n\t\tflagsmith.WithEnvironmentRefreshInterval(60*time.Second)," : ""}
	)

	flags, err := client.GetEnvironmentFlags(ctx)
	if err != nil {
		panic(err)
	}
	enabled, _ := flags.IsFeatureEnabled("${feature}")
	value, _ := flags.GetFeatureValue("${feature}")
	fmt.Println(enabled, value)
}`;

const go: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "go",
  title: "Go",
  keyKind: "server",
  install: "go get github.com/Flagsmith/flagsmith-go-client/v5",
  docsUrl: `${SERVER_SIDE_DOCS}?language=go`,
  summary: "flagsmith-go-client v5: every call takes a context.",
  snippets: [
    { id: "go-remote", label: "Remote evaluation", language: "Go", code: goProgram(apiUrl, serverKey, feature, false) },
    {
      id: "go-local",
      label: "Local evaluation",
      language: "Go",
      code: goProgram(apiUrl, serverKey, feature, true).replace('\t"fmt"\n', '\t"fmt"\n\t"time"\n'),
      note: `${LOCAL_NOTE} The context passed to WithLocalEvaluation bounds the polling.`,
    },
  ],
});

const javaClient = (apiUrl: string, serverKey: string, feature: string, local: boolean) => `import com.flagsmith.FlagsmithClient;
import com.flagsmith.config.FlagsmithConfig;
import com.flagsmith.models.Flags;

FlagsmithClient flagsmith = FlagsmithClient.newBuilder()
    .setApiKey("${serverKey}")
    .withConfiguration(FlagsmithConfig.newBuilder()
        .baseUri("${apiUrl}")${local ? "\n        .withLocalEvaluation(true)\n        .withEnvironmentRefreshIntervalSeconds(60)" : ""}
        .build())
    .build();

Flags flags = flagsmith.getEnvironmentFlags();
boolean enabled = flags.isFeatureEnabled("${feature}");
Object value = flags.getFeatureValue("${feature}");`;

const java: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "java",
  title: "Java",
  keyKind: "server",
  install: "implementation 'com.flagsmith:flagsmith-java-client:<version>'  // Gradle, from Maven Central",
  docsUrl: `${SERVER_SIDE_DOCS}?language=java`,
  summary: "flagsmith-java-client (JDK 11+).",
  snippets: [
    { id: "java-remote", label: "Remote evaluation", language: "Java", code: javaClient(apiUrl, serverKey, feature, false) },
    { id: "java-local", label: "Local evaluation", language: "Java", code: javaClient(apiUrl, serverKey, feature, true), note: LOCAL_NOTE },
  ],
});

const dotnetClient = (apiUrl: string, serverKey: string, feature: string, local: boolean) => `using Flagsmith;

var flagsmith = new FlagsmithClient(new FlagsmithConfiguration
{
    EnvironmentKey = "${serverKey}",
    ApiUrl = "${apiUrl}",${local ? "\n    EnableClientSideEvaluation = true,\n    EnvironmentRefreshIntervalSeconds = 60," : ""}
});

var flags = await flagsmith.GetEnvironmentFlags();
var enabled = await flags.IsFeatureEnabled("${feature}");
var value = await flags.GetFeatureValue("${feature}");`;

const dotnet: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "dotnet",
  title: ".NET",
  keyKind: "server",
  install: "dotnet add package Flagsmith",
  docsUrl: `${SERVER_SIDE_DOCS}?language=dotnet`,
  summary: "The Flagsmith NuGet package for .NET services.",
  snippets: [
    { id: "dotnet-remote", label: "Remote evaluation", language: "C#", code: dotnetClient(apiUrl, serverKey, feature, false) },
    {
      id: "dotnet-local",
      label: "Local evaluation",
      language: "C#",
      code: dotnetClient(apiUrl, serverKey, feature, true),
      note: `${LOCAL_NOTE} (.NET calls it client-side evaluation.)`,
    },
  ],
});

const rubyClient = (apiUrl: string, serverKey: string, feature: string, local: boolean) => `require "flagsmith"

flagsmith = Flagsmith::Client.new(
  environment_key: "${serverKey}",
  api_url: "${apiUrl}"${local ? ",\n  enable_local_evaluation: true,\n  environment_refresh_interval_seconds: 60" : ""}
)

flags = flagsmith.get_environment_flags
puts flags.is_feature_enabled("${feature}")
puts flags.get_feature_value("${feature}")`;

const ruby: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "ruby",
  title: "Ruby",
  keyKind: "server",
  install: "gem install flagsmith",
  docsUrl: `${SERVER_SIDE_DOCS}?language=ruby`,
  summary: "The flagsmith gem.",
  snippets: [
    { id: "ruby-remote", label: "Remote evaluation", language: "Ruby", code: rubyClient(apiUrl, serverKey, feature, false) },
    { id: "ruby-local", label: "Local evaluation", language: "Ruby", code: rubyClient(apiUrl, serverKey, feature, true), note: LOCAL_NOTE },
  ],
});

const php: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "php",
  title: "PHP",
  keyKind: "server",
  install: "composer require flagsmith/flagsmith-php-client",
  docsUrl: `${SERVER_SIDE_DOCS}?language=php`,
  summary: "flagsmith-php-client (PHP 7.4+, ships with Guzzle).",
  snippets: [
    {
      id: "php-remote",
      label: "Remote evaluation",
      language: "PHP",
      code: `<?php
use Flagsmith\\Flagsmith;

$flagsmith = new Flagsmith('${serverKey}', '${apiUrl}');

$flags = $flagsmith->getEnvironmentFlags();
var_dump($flags->isFeatureEnabled('${feature}'), $flags->getFeatureValue('${feature}'));`,
    },
    {
      id: "php-local",
      label: "Local evaluation",
      language: "PHP",
      // The PHP SDK evaluates locally when given an environment TTL (> 0) and a PSR-16 cache: each PHP
      // request is separate, so the environment document lives in the cache between them.
      code: `<?php
// composer require symfony/cache   (any PSR-16 cache will do)
use Flagsmith\Flagsmith;
use Symfony\Component\Cache\Adapter\FilesystemAdapter;
use Symfony\Component\Cache\Psr16Cache;

// The 4th argument is the environment document's TTL in seconds: > 0 turns local evaluation on.
$flagsmith = (new Flagsmith('${serverKey}', '${apiUrl}', null, 60))
    ->withCache(new Psr16Cache(new FilesystemAdapter('flagsmith')));

$flags = $flagsmith->getIdentityFlags('user-123', (object) ['plan' => 'pro']);
var_dump($flags->isFeatureEnabled('${feature}'), $flags->getFeatureValue('${feature}'));`,
      note: LOCAL_NOTE,
    },
  ],
});

const swift: SectionBuilder = ({ apiUrl, clientKey, feature }) => ({
  id: "swift",
  title: "Swift (iOS, macOS)",
  keyKind: "client",
  install: 'Swift Package Manager: .package(url: "https://github.com/Flagsmith/flagsmith-ios-client.git", from: "<version>")',
  docsUrl: "https://docs.flagsmith.com/clients/ios",
  summary: "FlagsmithClient, set up once (e.g. in application(_:didFinishLaunchingWithOptions:)).",
  snippets: [
    {
      id: "swift-remote",
      label: "Remote evaluation",
      language: "Swift",
      code: `import FlagsmithClient

Flagsmith.shared.apiKey = "${clientKey}"
Flagsmith.shared.baseURL = URL(string: "${apiUrl}")!

Flagsmith.shared.getFeatureFlags(forIdentity: "user-123") { result in
    switch result {
    case .success(let flags):
        for flag in flags where flag.feature.name == "${feature}" {
            print(flag.enabled, flag.value.stringValue ?? "nil")
        }
    case .failure(let error):
        print(error)
    }
}`,
    },
  ],
});

const kotlin: SectionBuilder = ({ apiUrl, clientKey, feature }) => ({
  id: "kotlin",
  title: "Kotlin (Android)",
  keyKind: "client",
  install: 'implementation("com.flagsmith:flagsmith-kotlin-android-client:<version>")',
  docsUrl: "https://docs.flagsmith.com/clients/android",
  summary: "flagsmith-kotlin-android-client, created in your Activity or Application.",
  snippets: [
    {
      id: "kotlin-remote",
      label: "Remote evaluation",
      language: "Kotlin",
      code: `val flagsmith = Flagsmith(
    environmentKey = "${clientKey}",
    baseUrl = "${apiUrl}",
    context = applicationContext,
)

flagsmith.getFeatureFlags(identity = "user-123") { result ->
    result.fold(
        onSuccess = { flags ->
            flags.filter { it.feature.name == "${feature}" }
                .forEach { Log.i("Flagsmith", "enabled: \${it.enabled} value: \${it.featureStateValue}") }
        },
        onFailure = { error -> Log.e("Flagsmith", "Could not get flags", error) },
    )
}`,
    },
  ],
});

const flutter: SectionBuilder = ({ apiUrl, clientKey, feature }) => ({
  id: "flutter",
  title: "Flutter",
  keyKind: "client",
  install: "flutter pub add flagsmith",
  docsUrl: "https://docs.flagsmith.com/clients/flutter",
  summary: "The flagsmith package for iOS, Android and web targets.",
  snippets: [
    {
      id: "flutter-remote",
      label: "Remote evaluation",
      language: "Dart",
      code: `import 'package:flagsmith/flagsmith.dart';

final flagsmith = await FlagsmithClient.init(
  apiKey: '${clientKey}',
  config: const FlagsmithConfig(baseURI: '${apiUrl}'),
);
await flagsmith.getFeatureFlags(reload: true);

final enabled = await flagsmith.isFeatureFlagEnabled('${feature}');
final value = await flagsmith.getFeatureFlagValue('${feature}');`,
    },
  ],
});

const openFeature: SectionBuilder = ({ apiUrl, serverKey, feature }) => ({
  id: "openfeature",
  title: "OpenFeature (Node.js)",
  keyKind: "server",
  install: "npm install @openfeature/server-sdk @openfeature/flagsmith-provider flagsmith-nodejs",
  docsUrl: "https://www.npmjs.com/package/@openfeature/flagsmith-provider",
  summary: "The vendor-neutral OpenFeature API with the Flagsmith provider: the targeting key is the identity.",
  snippets: [
    {
      id: "openfeature-remote",
      label: "Remote evaluation",
      language: "JavaScript (ES module)",
      code: `import { OpenFeature } from "@openfeature/server-sdk";
import { FlagsmithOpenFeatureProvider } from "@openfeature/flagsmith-provider";
import { Flagsmith } from "flagsmith-nodejs";

const flagsmith = new Flagsmith({
  environmentKey: "${serverKey}",
  apiUrl: "${apiUrl}",
});
await OpenFeature.setProviderAndWait(new FlagsmithOpenFeatureProvider(flagsmith));

const client = OpenFeature.getClient();
const enabled = await client.getBooleanValue("${feature}", false, { targetingKey: "user-123", traits: { plan: "beta" } });
console.log(enabled);

await OpenFeature.clearProviders();`,
    },
  ],
});

const OFREP_CONTEXT_NOTE = "targetingKey is the Flagsmith identity; other attributes are traits, used for this evaluation only (never stored).";

const ofrepServer: SectionBuilder = ({ origin, serverKey, feature, environment }) =>
  environment.ofrepEnabled === false
    ? null
    : {
        id: "ofrep-server",
        title: "OFREP (server-side OpenFeature)",
        keyKind: "server",
        install: "npm install @openfeature/server-sdk @openfeature/ofrep-provider",
        docsUrl: "https://www.npmjs.com/package/@openfeature/ofrep-provider",
        summary: "Any OpenFeature SDK with its OFREP provider evaluates remotely with Flagsmith's exact semantics; shown here for Node.js.",
        snippets: [
          {
            id: "ofrep-server-remote",
            label: "Remote evaluation",
            language: "JavaScript (ES module)",
            code: `import { OpenFeature } from "@openfeature/server-sdk";
import { OFREPProvider } from "@openfeature/ofrep-provider";

await OpenFeature.setProviderAndWait(new OFREPProvider({
  baseUrl: "${origin}",
  headers: [["Authorization", "Bearer ${serverKey}"]],
}));

const client = OpenFeature.getClient();
const context = { targetingKey: "user-123", plan: "beta" };
// On/off flags: getBooleanValue; remote config: getStringValue / getNumberValue / getObjectValue.
console.log(await client.getBooleanDetails("${feature}", false, context));

await OpenFeature.close();`,
            note: OFREP_CONTEXT_NOTE,
          },
        ],
      };

const ofrepWeb: SectionBuilder = ({ origin, clientKey, feature, environment }) =>
  environment.ofrepEnabled === false
    ? null
    : {
        id: "ofrep-web",
        title: "OFREP (browser OpenFeature)",
        keyKind: "client",
        install: "npm install @openfeature/web-sdk @openfeature/ofrep-web-provider",
        docsUrl: "https://www.npmjs.com/package/@openfeature/ofrep-web-provider",
        summary:
          environment.realtimeEnabled === false
            ? "The OpenFeature web SDK evaluates every flag for the user's context in one request, and polls for changes."
            : "The OpenFeature web SDK evaluates every flag for the user's context in one request; changes are pushed over an event stream.",
        snippets: [
          {
            id: "ofrep-web-remote",
            label: "Remote evaluation",
            language: "JavaScript",
            code: `import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";

await OpenFeature.setProviderAndWait(
  new OFREPWebProvider({
    baseUrl: "${origin}",
    headers: [["Authorization", "Bearer ${clientKey}"]],
  }),
  { targetingKey: "user-123", plan: "beta" },
);

const client = OpenFeature.getClient();
console.log(client.getBooleanValue("${feature}", false));
client.addHandler(ProviderEvents.ConfigurationChanged, () => {
  console.log("changed:", client.getBooleanValue("${feature}", false));
});`,
            note:
              environment.realtimeEnabled === false
                ? `${OFREP_CONTEXT_NOTE} The provider polls every 30 seconds (pollInterval).`
                : `${OFREP_CONTEXT_NOTE} The provider opens ${origin}/sse/environments/${clientKey}/ofrep (announced by the server) and re-fetches on each change; polling is only its fallback.`,
          },
        ],
      };

const flagd: SectionBuilder = ({ origin, serverKey, environment }) => ({
  id: "flagd",
  title: "flagd",
  keyKind: "server",
  install: "flagd: a release binary or the ghcr.io/open-feature/flagd image",
  docsUrl: "https://flagd.dev",
  summary: environment.flagdEnabled
    ? "flagd polls this environment's flag-definition document; any OpenFeature flagd provider then evaluates against flagd."
    : "Turn on Project settings → flagd first: until then the flagd endpoints answer 404.",
  snippets: [
    {
      id: "flagd-http",
      label: "HTTP sync",
      language: "Shell",
      code: flagdStartCommand({ origin }, serverKey),
      note: "flagd sends the key as Authorization: Bearer … and re-reads the document every 5 seconds (304 while unchanged).",
    },
  ],
});

const flagdInProcess: SectionBuilder = ({ origin, flagdSync, serverKey, environment, feature }) => {
  if (!flagdSync) return null;
  const instance = { origin };
  return {
    id: "flagd-grpc",
    title: "flagd in-process (gRPC sync)",
    keyKind: "server",
    install: "npm install @openfeature/server-sdk @openfeature/flagd-provider",
    docsUrl: "https://flagd.dev/providers/nodejs/",
    summary: environment.flagdEnabled
      ? "OpenFeature's flagd providers evaluate in your process from a document Flagpost pushes over gRPC as soon as it changes (flagd itself can read the same stream)."
      : "Turn on Project settings → flagd first: until then gRPC sync answers NOT_FOUND.",
    snippets: [
      {
        id: "flagd-grpc-node",
        label: "Node.js provider",
        language: "JavaScript (ES module)",
        code: flagdInProcessSnippet(instance, flagdSync, serverKey, feature),
        note: `The selector is the server-side key: keep it secret${flagdSync.tls ? "" : ", and this port on a private network (or set FLAGD_SYNC_TLS_CERT_FILE and FLAGD_SYNC_TLS_KEY_FILE)"}. The provider also reports it as each evaluation's flag metadata "scope".`,
      },
      {
        id: "flagd-grpc-daemon",
        label: "flagd gRPC sync",
        language: "Shell",
        code: flagdGrpcStartCommand(instance, flagdSync, serverKey),
        note: "flagd keeps one stream open and gets each new document as it is published, instead of polling.",
      },
    ],
  };
};

/** The catalogue, in display order: client-side SDKs, server-side SDKs, OpenFeature (Flagsmith provider, OFREP), flagd. Append new protocols here. */
export const SECTION_BUILDERS: readonly SectionBuilder[] = [javascript, react, swift, kotlin, flutter, node, python, go, java, dotnet, ruby, php, openFeature, ofrepServer, ofrepWeb, flagd, flagdInProcess];

/** Every connect section for an environment of this instance (the extension point: see the module comment). */
export function connectSnippets(instance: ConnectInstance, environment: ConnectEnvironment, builders: readonly SectionBuilder[] = SECTION_BUILDERS): ConnectSection[] {
  const context: SectionContext = {
    apiUrl: apiUrlOf(instance),
    origin: instance.origin.replace(/\/+$/, ""),
    flagdSync: instance.flagdSync ?? null,
    environment,
    clientKey: environment.clientKey,
    serverKey: SERVER_KEY_PLACEHOLDER,
    feature: environment.exampleFeature && SAFE_FEATURE_NAME.test(environment.exampleFeature) ? environment.exampleFeature : "my_feature",
  };
  return builders.flatMap((build) => build(context) ?? []);
}
