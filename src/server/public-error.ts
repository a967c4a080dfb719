/** Any error a handler or Fastify itself raised, as the SwitchyardError to answer with. */
import type { FastifyError } from "fastify";
import { errors, isSwitchyardError, type SwitchyardError } from "../errors.js";

export function toPublicError(
  e: FastifyError | SwitchyardError,
  requestId: string,
  bodyLimit: number,
): SwitchyardError {
  if (isSwitchyardError(e)) return e;
  if (e.statusCode === 415) return errors.unsupportedMediaType(String(e.message.split("'")[1] ?? "none"));
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errors.bodyTooLarge(bodyLimit);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return errors.invalidJson("the body is empty");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return errors.invalidJson("Content-Length does not match the body");
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return errors.invalidBody("(request)", e.message);
  }
  return errors.internal(requestId);
}

/** A backend call's failure as the error to answer: its own SwitchyardError, else an internal one, logged. */
export function backendFailure(
  logger: { error(obj: object, msg: string): void },
  e: unknown,
  requestId: string,
): SwitchyardError {
  if (isSwitchyardError(e)) return e;
  logger.error({ err: e, request_id: requestId }, "unexpected error while calling a backend");
  return errors.internal(requestId);
}
