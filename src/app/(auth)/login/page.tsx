import { AuthForm } from "@/app/(auth)/AuthForm";

export const metadata = { title: "Sign in · Flagpost" };

export default function LoginPage() {
  return <AuthForm mode="login" />;
}
