import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { describe, expect, it } from "vitest";
import { createCallerContext } from "../../../src/server/auth/procedures";
import { createCallerFactory, publicProcedure, router } from "../../../src/server/trpc/init";
import { expectTrpcError } from "../support/fixtures";

const SECRET_DETAIL = 'Failed query: select key_hash from organisation_api_keys where id = $1\nparams: 42';

const testRouter = router({
  boom: publicProcedure.query(() => {
    throw new Error(SECRET_DETAIL);
  }),
});

describe("unexpected errors", () => {
  it("procedureThrowsUnexpectedError__inProcessCaller__internalErrorWithoutItsMessage", async () => {
    // Given a procedure failing with an error whose message holds SQL and parameters
    const caller = createCallerFactory(testRouter)(createCallerContext(null));

    // When it is called
    const error = await expectTrpcError(caller.boom(), "INTERNAL_SERVER_ERROR");

    // Then the caller gets a generic message
    expect(error.message).toBe("Internal error");
  });

  it("procedureThrowsUnexpectedError__overHttp__500WithoutItsMessage", async () => {
    // Given the same procedure behind the HTTP adapter
    const request = new Request("http://flagpost.local/api/trpc/boom");

    // When it is requested
    const response = await fetchRequestHandler({ endpoint: "/api/trpc", req: request, router: testRouter, createContext: () => createCallerContext(null) });

    // Then the response is a 500 that says nothing about the query
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain("Internal error");
    expect(body).not.toContain("key_hash");
    expect(body).not.toContain("params");
  });
});
