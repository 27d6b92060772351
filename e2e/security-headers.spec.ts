import { expect, signUp, test } from "./fixtures";

const PAGE_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

test("uiPages__signedOutAndSignedIn__securityHeadersAndANonceCspTheScriptsCarry", async ({ page }) => {
  // Given the sign-in page as a signed-out visitor
  const login = await page.goto("/login");
  const loginHeaders = login!.headers();

  // Then it carries the security headers and a CSP whose nonce is fresh per page and on the theme script
  expect(loginHeaders).toMatchObject(PAGE_HEADERS);
  expect(loginHeaders["permissions-policy"]).toContain("camera=()");
  const csp = loginHeaders["content-security-policy"];
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce).toBeTruthy();
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  // (browsers hide a nonce attribute from the DOM; the property keeps it)
  expect(await page.evaluate(() => (document.querySelector("head script:not([src])") as HTMLScriptElement | null)?.nonce)).toBe(nonce);
  // …the theme script ran (data-theme set before hydration) and the page is interactive
  await expect(page.locator("html")).toHaveAttribute("data-theme", /^(light|dark)$/);
  const again = await page.goto("/login");
  expect(/'nonce-([^']+)'/.exec(again!.headers()["content-security-policy"])?.[1]).not.toBe(nonce);

  // When the visitor signs up and lands on a signed-in page
  await signUp(page);
  const projects = await page.reload();

  // Then that page has the same headers, and the app works under the policy (the auto fixture checks the console)
  expect(projects!.headers()).toMatchObject(PAGE_HEADERS);
  expect(projects!.headers()["content-security-policy"]).toContain("'strict-dynamic'");
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
});

test("trpcAndMalformedPaths__headersAndProper400s", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(400, "/p/%C0%80", "the malformed path is opened to see its 400 page");
  // Given a tRPC query and paths whose percent-encoding is not valid UTF-8
  // When they are requested
  const trpc = await page.request.get("/api/trpc/auth.me");
  const badPage = await page.goto("/p/%C0%80");

  // Then tRPC answers with the security headers and a CSP that loads nothing
  expect(trpc.status()).toBe(200);
  expect(trpc.headers()).toMatchObject({ "x-content-type-options": "nosniff", "x-frame-options": "DENY" });
  expect(trpc.headers()["content-security-policy"]).toContain("default-src 'none'");
  // …and the malformed page path is a 400 page, not a plain-text 500
  expect(badPage!.status()).toBe(400);
  await expect(page.getByRole("heading", { name: "Bad request" })).toBeVisible();
  expect(badPage!.headers()["content-type"]).toContain("text/html");
  const badApi = await page.request.get("/api/v1/flags/%C0%80/");
  expect(badApi.status()).toBe(400);
  expect(await badApi.json()).toEqual({ detail: expect.stringContaining("not valid") });
});

test("sdkEndpoints__browserSdkCors__keptWithoutPageHeaders", async ({ page }) => {
  // Given a browser SDK on another origin
  // When it sends a CORS preflight
  const preflight = await page.request.fetch("/api/v1/flags/", { method: "OPTIONS", headers: { origin: "https://shop.example", "access-control-request-headers": "x-environment-key" } });

  // Then it is answered as before: any origin, the SDK's header allowed
  expect(preflight.status()).toBe(204);
  expect(preflight.headers()["access-control-allow-origin"]).toBe("*");
  expect(preflight.headers()["access-control-allow-headers"]).toBe("x-environment-key");
});
