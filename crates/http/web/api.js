// The API as the web app uses it. The access token lives only in this
// module's memory; the refresh token in sessionStorage (this tab only), so
// that a reload can get a new access token. A 401 is answered by one
// refresh and one retry, never more.

const REFRESH_KEY = "todos.refresh_token";

let accessToken = null;
// When the access token expires, by this tab's clock (ms since the epoch).
let expiresAt = 0;
// One refresh at a time: a refresh token works once, and presenting a
// spent one ends the session (README: "Sessions").
let refreshing = null;

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(status, detail));
    this.status = status;
  }
}

// A readable sentence from `{"detail": …}`: a text, or FastAPI's list of
// field errors.
function describe(status, detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc || []).slice(-1)[0] || "input"}: ${item.msg}`).join("; ");
  }
  return `The service answered ${status}`;
}

export function signedIn() {
  return accessToken !== null;
}

function keep(tokens) {
  accessToken = tokens.access_token;
  expiresAt = Date.now() + tokens.expires_in * 1000;
  sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
}

export function forget() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

async function send(method, path, body, token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
}

async function answer(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json && json.detail);
  return json;
}

// New tokens for the session in sessionStorage; false when there is none
// or it has ended.
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const refreshToken = sessionStorage.getItem(REFRESH_KEY);
      if (!refreshToken) return false;
      const response = await send("POST", "/users/token/refresh", { refresh_token: refreshToken });
      if (!response.ok) {
        forget();
        return false;
      }
      keep(await response.json());
      return true;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

// A call with the access token; on 401, one refresh and one retry.
export async function call(method, path, body) {
  let response = await send(method, path, body, accessToken);
  if (response.status === 401 && (await refresh())) {
    response = await send(method, path, body, accessToken);
  }
  if (response.status === 401) forget();
  return answer(response);
}

// A call that checks the user's password (password change, account
// deletion). Its 401 means a wrong password as often as a stale token, and
// every wrong try counts against the log-in throttle: so it is sent once,
// with a token refreshed beforehand when it is about to expire.
export async function callWithPassword(method, path, body) {
  if (Date.now() > expiresAt - 30_000 && !(await refresh())) {
    throw new ApiError(401, "Your session has ended: log in again.");
  }
  const response = await send(method, path, body, accessToken);
  if (response.status === 401) throw new ApiError(401, "Wrong password.");
  return answer(response);
}

export async function logIn(username, password) {
  keep(await answer(await send("POST", "/users/log-in", { username, password })));
}

export async function signUp(username, password) {
  await answer(await send("POST", "/users/sign-up", { username, password }));
}

export async function logOut() {
  try {
    await call("POST", "/users/log-out");
  } finally {
    forget();
  }
}
