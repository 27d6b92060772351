/**
 * Who is calling: a signed-in user (session cookie) or an organisation API key
 * (`Authorization: Api-Key <key>`). Resolved once per request from its headers.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { organisationApiKeys, sessions, users } from "@/server/db/schema";
import { sha256 } from "./crypto";

export const SESSION_COOKIE = "flagpost_session";

export type Principal =
  | { kind: "user"; userId: string; email: string; name: string; sessionId: string }
  | { kind: "apiKey"; apiKeyId: number; organisationId: number; name: string };

/** Who an audit row names. */
export interface Actor {
  userId?: string;
  apiKeyId?: number;
  label: string;
}

export function actorOf(principal: Principal): Actor {
  return principal.kind === "user"
    ? { userId: principal.userId, label: principal.email }
    : { apiKeyId: principal.apiKeyId, label: `API key "${principal.name}"` };
}

export const SYSTEM_ACTOR: Actor = { label: "system" };

export function readCookie(cookieHeader: string | null | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export async function principalFromSessionToken(token: string | undefined): Promise<Principal | null> {
  if (!token || token.length > 200) return null;
  const sessionId = sha256(token);
  const [row] = await getDb()
    .select({ userId: users.id, email: users.email, name: users.name })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), gt(sessions.expiresAt, new Date())))
    .limit(1);
  return row ? { kind: "user", userId: row.userId, email: row.email, name: row.name, sessionId } : null;
}

export async function principalFromApiKey(key: string): Promise<Principal | null> {
  if (key.length > 200) return null;
  const [row] = await getDb()
    .select({ id: organisationApiKeys.id, organisationId: organisationApiKeys.organisationId, name: organisationApiKeys.name })
    .from(organisationApiKeys)
    .where(and(eq(organisationApiKeys.keyHash, sha256(key)), isNull(organisationApiKeys.revokedAt)))
    .limit(1);
  return row ? { kind: "apiKey", apiKeyId: row.id, organisationId: row.organisationId, name: row.name } : null;
}

/**
 * The principal of a request. An `Authorization: Api-Key …` header that does not resolve is an
 * explicit failure (`invalidApiKey`), never a fallback to the cookie.
 */
export async function resolvePrincipal(headers: Headers): Promise<{ principal: Principal | null; invalidApiKey: boolean }> {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Api-Key\s+(\S+)$/i.exec(authorization.trim());
    if (match) {
      const principal = await principalFromApiKey(match[1]);
      return { principal, invalidApiKey: principal === null };
    }
  }
  const principal = await principalFromSessionToken(readCookie(headers.get("cookie"), SESSION_COOKIE));
  return { principal, invalidApiKey: false };
}
