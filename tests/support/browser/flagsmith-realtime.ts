/**
 * Browser page (bundled by ../client-pages.ts): the official `flagsmith` JS client with real-time
 * updates on, against a Flagpost instance from another origin. Configured by the query string:
 * `flagpost` (base URL), `key` (client key), optional `identity`. It shows every flag and records
 * each change callback with its time (`window.flagsmithPage`).
 */
import flagsmith from "flagsmith";

const params = new URLSearchParams(location.search);
const base = params.get("flagpost")!.replace(/\/+$/, "");
const changes: Array<{ at: number; flagsChanged: string[] | null }> = [];

function render(): void {
  const flags = flagsmith.getAllFlags();
  const list = document.getElementById("flags")!;
  list.replaceChildren(
    ...Object.entries(flags).map(([name, flag]) => {
      const item = document.createElement("li");
      item.dataset.flag = name;
      item.textContent = `${name}=${JSON.stringify(flag.enabled ? flag.value : null)} enabled=${flag.enabled}`;
      return item;
    }),
  );
}

Object.assign(window, { flagsmithPage: { changes, flags: () => flagsmith.getAllFlags() } });

const identity = params.get("identity");
void flagsmith
  .init({
    environmentID: params.get("key")!,
    api: `${base}/api/v1/`,
    realtime: true,
    eventSourceUrl: `${base}/`,
    ...(identity ? { identity } : {}),
    onChange: (_previous, details) => {
      changes.push({ at: Date.now(), flagsChanged: details.flagsChanged });
      render();
    },
  })
  .then(() => {
    document.body.dataset.ready = "true";
    render();
  });
