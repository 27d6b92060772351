import { AuthForm } from "../AuthForm";

export const metadata = { title: "Sign up · Flagpost" };

export default function SignupPage() {
  return <AuthForm mode="signup" />;
}
