import type { Metadata } from "next";
import type { ReactNode } from "react";
import { ToastProvider } from "@/app/_components/ui";
import { TrpcProviders } from "@/app/_trpc/client";
import "./globals.css";

export const metadata: Metadata = {
  title: "Flagpost",
  description: "Feature flags and remote config, Flagsmith-compatible, with flagd sync.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TrpcProviders>
          <ToastProvider>{children}</ToastProvider>
        </TrpcProviders>
      </body>
    </html>
  );
}
