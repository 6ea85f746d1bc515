/** Input schemas shared by the auth API and the HTML forms. */
import { z } from "zod";
import { PASSWORD_MAX, PASSWORD_MIN } from "./password.ts";

export const emailSchema = z.string().trim().max(254).pipe(z.email("Enter a valid email address."));
export const passwordSchema = z.string()
  .min(PASSWORD_MIN, `Use at least ${PASSWORD_MIN} characters.`)
  .max(PASSWORD_MAX, `Use at most ${PASSWORD_MAX} characters.`);
export const nameSchema = z.string().trim().min(1, "Enter your name.").max(80, "Use at most 80 characters.");

export const signupSchema = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  name: nameSchema,
});
export const loginSchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(PASSWORD_MAX),
});
export const refreshSchema = z.strictObject({ refresh_token: z.string().min(1).max(512) });
export const logoutSchema = z.strictObject({ refresh_token: z.string().min(1).max(512).optional() });
export const changePasswordSchema = z.strictObject({
  current_password: z.string().min(1).max(PASSWORD_MAX),
  new_password: passwordSchema,
});
