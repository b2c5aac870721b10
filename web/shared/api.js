// api.js — owns what every HTTP call to Parley's API has in common, for the widget (the chat API)
// and the dashboard (the agents' API): the bearer token (none for a dashboard signed in with a
// password: its cookie and CSRF header go instead), X-Socket-ID when a socket is up (so the server
// leaves this tab's socket out of the broadcast), a time-out, and every failure turned into an
// ApiError whose `retryable` says whether trying again can help. Uploads use XMLHttpRequest
// because fetch still cannot report upload progress.

const TIMEOUT_MS = 20000;

/** What a failed call becomes: the HTTP status (0 when nothing answered), the API's code and message. */
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

const NOT_JSON = 'the server answered with something that is not JSON';

/**
 * @param {object} o
 * @param {string} o.baseUrl the server (a trailing slash is dropped)
 * @param {string|null} o.token the bearer token (the widget's or the agent's); null sends no
 *   Authorization header (a cookie session: pass `init.credentials` and the CSRF header in `headers`)
 * @param {() => string|null} [o.socketId] this tab's socket, while one is up
 * @param {(conversation: boolean) => object|null} [o.headers] more headers; `conversation` is the
 *   call's option of that name (the widget adds its visitor token there)
 * @param {(error: ApiError) => void} [o.onUnauthorized] told of every 401
 * @param {(reachable: boolean) => void} [o.onReach] told after each call whether the server
 *   answered (false: no answer, a time-out, or a gateway's 502-504: the server is not there)
 * @param {object} [o.init] more fetch() options (the dashboard's `cache: 'no-store'`)
 * @returns {{base: string, request: Function, upload: Function}}
 */
export function createClient({ baseUrl, token, socketId = () => null, headers: more = () => null, onUnauthorized = () => {}, onReach = () => {}, init: extra }) {
  const base = baseUrl.replace(/\/+$/, '');

  function headers(conversation, json) {
    const h = Object.assign(token ? { Authorization: 'Bearer ' + token } : {}, { Accept: 'application/json' }, more(conversation));
    if (json) h['Content-Type'] = 'application/json';
    const sid = socketId();
    if (sid) h['X-Socket-ID'] = sid;
    return h;
  }

  function failed(status, text, retryAfter) {
    const error = errorFrom(status, text, retryAfter);
    if (status === 401) onUnauthorized(error);
    return error;
  }

  /** A JSON call: `body` goes as JSON, `form` form-encoded; resolves to the parsed answer. */
  async function request(method, path, { body, form, conversation = false } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    let text;
    try {
      const init = Object.assign({ method, headers: headers(conversation, body !== undefined), signal: controller.signal, credentials: 'omit' }, extra);
      if (body !== undefined) init.body = JSON.stringify(body);
      if (form) {
        init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
        init.body = new URLSearchParams(form).toString();
      }
      response = await fetch(base + path, init);
      text = await response.text();
    } catch (error) {
      onReach(false);
      throw new ApiError(0, controller.signal.aborted ? 'timeout' : 'network', String(error?.message || error));
    } finally {
      clearTimeout(timer);
    }
    onReach(!(response.status >= 502 && response.status <= 504));
    if (!response.ok) throw failed(response.status, text, response.headers.get('Retry-After'));
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(response.status, 'bad_json', NOT_JSON);
    }
  }

  /** A multipart POST with upload progress (0…1); answers and fails like request(). */
  function upload(path, form, onProgress, { conversation = false } = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', base + path);
      for (const [k, v] of Object.entries(headers(conversation, false))) xhr.setRequestHeader(k, v);
      xhr.timeout = 10 * 60 * 1000; // big files on slow links; progress events show it is alive
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            return resolve(JSON.parse(xhr.responseText));
          } catch {
            return reject(new ApiError(xhr.status, 'bad_json', NOT_JSON));
          }
        }
        reject(failed(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After')));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload failed: no answer from the server.'));
      xhr.ontimeout = () => reject(new ApiError(0, 'timeout', 'The upload timed out.'));
      xhr.send(form);
    });
  }

  return { base, request, upload };
}
