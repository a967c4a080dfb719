/** Admin API bodies: checked against a zod schema, the first problem answered as a 400 naming its field. */
import type { z } from "zod";
import { errors } from "../errors.js";

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? undefined);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw errors.invalidBody(issue?.path.join(".") || "(body)", issue?.message ?? "invalid");
}
