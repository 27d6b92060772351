export * from "./auth";
export * from "./tenancy";
export * from "./audit";
export * from "./flags";
export * from "./documents";
