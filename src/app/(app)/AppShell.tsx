"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useRouter } from "@/app/_components/navigation";
import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { NavigationSelect } from "@/app/_components/navigation-select";
import { NewOrganisationDialog } from "@/app/_components/new-organisation";
import { KeyboardShortcuts } from "@/app/_components/shortcuts";
import { ThemeSwitch } from "@/app/_components/theme";
import { useRouteIds } from "./hooks";

/** The environment last opened in each project (per browser), so project pages keep the environment links. */
/** The organisation switcher's last option, which opens the new-organisation dialog. */
const NEW_ORGANISATION = "new";

const lastEnvironmentKey = (projectId: number) => `flagpost:lastEnvironment:${projectId}`;
function subscribeToStorage(callback: () => void) {
  window.addEventListener("storage", callback);
  return () => window.removeEventListener("storage", callback);
}
function useLastEnvironment(projectId: number | undefined, environmentId: number | undefined): number | undefined {
  useEffect(() => {
    if (projectId !== undefined && environmentId !== undefined) window.localStorage.setItem(lastEnvironmentKey(projectId), String(environmentId));
  }, [projectId, environmentId]);
  const stored = useSyncExternalStore(
    subscribeToStorage,
    () => (projectId === undefined ? null : window.localStorage.getItem(lastEnvironmentKey(projectId))),
    () => null,
  );
  return environmentId ?? (stored && /^\d+$/.test(stored) ? Number(stored) : undefined);
}

function NavLink({ href, children, exact }: { href: string; children: ReactNode; exact?: boolean }) {
  const pathname = usePathname();
  const active = exact ? pathname === href : pathname === href || pathname.startsWith(href + "/");
  return (
    <Link href={href} aria-current={active ? "page" : undefined}>
      {children}
    </Link>
  );
}

