/**
 * metav1.Status construction: the single mapper from errors to the JSON body and HTTP code the API answers with.
 */
import { LabApiError } from '../model.ts';

/** A metav1.Status object. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
  code: number;
}

/** A LabApiError that also carries Status details (name, kind, causes). */
export class StatusError extends LabApiError {
  readonly details: StatusBody['details'];
  constructor(code: number, reason: string, message: string, details?: StatusBody['details']) {
    super(code, reason, message);
    this.details = details;
  }
}

/** 404 NotFound for `<resource> "<name>" not found`. */
export function notFound(resource: string, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

/** 400 BadRequest with a free message. */
export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

/** 422 Invalid for one field of an object, formatted like the real validation errors. */
export function invalid(kind: string, name: string, field: string, causeType: string, detail: string): StatusError {
  const reasonByType: Record<string, string> = {
    Forbidden: 'FieldValueForbidden',
    Required: 'FieldValueRequired',
    Invalid: 'FieldValueInvalid',
    Duplicate: 'FieldValueDuplicate',
  };
  const text = `${field}: ${causeType}: ${detail}`;
  return new StatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, {
    name,
    kind,
    causes: [{ reason: reasonByType[causeType] ?? 'FieldValueInvalid', message: `${causeType}: ${detail}`, field }],
  });
}

/** Maps any thrown value to the HTTP code and Status body the server answers with. */
export function toStatus(err: unknown): StatusBody {
  if (err instanceof LabApiError) {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: err.message,
      reason: err.reason,
      code: err.code,
    };
    if (err instanceof StatusError && err.details) body.details = err.details;
    return body;
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}
