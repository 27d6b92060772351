import { randomBytes } from "node:crypto";
import axe from "axe-core";
import { test as base, expect, type BrowserContext, type Page } from "@playwright/test";

/** Console messages of Content-Security-Policy violations (Chromium reports each as "Refused to …"). */
const CSP_VIOLATION = /Content Security Policy|Refused to (execute|load|apply|connect|frame|evaluate)/i;

/**
 * Console errors and uncaught page errors of every page of a test's browser contexts. A test that
 * provokes one on purpose (a 4xx it asks for) says so with `allow(pattern, why)`; any other fails
 * the test when it ends.
 */
export interface ConsoleErrors {
  /** Every error seen so far ("text (page URL)"), allowed or not. */
  readonly seen: readonly string[];
  /** Accepts errors matching `pattern` for the rest of the test; `why` documents the expectation. */
  allow(pattern: RegExp, why: string): void;
  /**
   * Accepts the browser's report of a request the test makes fail on purpose: an answer with
   * `status` from a URL whose path starts with `path` (e.g. 409, "/api/trpc/features.create").
   */
  allowFailedRequest(status: number, path: string, why: string): void;
  /** Watches another browser context too (the `newContext` fixture does). */
  watch(context: BrowserContext): void;
}

/** Collects CSP violations and console / uncaught errors of `context` (all its pages, present and future). */
function watchContext(context: BrowserContext, csp: string[], errors: string[]): void {
  context.on("console", (message) => {
    const text = message.text();
    if (CSP_VIOLATION.test(text)) csp.push(text);
    else if (message.type() === "error") errors.push(`${text} (${message.location().url || message.page()?.url() || "?"})`);
  });
  context.on("weberror", (error) => errors.push(`uncaught ${error.error().name}: ${error.error().message} (${error.page()?.url() ?? "?"})`));
}

