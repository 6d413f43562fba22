// HTTP calls to Vault and Concierge, always on the page's own origin (CloudFront behaviours
// route /api/vault/* and /api/concierge/* to the services). Money stays a decimal string.

const TOKEN_KEY = "mg_token";
const USER_KEY = "mg_user";

export function storedSession() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { token, username: sessionStorage.getItem(USER_KEY) ?? "" } : null;
}

export function storeSession({ token, username }) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, username);
}

export function forgetSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

// A failed call: `code` is the contract's machine-readable error code when there is one.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

async function call(base, path, { token, method = "GET", body, idempotent = false } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent) headers["Idempotency-Key"] = newId();
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "network_error", String(error));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data?.error ?? `http_${response.status}`;
    throw new ApiError(response.status, code, data?.message ?? "");
  }
  return data;
}

export const vault = (path, options) => call("/api/vault", path, options);
export const concierge = (path, options) => call("/api/concierge", path, options);
