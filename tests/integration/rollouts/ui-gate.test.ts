/**
 * The admin UI hides what a gate turns off (issue 17): the same project's pages in Chromium, served
 * by the system under test (shipped flags: every gate on) and by a second web process on the same
 * database whose flags file turns `context_evaluation` off. The UI learns the gates from the server
 * (`rollouts.gates`); no SDK key reaches the browser.
 */
import { describe, expect, it } from "vitest";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { gatedUi } from "../support/gated-ui";

const ui = gatedUi({ context_evaluation: false });

describe("gated admin UI", () => {
  it("contextEvaluationGate__onInOneProcessOffInTheOther__testAContextShownOnlyWhereOn", { timeout: 120_000 }, async () => {
    // Given a user with a project and an environment, and the user's session
    const user = await signUpUser();
    const { project, environments } = await projectWithEnvironments(user, ["Production"]);
    const path = `/p/${project.id}/e/${environments[0].id}/features`;

    // When the features page is opened in each process
    const open = (base: string) =>
      ui.withPage(base, user.token, async (page) => {
        await page.goto(path);
        await page.getByRole("heading", { name: "Features" }).first().waitFor();
        // (the gates have arrived once the page has asked for them)
        await page.waitForLoadState("networkidle");
        return page.getByRole("button", { name: "Test a context" }).count();
      });
    const withGateOn = await open(ui.openUrl);
    const withGateOff = await open(ui.gatedUrl);

    // Then "Test a context" is offered only where the gate is on
    expect(withGateOn).toBe(1);
    expect(withGateOff).toBe(0);
  });
});
