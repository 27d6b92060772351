"use client";

/**
 * Organisation settings → Members: inviting by email and the pending invitations (admins only).
 * The answer to an invitation is the same whether or not the email has an account: a link, shown
 * once (only its hash is stored), which the admin hands over — no mail is sent.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Badge, Button, ConfirmDialog, CopyField, EmptyState, ErrorState, formatDate, Loading, Select, TextInput, useToast } from "@/app/_components/ui";
import { formError, unplacedError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";

type Role = "ADMIN" | "USER";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The link the invited person opens: the token is in the fragment, so it never reaches a server log. */
export function invitationLink(token: string): string {
  return `${window.location.origin}/invite#${token}`;
}

export function InviteForm({ organisationId }: { organisationId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("USER");
  const [submitted, setSubmitted] = useState(false);
  const [created, setCreated] = useState<{ email: string; link: string; expiresAt: string | Date } | null>(null);
  const invite = useMutation(
    trpc.invitations.create.mutationOptions({
      onSuccess: async (result) => {
        setCreated({ email: result.invitation.email, link: invitationLink(result.token), expiresAt: result.invitation.expiresAt });
        setEmail("");
        setSubmitted(false);
        toast.success(`Invitation created for ${result.invitation.email}`);
        await queryClient.invalidateQueries({ queryKey: trpc.invitations.list.queryKey({ organisationId }) });
      },
    }),
  );
  const error = formError(invite.error);
  const emailError = !EMAIL.test(email.trim()) ? "Enter a valid email address" : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (emailError) {
      document.getElementById("invite-email")?.focus();
      return;
    }
    if (invite.isPending) return;
    setCreated(null);
    invite.mutate({ organisationId, email: email.trim(), role });
  };
  return (
    <div className="panel-body stack" style={{ borderTop: "1px solid var(--border)" }}>
      <form className="row" style={{ alignItems: "flex-end" }} noValidate onSubmit={submit} aria-label="Invite a member">
        <div style={{ flex: 2 }}>
          <TextInput
            id="invite-email"
            label="Invite by email"
            name="email"
            type="email"
            autoComplete="off"
            value={email}
            onChange={(e) => {
              if (invite.error) invite.reset();
              setEmail(e.target.value);
            }}
            hint="They join when they sign in or sign up with the invitation link."
            error={(submitted ? emailError : undefined) ?? error?.fieldErrors.email ?? unplacedError(error, "email", "role")}
          />
        </div>
        <div style={{ flex: 1 }}>
          <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="USER">User</option>
            <option value="ADMIN">Admin</option>
          </Select>
        </div>
        <Button type="submit" variant="primary" busy={invite.isPending}>
          Invite
        </Button>
      </form>
      {created ? (
        <div className="stack" role="region" aria-label="New invitation">
          <p className="notice notice-success" role="status" style={{ margin: 0 }}>
            Invitation for <strong>{created.email}</strong> created. Flagpost sends no mail: copy the link and send it to them. It works once, until{" "}
            {formatDate(created.expiresAt)}, and is shown only now.
          </p>
          <CopyField label="Invitation link" value={created.link} />
        </div>
      ) : null}
    </div>
  );
}

export function PendingInvitations({ organisationId }: { organisationId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const list = useQuery(trpc.invitations.list.queryOptions({ organisationId }));
  const [revoking, setRevoking] = useState<{ id: number; email: string; expired: boolean } | null>(null);
  const revoke = useMutation(
    trpc.invitations.revoke.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        toast.success(revoking?.expired ? "Expired invitation removed" : "Invitation revoked");
        await queryClient.invalidateQueries({ queryKey: trpc.invitations.list.queryKey({ organisationId }) });
      },
      onError: (error) => {
        setRevoking(null);
        toast.error(error);
      },
    }),
  );
  return (
    <section className="panel-body stack" aria-labelledby="invitations-heading" style={{ borderTop: "1px solid var(--border)" }}>
      <h3 id="invitations-heading" style={{ margin: 0 }}>
        Pending invitations
      </h3>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState title="No pending invitations">Invite someone by email above; their invitation is listed here until they accept it.</EmptyState>
      ) : (
        <table className="table table-cards" aria-label="Pending invitations">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Expires</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((invitation) => (
              <tr key={invitation.id}>
                <td className="cell-main">{invitation.email}</td>
                <td data-label="Role">{invitation.role === "ADMIN" ? "Admin" : "User"}</td>
                <td data-label="Expires">{invitation.expired ? <Badge tone="warning">Expired</Badge> : formatDate(invitation.expiresAt)}</td>
                <td className="cell-end" style={{ textAlign: "right" }}>
                  {/* The name starts with the visible word (WCAG 2.5.3): "Remove" for an expired one. */}
                  <Button
                    variant="ghost"
                    aria-label={`${invitation.expired ? "Remove expired invitation" : "Revoke invitation"} of ${invitation.email}`}
                    onClick={() => setRevoking({ id: invitation.id, email: invitation.email, expired: invitation.expired })}
                  >
                    {invitation.expired ? "Remove" : "Revoke"}
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={revoking?.expired ? "Remove expired invitation" : "Revoke invitation"}
        message={
          revoking?.expired
            ? `The expired invitation of ${revoking.email} is removed from the list. You can invite them again later.`
            : `The invitation link sent to ${revoking?.email ?? ""} stops working at once. You can invite them again later.`
        }
        confirmLabel={revoking?.expired ? "Remove" : "Revoke"}
        busy={revoke.isPending}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate({ organisationId, invitationId: revoking.id })}
      />
    </section>
  );
}
