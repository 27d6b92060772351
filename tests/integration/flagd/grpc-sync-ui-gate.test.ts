/**
 * The admin UI offers flagd gRPC sync only where Flagpost's rollout gate `flagd_grpc_sync` is on (issue 17): the
 * same project's flagd panel and Connect page in Chromium, served by the system under test (shipped flags: every
 * gate on) and by a second web process on the same database whose flags file turns the gate off.
 */
import { describe, expect, it } from "vitest";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { gatedUi } from "../support/gated-ui";

const ui = gatedUi({ flagd_grpc_sync: false });

describe("gated flagd gRPC sync in the admin UI", () => {
  it("flagdGrpcSyncGate__onInOneProcessOffInTheOther__panelSectionAndConnectSnippetShownOnlyWhereOn", { timeout: 120_000 }, async () => {
    // Given a user with a project whose flagd integration is on, and the user's session
    const user = await signUpUser();
    const { project, environments } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });

    // When the project's settings and the environment's Connect page are opened in each process
    const open = (base: string) =>
      ui.withPage(base, user.token, async (page) => {
        await page.goto(`/p/${project.id}/settings`);
        await page.getByRole("heading", { name: "flagd", exact: true }).waitFor();
        await page.getByRole("switch", { name: "Publish to flagd" }).waitFor();
        // (the gates have arrived once the page has asked for them)
        await page.waitForLoadState("networkidle");
        const panel = await page.getByRole("region", { name: "In-process providers (gRPC sync)" }).count();
        await page.goto(`/p/${project.id}/e/${environments[0].id}/connect`);
        await page.getByRole("heading", { name: "This instance and environment" }).waitFor();
        await page.waitForLoadState("networkidle");
        const connect = await page.getByRole("region", { name: "flagd in-process (gRPC sync)" }).count();
        return { panel, connect };
      });
    const withGateOn = await open(ui.openUrl);
    const withGateOff = await open(ui.gatedUrl);

    // Then the flagd panel's gRPC sync section and the Connect page's gRPC sync snippet are offered only where the gate is on
    expect(withGateOn).toEqual({ panel: 1, connect: 1 });
    expect(withGateOff).toEqual({ panel: 0, connect: 0 });
  });
});
