import type { Metadata } from "next";
import { headers } from "next/headers";
import { Suspense, type ReactNode } from "react";
import { NavigationProgress } from "@/app/_components/navigation";
import { ThemeSync } from "@/app/_components/theme";
import { THEME_SCRIPT } from "@/app/_components/theme-script";
import { ConfirmProvider } from "@/app/_components/protected-change";
import { ToastProvider } from "@/app/_components/ui";
import { TrpcProviders } from "@/app/_trpc/client";
import { NONCE_HEADER } from "@/server/http/security";
import "./globals.css";

export const metadata: Metadata = {
  title: "Flagpost",
  description: "Feature flags and remote config, Flagsmith-compatible, with flagd sync.",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // This page's CSP nonce (src/proxy.ts); reading it renders every page per request, as nonces need.
  const nonce = (await headers()).get(NONCE_HEADER) ?? undefined;
  return (
    // data-theme is set by THEME_SCRIPT before React hydrates: not a mismatch.
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* Before the first paint, so that a dark theme never flashes light. */}
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <ThemeSync />
        <Suspense fallback={null}>
          <NavigationProgress />
        </Suspense>
        <TrpcProviders>
          <ToastProvider>
            <ConfirmProvider>{children}</ConfirmProvider>
          </ToastProvider>
        </TrpcProviders>
      </body>
    </html>
  );
}
