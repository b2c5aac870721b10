// api-error.js — what a failed call to Parley's API becomes: the HTTP status (0 when nothing
// answered), the API's error code and message, Retry-After, and whether trying again can help.
// Shared by the widget and the agents' dashboard; it imports nothing.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.status = status; // 0 = no answer (offline, timeout, CORS, server down)
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from Retry-After on 429/503
  }
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 425 || this.status === 429 || this.status >= 500;
  }
}

/** The ApiError for a non-2xx answer: `{success:false, error:{code, message}}` when it is JSON. */
export function errorFrom(status, text, retryAfterHeader) {
  let code = 'http_' + status;
  let message = '';
  try {
    const body = JSON.parse(text);
    code = body?.error?.code || code;
    message = body?.error?.message || '';
  } catch {
    /* not JSON (a proxy's page): keep the status */
  }
  const retryAfter = Number.parseInt(retryAfterHeader || '', 10);
  return new ApiError(status, code, message, Number.isFinite(retryAfter) ? retryAfter : undefined);
}
