import Link from "next/link";

export const metadata = { title: "Not found · Flagpost" };

/** Unmatched URLs: a page in the app's own style, with the way back. */
export default function NotFound() {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="brand">
          <span className="brand-mark" /> Flagpost
        </div>
        <h1>Page not found</h1>
        <p className="muted" style={{ margin: 0 }}>
          There is nothing at this address. It may have moved, or the link is wrong.
        </p>
        <Link href="/" className="btn btn-primary" style={{ alignSelf: "flex-start" }}>
          Back to Flagpost
        </Link>
      </div>
    </main>
  );
}
