import type { Metadata } from "next";
import { Suspense, type ReactNode } from "react";
import { NavigationProgress } from "@/app/_components/navigation";
import { ThemeSync } from "@/app/_components/theme";
import { THEME_SCRIPT } from "@/app/_components/theme-script";
import { ConfirmProvider } from "@/app/_components/protected-change";
import { ToastProvider } from "@/app/_components/ui";
import { TrpcProviders } from "@/app/_trpc/client";
import "./globals.css";

export const metadata: Metadata = {
  title: "Flagpost",
  description: "Feature flags and remote config, Flagsmith-compatible, with flagd sync.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // data-theme is set by THEME_SCRIPT before React hydrates: not a mismatch.
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* Before the first paint, so that a dark theme never flashes light. */}
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
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
