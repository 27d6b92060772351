import { AuthForm } from "@/app/(auth)/AuthForm";

export const metadata = { title: "Sign up · Flagpost" };

export default function SignupPage() {
  return <AuthForm mode="signup" />;
}
