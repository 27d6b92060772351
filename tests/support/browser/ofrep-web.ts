/**
 * Browser page (bundled by ../client-pages.ts): the official OpenFeature web SDK with the official
 * OFREP web provider against a Flagpost instance, from another origin. Configured by the query string:
 * `flagpost` (base URL), `key` (client key), `poll` (poll interval, ms), `flags` (comma-separated
 * flag keys to show), optional `targetingKey`. It shows each flag's value and records every
 * provider event with its time (`window.ofrepPage`).
 */
import { OpenFeature, ProviderEvents, type EventDetails } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";

interface RecordedEvent {
  type: string;
  at: number;
  flagsChanged?: string[];
}

const params = new URLSearchParams(location.search);
const flagKeys = (params.get("flags") ?? "").split(",").filter(Boolean);
const events: RecordedEvent[] = [];
const client = OpenFeature.getClient();

/** A flag's details whatever its type (the typed getter that does not report a type mismatch). */
function detailsOf(key: string) {
  const attempts = [() => client.getBooleanDetails(key, false), () => client.getStringDetails(key, ""), () => client.getNumberDetails(key, 0), () => client.getObjectDetails(key, {})];
  let details = attempts[0]();
  for (const attempt of attempts) {
    details = attempt();
    if (details.errorCode !== "TYPE_MISMATCH") break;
  }
  return details;
}

function render(): void {
  const list = document.getElementById("flags")!;
  list.replaceChildren(
    ...flagKeys.map((key) => {
      const item = document.createElement("li");
      const details = detailsOf(key);
      item.dataset.flag = key;
      item.textContent = `${key}=${JSON.stringify(details.value)} (${details.reason})`;
      return item;
    }),
  );
}

function record(type: string): (details?: EventDetails) => void {
  return (details) => {
    events.push({ type, at: Date.now(), flagsChanged: (details as { flagsChanged?: string[] } | undefined)?.flagsChanged });
    render();
  };
}

client.addHandler(ProviderEvents.Ready, record("PROVIDER_READY"));
client.addHandler(ProviderEvents.ConfigurationChanged, record("PROVIDER_CONFIGURATION_CHANGED"));
client.addHandler(ProviderEvents.Stale, record("PROVIDER_STALE"));
client.addHandler(ProviderEvents.Error, record("PROVIDER_ERROR"));

const provider = new OFREPWebProvider({
  baseUrl: params.get("flagpost")!,
  headers: [["Authorization", `Bearer ${params.get("key")}`]],
  pollInterval: Number(params.get("poll") ?? 0),
  cacheMode: "disabled",
});

Object.assign(window, {
  ofrepPage: {
    events,
    details: detailsOf,
  },
});

const targetingKey = params.get("targetingKey");
void OpenFeature.setProviderAndWait(provider, targetingKey ? { targetingKey } : {}).then(() => {
  document.body.dataset.ready = "true";
  render();
});
