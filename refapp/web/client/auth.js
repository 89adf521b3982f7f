// The real Better Auth browser client (sign-up, sign-in, sign-out, get-session).
import { createAuthClient } from "better-auth/client";

export const authClient = createAuthClient({ baseURL: window.location.origin });

// Better Auth errors are {status, statusText, message, code}; show the server's message.
export function errorMessage(error, fallback) {
  if (!error) return fallback;
  return error.message || error.statusText || fallback;
}
