"use strict";
// Shared by the console pages (console.html, insights.html). Customer text only ever reaches the
// page through `el(..., {text})`, i.e. textContent: nothing here parses HTML.
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// The pages' one fetch helper for the console API (/agent/api/...). `options.body` is sent as
// JSON in a POST (with the CSRF token), `options.raw` returns the Response itself (a download)
// instead of its JSON or text. A failure throws an ApiError carrying the HTTP status; a 401 first
// calls the page's `unauthorized`, a 503 `database_unavailable` its `unavailable` (set once with
// setupApi, like the CSRF token's source).
class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.data = data;
  }
}

const apiSetup = {csrf: () => "", unauthorized: () => {}, unavailable: () => {}};

function setupApi(setup) {
  Object.assign(apiSetup, setup);
}

async function api(path, options = {}) {
  const {body, raw, headers, ...init} = options;
  const opts = {credentials: "same-origin", ...init, headers: {...headers}};
  if (body !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if ((opts.method || "GET").toUpperCase() !== "GET") opts.headers["X-CSRF-Token"] = apiSetup.csrf();
  const res = await fetch("/agent/api/" + path, opts);
  const json = (res.headers.get("content-type") || "").includes("json");
  if (!res.ok) {
    const data = await (json ? res.json() : res.text()).catch(() => null);
    if (res.status === 401) apiSetup.unauthorized();
    if (isDatabaseAway({status: res.status, data})) apiSetup.unavailable();
    throw new ApiError(res.status, (data && data.error && data.error.message) || res.statusText, data);
  }
  if (raw) return res;
  return json ? res.json() : res.text();
}

// The gateway's answer while its database is away (bot/web/http.py): retry in a few seconds.
function isDatabaseAway(err) {
  return Boolean(err && err.status === 503 && err.data && err.data.error && err.data.error.code === "database_unavailable");
}
