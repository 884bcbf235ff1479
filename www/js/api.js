// api.js - the pages' only way to the server: the JSON API under /api/v1.
//
// The session is the HttpOnly cookie the login sets; every change also
// carries the session's CSRF token (from the login answer or GET /me).
// A failed call throws ApiError with the API's own message, so pages can
// show it in words.

let csrfToken = null;
let onSignedOut = null;

export class ApiError extends Error {
  constructor(status, code, message, field, position) {
    super(message);
    this.status = status;   // HTTP status; 0 when the server was not reached
    this.code = code;       // e.g. "bad_schedule", "forbidden"
    this.field = field;     // the body field or parameter at fault, if any
    this.position = position; // for a bad schedule: where in the expression
  }
}

export function setCsrfToken(token) { csrfToken = token || null; }

// Called when the API answers 401 (session ended): the app shows the login.
export function setSignedOutHandler(fn) { onSignedOut = fn; }

// '?a=1&b=x' from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp;
  try {
    resp = await fetch('/api/v1' + path, opts);
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached (' + e.message + ').');
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    if (resp.status === 401 && onSignedOut && !path.startsWith('/login')) onSignedOut();
    throw new ApiError(resp.status, err.code || 'http_' + resp.status,
      err.message || ('The server answered ' + resp.status + ' ' + resp.statusText + '.'),
      err.field, err.position);
  }
  return data;
}

export const get = (path, params) => api('GET', path + query(params));
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => api('PATCH', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path, params) => api('DELETE', path + query(params));
