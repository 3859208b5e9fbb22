import type { ErrorCode } from '@hearth/model/errors';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { HubError, isHubError } from '../core/errors.ts';

/**
 * The one place where anything thrown while serving a request becomes the JSON error contract
 * `{error: {code, message, details?}}`. HubErrors keep their code; fastify's own errors are
 * translated by their code; anything else is a 500 `internal_error` whose details stay in the
 * log, never in the response.
 */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
};

interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params?: Record<string, unknown>;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HubError, request, reply) => {
    const hubError = translate(err);
    if (hubError.status >= 500)
      request.log.error({ err, method: request.method, url: request.routeOptions.url }, 'request failed');
    return sendError(reply, hubError);
  });

  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new HubError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

export function sendError(reply: FastifyReply, err: HubError): FastifyReply {
  const retryAfterS = err.details?.retryAfterS;
  // Any "too many" refusal that knows when to come back says so (login limiter, exports, ...).
  if (err.status === 429 && typeof retryAfterS === 'number') reply.header('retry-after', String(retryAfterS));
  return reply.code(err.status).type('application/json; charset=utf-8').send({ error: err.toJSON() });
}

function translate(err: FastifyError | HubError): HubError {
  if (isHubError(err)) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation)
    return validationError(
      fastifyError.validation as unknown as SchemaIssue[],
      fastifyError.validationContext ?? 'body',
    );
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new HubError(mapped, fastifyError.message);
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    if (status === 404) return new HubError('not_found', fastifyError.message);
    return new HubError('bad_request', fastifyError.message);
  }
  return new HubError('internal_error', 'internal error');
}

/** Names the offending field (`details.field`) and the rule it broke, from the first issue. */
function validationError(issues: SchemaIssue[], location: string): HubError {
  // "additionalProperties" and "required" name the field in params; prefer them over the
  // generic "schema is false" issue the same extra property also raises.
  const issue = issues.find((i) => i.keyword === 'additionalProperties' || i.keyword === 'required') ?? issues[0];
  if (!issue) return new HubError('validation_failed', `invalid ${location}`, { location });
  const path = issue.instancePath.split('/').filter(Boolean);
  const named =
    issue.params?.requiredProperties ??
    issue.params?.additionalProperties ??
    issue.params?.missingProperty ??
    issue.params?.additionalProperty;
  const extra = Array.isArray(named) ? named[0] : named;
  if (typeof extra === 'string') path.push(extra);
  const field = path.join('.') || location;
  const rule = issue.keyword === 'boolean' ? 'additionalProperties' : issue.keyword;
  return new HubError('validation_failed', `${location}: '${field}' fails ${rule}`, { location, field, rule });
}
