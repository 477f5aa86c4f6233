import { z } from 'zod';

/** The body of every non-2xx answer. `code` is stable; `message` is for people. */
export const ErrorBody = z.object({
  code: z.string(),
  message: z.string(),
  /** Where the problem is: a JSON path such as `body.auth.key`, or `file:line:col`. */
  where: z.string().optional(),
  requestId: z.string().optional(),
  /** Every problem, when there are several (e.g. each error in a rejected policy). */
  details: z.array(z.object({ code: z.string(), message: z.string(), where: z.string().optional() })).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