export const test = base.extend<{
  cspViolations: string[];
  consoleErrors: ConsoleErrors;
  /** Another browser (its own cookies) with the same watchers: a second user; closed when the test ends. */
  newContext: () => Promise<BrowserContext>;
}>({
  // The server's URL is only known once global setup has started it.
  // (`provide` is Playwright's `use`, renamed so that the React hooks lint rule leaves it alone.)
  baseURL: async ({}, provide) => {
    await provide(process.env.E2E_BASE_URL);
  },
  // Every test, on every page of its browser contexts: no CSP violation may reach the console
  // (pages run under a nonce-based CSP, docs/security.md).
  cspViolations: [
    async ({}, provide) => {
      const violations: string[] = [];
      await provide(violations);
      expect(violations, "CSP violations in the console").toEqual([]);
    },
    { auto: true },
  ],
  // Every test: no console error and no uncaught exception ("no console errors during the
  // workflows", issue 18), except those the test allows explicitly.
  consoleErrors: [
    async ({ context, cspViolations }, provide) => {
      const errors: string[] = [];
      const allowed: RegExp[] = [];
      watchContext(context, cspViolations, errors);
      await provide({
        seen: errors,
        allow: (pattern) => {
          allowed.push(pattern);
        },
        allowFailedRequest: (status, path) => {
          allowed.push(new RegExp(`^Failed to load resource: the server responded with a status of ${status} \\(.*\\) \\(https?://[^/]+${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
        },
        watch: (other) => watchContext(other, cspViolations, errors),
      });
      expect(
        errors.filter((error) => !allowed.some((pattern) => pattern.test(error))),
        "console errors or uncaught exceptions",
      ).toEqual([]);
    },
    { auto: true },
  ],
  newContext: async ({ browser, consoleErrors }, provide) => {
    const opened: BrowserContext[] = [];
    await provide(async () => {
      const context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
      consoleErrors.watch(context);
      opened.push(context);
      return context;
    });
    for (const context of opened) await context.close();
  },
});
export { expect };

export function uniqueEmail(prefix = "e2e"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}@example.com`;
}

/** Signs up through the UI and lands on the organisation's projects page. */
export async function signUp(page: Page, options: { email?: string; name?: string; organisation?: string } = {}) {
  const email = options.email ?? uniqueEmail();
  await page.goto("/signup");
  await page.getByLabel("Your name").fill(options.name ?? "E2E User");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long password");
  if (options.organisation) await page.getByLabel("Organisation name").fill(options.organisation);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  return { email, password: "a long password" };
}

/**
 * Signs up and creates project "Shop" through the UI (it comes with Development and Production,
 * protected); leaves exactly `environments` (creating missing ones through the UI, deleting unwanted
 * defaults through the API) and ends on the last one's settings.
 */
export async function setUpProject(page: Page, environments: string[]) {
  await signUp(page);
  await page.getByRole("button", { name: "Create your first project" }).click();
  await page.getByLabel("Project name").fill("Shop");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("heading", { name: "Environments", exact: true })).toBeVisible();
  const table = page.getByRole("table", { name: "Environments" });
  for (const name of DEFAULT_ENVIRONMENTS) await expect(table.getByRole("link", { name, exact: true })).toBeVisible();
  for (const name of DEFAULT_ENVIRONMENTS.filter((name) => !environments.includes(name))) {
    const href = await table.getByRole("link", { name, exact: true }).getAttribute("href");
    await trpcMutation(page, "environments.delete", { environmentId: Number(/\/e\/(\d+)\//.exec(href ?? "")?.[1]) });
  }
  if (DEFAULT_ENVIRONMENTS.some((name) => !environments.includes(name))) await page.reload();
  for (const name of environments.filter((name) => !DEFAULT_ENVIRONMENTS.includes(name))) {
    await page.getByRole("link", { name: "Environments", exact: true }).click();
    await page.getByRole("button", { name: "New environment" }).click();
    await page.getByLabel("Environment name").fill(name);
    await page.getByRole("button", { name: "Create environment" }).click();
    await expect(page.getByRole("heading", { name: "Environment settings" })).toBeVisible();
  }
  await page.getByRole("link", { name: "Environments", exact: true }).click();
  const last = environments.at(-1)!;
  await page.getByRole("row").filter({ has: page.getByRole("link", { name: last, exact: true }) }).getByRole("link", { name: "Settings & keys" }).click();
  await expect(page.getByRole("heading", { name: "Environment settings" })).toBeVisible();
  await expect(page.getByText(`${last} — SDK keys and evaluation settings`)).toBeVisible();
}

/** The environments every new project starts with (Production is protected). */
export const DEFAULT_ENVIRONMENTS = ["Development", "Production"];

/** The current page's /p/<project>/e/<environment> ids (on an environment page). */
export function routeIds(page: Page): { projectId: number; environmentId: number } {
  const match = /\/p\/(\d+)\/e\/(\d+)/.exec(new URL(page.url()).pathname);
  if (!match) throw new Error(`not on an environment page: ${page.url()}`);
  return { projectId: Number(match[1]), environmentId: Number(match[2]) };
}

/**
 * Calls a tRPC mutation as the signed-in user (the page's cookies): quick set-up of data the
 * test is not about.
 */
export async function trpcMutation<T = unknown>(page: Page, procedure: string, input: unknown): Promise<T> {
  const response = await page.request.post(`/api/trpc/${procedure}`, { data: input });
  const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
  if (!response.ok() || !body.result) throw new Error(`${procedure} failed (${response.status()}): ${body.error?.message ?? "no result"}`);
  return body.result.data;
}

/** Elements allowed to scroll sideways inside themselves: code and form fields (long keys, snippets). */
const SCROLLS_BY_DESIGN = "pre, code, .code-block, textarea, input, select";

/**
 * What scrolls sideways: [] when nothing does, else (for the failure message) the innermost
 * elements reaching past the window's right edge when the page itself is wider than the window,
 * and every element that scrolls sideways inside itself (a panel or table wider than its box,
 * `overflow-x: auto`), code blocks and form fields excepted.
 */
export function sidewaysOverflow(page: Page): Promise<string[]> {
  return page.evaluate((exempt) => {
    const describe = (element: Element) => `${element.tagName.toLowerCase()}.${[...element.classList].join(".")} "${(element.textContent ?? "").trim().slice(0, 40)}"`;
    /** The innermost elements in `scope` reaching past `right`. */
    const pastEdge = (scope: Element, right: number) => {
      const past = [...scope.querySelectorAll("*")].filter((element) => element.getBoundingClientRect().right > right + 1);
      return past.filter((element) => !past.some((other) => other !== element && element.contains(other))).slice(0, 3);
    };
    const found: string[] = [];
    const root = document.scrollingElement ?? document.documentElement;
    if (root.scrollWidth > root.clientWidth) found.push(...pastEdge(document.body, root.clientWidth).map((element) => `page: ${describe(element)}`));
    for (const element of document.querySelectorAll("body *")) {
      if (element.closest(exempt)) continue;
      const { overflowX } = getComputedStyle(element);
      if ((overflowX === "auto" || overflowX === "scroll") && element.scrollWidth > element.clientWidth + 1) {
        const culprits = pastEdge(element, element.getBoundingClientRect().right).map(describe).join(", ");
        found.push(`inside: ${describe(element)} (${element.scrollWidth}px of content in ${element.clientWidth}px; past its edge: ${culprits})`);
      }
    }
    return found;
  }, SCROLLS_BY_DESIGN);
}

/**
 * On the organisation settings, invites `email` (with `role`) and returns the invitation link, which
 * the page shows once.
 */
export async function invite(page: Page, email: string, role: "USER" | "ADMIN" = "USER"): Promise<string> {
  await page.getByLabel("Invite by email").fill(email);
  await page.getByLabel("Role", { exact: true }).selectOption(role);
  await page.getByRole("button", { name: "Invite", exact: true }).click();
  const link = page.getByRole("region", { name: "New invitation" }).getByLabel("Invitation link");
  await expect(link).toBeVisible();
  return link.inputValue();
}

/** A signed-in user opens an invitation link and joins; ends on the organisation's projects. */
export async function acceptInvitation(page: Page, link: string, organisation: string): Promise<void> {
  await page.goto(link);
  await page.getByRole("button", { name: `Join ${organisation}` }).click();
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  await expect(page.getByLabel("Organisation", { exact: true }).locator("option:checked")).toHaveText(organisation);
}

/** WCAG 2.1 A/AA violations axe finds on the page as it is now ("rule: target" lines). */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: axe.source });
  const results = await page.evaluate(() =>
    (window as unknown as { axe: typeof axe }).axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  return results.violations.flatMap((violation) => violation.nodes.map((node) => `${violation.id}: ${node.target.join(" ")} — ${node.failureSummary?.split("\n")[1]?.trim() ?? ""}`));
}
