"use client";

/**
 * Safer changes: a confirmation before toggles, value changes and override changes in a protected
 * environment (one accessible dialog for the whole app, focus on Cancel), and a toggle hook whose
 * every change shows a toast with Undo (undo = the inverse change, sent as a normal, audited change).
 * An environment whose protection is not known (still loading, or its query failed) counts as
 * protected: a change there is never made without asking.
 */
import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { Button, Dialog, useToast } from "./ui";

export interface GuardedEnvironment {
  name: string;
  isProtected: boolean;
}

interface ConfirmRequest {
  title: string;
  message: ReactNode;
  confirmLabel: string;
}

const ConfirmContext = createContext<(request: ConfirmRequest) => Promise<boolean>>(async () => true);

/** Hosts the one confirmation dialog of protected changes (mounted once, at the root). */
export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const resolver = useRef<((confirmed: boolean) => void) | null>(null);
  const settle = (confirmed: boolean) => {
    resolver.current?.(confirmed);
    resolver.current = null;
    setRequest(null);
  };
  const confirm = useCallback((next: ConfirmRequest) => {
    resolver.current?.(false);
    setRequest(next);
    return new Promise<boolean>((resolve) => {
      resolver.current = resolve;
    });
  }, []);
  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      <Dialog
        open={request !== null}
        title={request?.title ?? "Confirm"}
        onClose={() => settle(false)}
        footer={
          <>
            {/* Focus starts on Cancel: Enter must not change a protected environment by accident. */}
            <Button onClick={() => settle(false)} data-autofocus>
              Cancel
            </Button>
            <Button variant="primary" onClick={() => settle(true)}>
              {request?.confirmLabel ?? "Confirm"}
            </Button>
          </>
        }
      >
        <p>{request?.message}</p>
      </Dialog>
    </ConfirmContext.Provider>
  );
}

export interface EnvironmentProtection {
  /** The environment's name and protection; undefined until known (loading, or its query failed). */
  environment: GuardedEnvironment | undefined;
  /** True while it loads: controls that make protected changes wait (disabled) until it is known. */
  checking: boolean;
}

/** Whether changes in the environment need a confirmation (see `useProtectedChange`). */
export function useEnvironmentProtection(environmentId: number): EnvironmentProtection {
  const trpc = useTRPC();
  const query = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  return { environment: query.data, checking: query.isPending };
}

/** The confirmation of `what` ("Turn checkout on") in `environment`, or null when none is needed. */
export function protectedChangeRequest(environment: GuardedEnvironment | undefined, what: string, confirmLabel: string): ConfirmRequest | null {
  if (!environment) {
    // Unknown (not loaded, or its query failed): treated as protected.
    return {
      title: "Change this environment?",
      message: `Flagpost could not check whether this environment is protected, so it asks as it does for a protected one. ${what}?`,
      confirmLabel,
    };
  }
  if (!environment.isProtected) return null;
  return { title: `Change ${environment.name}?`, message: `${environment.name} is a protected environment. ${what} in ${environment.name}?`, confirmLabel };
}

/**
 * `guard(environment, what, run)`: runs `run` at once in an unprotected environment; in a
 * protected one, or one whose protection is not known, only once the person confirms `what`
 * ("Turn checkout on", "Save the value of checkout") in the dialog.
 */
export function useProtectedChange() {
  const confirm = useContext(ConfirmContext);
  return useCallback(
    async (environment: GuardedEnvironment | undefined, what: string, run: () => void, confirmLabel = "Confirm change") => {
      const request = protectedChangeRequest(environment, what, confirmLabel);
      if (request && !(await confirm(request))) return false;
      run();
      return true;
    },
    [confirm],
  );
}

export interface ToggleRequest {
  featureId: number;
  featureName: string;
  environmentId: number;
  environment: GuardedEnvironment | undefined;
  enabled: boolean;
}

/**
 * Toggles a feature in an environment through `send` (the caller's mutation, with its own
 * optimistic update): confirmed first in a protected environment, then a toast with Undo, which
 * sends the inverse toggle (no second confirmation: it puts back what was there a moment ago).
 */
export function useToggleWithUndo(send: (input: { featureId: number; environmentId: number; enabled: boolean }) => Promise<unknown>) {
  const guard = useProtectedChange();
  const toast = useToast();
  return useCallback(
    (request: ToggleRequest) => {
      const { featureId, featureName, environmentId, enabled } = request;
      const where = request.environment?.name ?? "this environment";
      const state = (on: boolean) => (on ? "on" : "off");
      return guard(request.environment, `Turn ${featureName} ${state(enabled)}`, () => {
        send({ featureId, environmentId, enabled }).then(
          () =>
            toast.success(`${featureName} turned ${state(enabled)} in ${where}`, {
              action: {
                label: "Undo",
                run: () => {
                  send({ featureId, environmentId, enabled: !enabled }).then(
                    () => toast.success(`Undone: ${featureName} is ${state(!enabled)} again in ${where}`),
                    () => undefined, // the mutation's own onError tells
                  );
                },
              },
            }),
          () => undefined, // the mutation's own onError tells
        );
      }, `Turn ${state(enabled)}`);
    },
    [guard, send, toast],
  );
}