export function AppShell({ user, children }: { user: { email: string; name: string }; children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const { orgId: routeOrgId, projectId, environmentId } = useRouteIds();

  const organisations = useQuery(trpc.organisations.list.queryOptions());
  const project = useQuery({ ...trpc.projects.get.queryOptions({ projectId: projectId ?? 0 }), enabled: projectId !== undefined });
  const orgId = routeOrgId ?? project.data?.organisationId ?? organisations.data?.[0]?.id;
  const projects = useQuery({ ...trpc.projects.list.queryOptions({ organisationId: orgId ?? 0 }), enabled: orgId !== undefined });
  const environments = useQuery({ ...trpc.environments.list.queryOptions({ projectId: projectId ?? 0 }), enabled: projectId !== undefined });
  const [creatingOrganisation, setCreatingOrganisation] = useState(false);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  // Narrow screens (≤ 860 px, globals.css) fold everything below the brand behind a Menu button. It
  // is open for the page it was opened on, so any navigation closes it; wide screens always show
  // the menu and never the button.
  const [menuOpenAt, setMenuOpenAt] = useState<string | null>(null);
  const menuOpen = menuOpenAt === pathname;
  const setMenuOpen = (open: boolean) => setMenuOpenAt(open ? pathname : null);
  const menuButton = useRef<HTMLButtonElement>(null);
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSettled: () => {
        router.replace("/login");
        router.refresh();
      },
    }),
  );

  // On project pages (no environment in the URL) the environment last opened in this project stays selected.
  const remembered = useLastEnvironment(projectId, environmentId);
  // …and otherwise its first environment, so the environment's pages (Features first) are always a click away.
  const currentEnvironmentId = environmentId ?? (environments.data?.some((env) => env.id === remembered) ? remembered : environments.data?.[0]?.id);
  const envBase = projectId && currentEnvironmentId ? `/p/${projectId}/e/${currentEnvironmentId}` : undefined;
  const switchEnvironment = (nextId: string) => {
    if (!projectId) return;
    const suffix = envBase && pathname.startsWith(envBase) ? pathname.slice(envBase.length).split("/").slice(0, 2).join("/") : "/features";
    router.push(`/p/${projectId}/e/${nextId}${suffix || "/features"}`);
  };

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <aside
        className="sidebar"
        aria-label="Navigation"
        onKeyDown={(event) => {
          if (event.key === "Escape" && menuOpen) {
            setMenuOpen(false);
            menuButton.current?.focus();
          }
        }}
      >
        <div className="sidebar-top">
          <Link href="/" className="brand">
            <span className="brand-mark" /> Flagpost
          </Link>
          <button
            ref={menuButton}
            type="button"
            className="btn btn-ghost menu-toggle"
            aria-expanded={menuOpen}
            aria-controls="sidebar-menu"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            Menu
          </button>
        </div>
        <div id="sidebar-menu" className="sidebar-menu" data-open={menuOpen}>
          <div className="switcher">
            <label htmlFor="org-switcher">Organisation</label>
            <NavigationSelect
              id="org-switcher"
              value={String(orgId ?? "")}
              optionLabel={(value) => (value === NEW_ORGANISATION ? "the new organisation dialog" : organisations.data?.find((o) => String(o.id) === value)?.name)}
              onNavigate={(value) => {
                if (value === NEW_ORGANISATION) setCreatingOrganisation(true);
                else if (value) router.push(`/o/${value}`);
              }}
            >
              {orgId === undefined ? <option value="">No organisation</option> : null}
              {organisations.data?.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
              <option value={NEW_ORGANISATION}>New organisation…</option>
            </NavigationSelect>
          </div>
          {orgId ? (
            <div className="switcher">
              <label htmlFor="project-switcher">Project</label>
              <NavigationSelect
                id="project-switcher"
                value={String(projectId ?? "")}
                optionLabel={(value) => projects.data?.find((p) => String(p.id) === value)?.name}
                onNavigate={(value) => value && router.push(`/p/${value}`)}
              >
                <option value="">{projects.data?.length ? "Choose a project…" : "No projects yet"}</option>
                {projects.data?.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </NavigationSelect>
            </div>
          ) : null}
          {projectId && environments.data && environments.data.length > 0 ? (
            <div className="switcher">
              <label htmlFor="environment-switcher">Environment</label>
              <NavigationSelect
                id="environment-switcher"
                value={String(currentEnvironmentId ?? "")}
                optionLabel={(value) => environments.data.find((env) => String(env.id) === value)?.name}
                onNavigate={(value) => value && switchEnvironment(value)}
              >
                {currentEnvironmentId === undefined ? <option value="">Choose an environment…</option> : null}
                {environments.data.map((env) => (
                  <option key={env.id} value={env.id}>
                    {env.name}
                  </option>
                ))}
              </NavigationSelect>
            </div>
          ) : null}
          <nav className="nav" aria-label="Main">
            {envBase ? (
              <>
                <div className="nav-section">Environment</div>
                <NavLink href={`${envBase}/features`}>Features</NavLink>
                <NavLink href={`${envBase}/identities`}>Identities</NavLink>
                <NavLink href={`${envBase}/scheduled`}>Scheduled changes</NavLink>
                <NavLink href={`${envBase}/connect`}>Connect</NavLink>
                <NavLink href={`${envBase}/audit`}>Audit log</NavLink>
                <NavLink href={`${envBase}/settings`}>Environment settings</NavLink>
              </>
            ) : projectId && environments.data ? (
              <>
                {/* A project without environments still has Features (its page says to create an environment first). */}
                <div className="nav-section">Environment</div>
                <NavLink href={`/p/${projectId}/features`}>Features</NavLink>
              </>
            ) : null}
            {projectId ? (
              <>
                <div className="nav-section">Project</div>
                <NavLink href={`/p/${projectId}/segments`}>Segments</NavLink>
                <NavLink href={`/p/${projectId}/environments`}>Environments</NavLink>
                <NavLink href={`/p/${projectId}/compare`}>Compare environments</NavLink>
                <NavLink href={`/p/${projectId}/audit`}>Project audit log</NavLink>
                <NavLink href={`/p/${projectId}/settings`}>Project settings</NavLink>
              </>
            ) : null}
            {orgId ? (
              <>
                <div className="nav-section">Organisation</div>
                <NavLink href={`/o/${orgId}`} exact>
                  Projects
                </NavLink>
                <NavLink href={`/o/${orgId}/audit`}>Organisation audit log</NavLink>
                <NavLink href={`/o/${orgId}/settings`}>Organisation settings</NavLink>
              </>
            ) : null}
          </nav>
          <div className="sidebar-footer">
            <span className="user" title={user.email}>
              {user.name}
              <br />
              <span className="small muted">{user.email}</span>
            </span>
            <nav className="nav" aria-label="Account">
              <NavLink href="/account">Account settings</NavLink>
            </nav>
            <ThemeSwitch />
            <button type="button" className="btn btn-ghost" aria-keyshortcuts="?" onClick={() => setShortcutsOpen(true)}>
              Keyboard shortcuts
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
              Sign out
            </button>
          </div>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
      <NewOrganisationDialog open={creatingOrganisation} onClose={() => setCreatingOrganisation(false)} />
      <KeyboardShortcuts helpOpen={shortcutsOpen} onHelpChange={setShortcutsOpen} />
    </div>
  );
}
