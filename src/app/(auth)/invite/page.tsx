import { InvitePage } from "./InvitePage";

export const metadata = { title: "Invitation · Flagpost" };

export default function Invite() {
  return <InvitePage />;
}
