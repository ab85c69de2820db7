"use strict";
// The console pages' language: texts, labels, dates and durations in nl, fr or en.
// The texts come from /agent/texts.js (bot/agentdesk/console_texts.yml): CONSOLE_TEXTS[key][language],
// and CONSOLE_SETUP {languages, time_zone}. The agent's preference wins; without one, the browser's.
// Static text in a page carries data-t="key" (also data-t-placeholder, data-t-aria-label, data-t-title).

const I18N = {lang: "en", zone: CONSOLE_SETUP.time_zone};
const LOCALES = {nl: "nl-BE", fr: "fr-BE", en: "en-GB"};
const TRANSLATED_ATTRIBUTES = ["placeholder", "aria-label", "title"];

function browserLanguage() {
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const language = String(tag).slice(0, 2).toLowerCase();
    if (CONSOLE_SETUP.languages.includes(language)) return language;
  }
  return "en";
}

// The agent's preference (null: the browser's); translates the page at once.
function setLanguage(preference) {
  I18N.lang = CONSOLE_SETUP.languages.includes(preference) ? preference : browserLanguage();
  document.documentElement.lang = I18N.lang;
  translatePage();
  document.dispatchEvent(new CustomEvent("languagechange", {detail: I18N.lang}));
}

const hasText = (key) => Object.prototype.hasOwnProperty.call(CONSOLE_TEXTS, key);

// The text of `key` in the page's language, with {placeholders} filled from `values`.
function t(key, values = {}) {
  const text = hasText(key) ? CONSOLE_TEXTS[key][I18N.lang] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// "1 message" / "3 messages": the key's _one or _other form.
function tn(key, count, values = {}) {
  return t(key + (count === 1 ? "_one" : "_other"), {n: count, ...values});
}

function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const attribute of TRANSLATED_ATTRIBUTES) {
    for (const node of root.querySelectorAll("[data-t-" + attribute + "]")) {
      node.setAttribute(attribute, t(node.getAttribute("data-t-" + attribute)));
    }
  }
}

// A code's readable label (reason_request_human, priority_urgent, ...); the code itself when unknown.
function label(kind, code) {
  if (code === null || code === undefined || code === "") return "—";
  return hasText(kind + "_" + code) ? t(kind + "_" + code) : String(code).replace(/_/g, " ");
}

// -- dates and times: 24 h, in the team's time zone (TIME_ZONE) -----------------------------------

function formatted(value, options) {
  const format = new Intl.DateTimeFormat(LOCALES[I18N.lang], {timeZone: I18N.zone, hourCycle: "h23", ...options});
  return format.format(value instanceof Date ? value : new Date(value));
}
const timeOf = (iso) => formatted(iso, {hour: "2-digit", minute: "2-digit"});
const dateTimeOf = (iso) => formatted(iso, {day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"});
const shortDateTimeOf = (iso) => formatted(iso, {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
// Today's times as "14:05", older ones with their day: a closed chat of last week reads right.
const dayKey = (value) => formatted(value, {year: "numeric", month: "2-digit", day: "2-digit"});
const whenOf = (iso) => (dayKey(iso) === dayKey(new Date()) ? timeOf(iso) : shortDateTimeOf(iso));

// A calendar day "YYYY-MM-DD" (already local to the team) as "12 Mar" / "12 mrt.".
function dayOf(day, options = {day: "numeric", month: "short"}) {
  const [y, m, d] = day.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALES[I18N.lang], {timeZone: "UTC", ...options}).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return t("duration_seconds", {n: seconds});
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("duration_minutes", {n: minutes});
  if (minutes % 60 === 0) return t("duration_whole_hours", {h: minutes / 60});
  return t("duration_hours", {h: Math.floor(minutes / 60), m: String(minutes % 60).padStart(2, "0")});
}

const percent = (share) => (share === null || share === undefined) ? "—"
  : new Intl.NumberFormat(LOCALES[I18N.lang], {style: "percent", maximumFractionDigits: 0}).format(share);

// -- errors: the API's error code says what went wrong (bot/web/http.py), in the page's language --

function errorText(err) {
  const code = err && err.data && err.data.error && err.data.error.code;
  if (code && hasText("error_" + code)) return t("error_" + code);
  if (err instanceof TypeError) return t("error_network");  // fetch could not reach the gateway
  if (err && err.status) return t("error_status", {status: err.status});
  return t("error_unknown");
}
