/**
 * HT Content API widget 1.0.0: the <ht-hotlines> and <ht-indicators> elements.
 *
 *   <script type="module" src="https://API/embed/v1/htcontent.js"></script>
 *   <ht-hotlines purpose="victim_help"></ht-hotlines>
 *   <ht-indicators setting="hotel" lang="es"></ht-indicators>
 *
 * An ES module with no dependencies and no build step. It renders in Shadow DOM with DOM calls
 * only (no innerHTML, no eval, no inline style: styles are constructed stylesheets), so a host
 * page whose Content-Security-Policy lists the API's origin in script-src and connect-src, even
 * with Trusted Types required, runs it. Text follows the page's language (the nearest `lang`)
 * unless the element has its own. The last good answer is kept in localStorage and revalidated
 * with its ETag; when the API cannot be reached the element shows it with the date it is from,
 * and with nothing kept it shows its own children (write a fallback there).
 */

export const VERSION = "1.0.0";

const API = new URL("../../api/v1/", import.meta.url);
const KEEP = "htcontent:v1:";
const LANGUAGES = ["en", "es"];
const PHONE = /^(\+[1-9][0-9]{6,14}|[0-9]{3,6})$/; // the API's own rule
const PHONE_KINDS = ["voice", "tty", "video", "text"];
const TIMEOUT_MS = 10000;

const WORDS = {
  en: {
    voice: "Call", tty: "TTY", video: "Videophone", email: "Email", web: "Website",
    chat: "Chat", text: "Text", textTo: "Text {keywords} to {number}", or: " or ",
    hours: "Hours: {hours}", languages: "Languages: {list}",
    verified: "Verified on {date}.",
    unverified: "Not verified. Confirm this information before you rely on it.",
    disputed: "Not verified: its sources disagree. Confirm this information before you " +
      "rely on it.",
    range: "Verified between {from} and {to}.",
    source: "Source:", sources: "Sources",
    stale: "The latest list could not be loaded. This is the list as of {date}.",
    unavailable: "This list could not be loaded. Please try again later.",
    loading: "Loading…", more: "Showing {count} of {total}.", empty: "Nothing to show.",
  },
  es: {
    voice: "Llamar", tty: "TTY", video: "Videoteléfono", email: "Correo", web: "Sitio web",
    chat: "Chat", text: "Texto", textTo: "Envíe {keywords} al {number}", or: " o ",
    hours: "Horario: {hours}", languages: "Idiomas: {list}",
    verified: "Verificado el {date}.",
    unverified: "Sin verificar. Confirme esta información antes de confiar en ella.",
    disputed: "Sin verificar: sus fuentes no coinciden. Confirme esta información antes de " +
      "confiar en ella.",
    range: "Verificado entre el {from} y el {to}.",
    source: "Fuente:", sources: "Fuentes",
    stale: "No se pudo cargar la lista más reciente. Esta es la lista del {date}.",
    unavailable: "No se pudo cargar esta lista. Inténtelo de nuevo más tarde.",
    loading: "Cargando…", more: "Se muestran {count} de {total}.", empty: "No hay nada que mostrar.",
  },
};

const STYLE = `
:host{display:block;--ht-link:#0a4d8c;--ht-muted:#4d4d4d;--ht-rule:#c4c4c4;
--ht-warn:#6b3f00;--ht-warn-bg:#fff3d6;--ht-note:#0a4d8c}
:host([hidden]){display:none}
.ht{line-height:1.45}
ul{margin:0;padding:0;list-style:none}
p{margin:.25em 0}
.item{padding:.6em 0;border-top:1px solid var(--ht-rule)}
.item:first-child{border-top:0}
.name{font-size:1.1em;margin:0 0 .2em}
.channels>li{margin:.4em 0}
.statements>li{list-style:disc;margin:.5em 0 .5em 1.25em;padding:0}
a{color:var(--ht-link);text-decoration:underline;text-underline-offset:.15em}
a:focus-visible,summary:focus-visible{outline:3px solid var(--ht-link);outline-offset:2px}
.channel{font-weight:600}
.detail,.org,.check,.src,.foot{color:var(--ht-muted);font-size:.92em}
.detail{display:block}
.warn{color:var(--ht-warn);background:var(--ht-warn-bg);border-left:4px solid var(--ht-warn);
padding:.3em .6em}
.notes{border-left:4px solid var(--ht-note);padding:.1em .75em;margin:0 0 .75em}
summary{cursor:pointer;color:var(--ht-link)}
`;

let sheet = null;

/** The element's stylesheet: constructed (CSSOM), which a strict style-src allows. */
function adopt(root) {
  if ("adoptedStyleSheets" in root) {
    if (sheet === null) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
    }
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(h("style", {}, STYLE));
  }
}

/** An element with attributes and children (strings become text, never markup). */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) element.setAttribute(name, value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined &&
    child !== false && child !== ""));
  return element;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => values[name]);
}

function primary(tag) {
  const code = tag.toLowerCase().split("-")[0];
  return LANGUAGES.includes(code) ? code : "en";
}

/** The language an element shows: its own `lang`, else the nearest one (through the shadow
 * roots it may sit in), else the browser's. */
function languageOf(element) {
  for (let node = element; node;) {
    const tagged = node.closest("[lang]:not([lang=''])");
    if (tagged) return primary(tagged.getAttribute("lang"));
    const root = node.getRootNode();
    node = root instanceof ShadowRoot ? root.host : null;
  }
  return primary(navigator.language || "en");
}

function day(iso, lang) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" })
    .format(new Date(`${iso}T00:00:00Z`));
}

function moment(at, lang) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" })
    .format(new Date(at));
}

function languageNames(codes, lang) {
  let names = null;
  try {
    names = new Intl.DisplayNames([lang], { type: "language" });
  } catch {
    return codes.join(", ");
  }
  return codes.map((code) => {
    try {
      return names.of(code) || code;
    } catch {
      return code;
    }
  }).join(", ");
}

function webAddress(value) {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Where a channel's link goes: tel:, sms: (with its first keyword), mailto: or the web. */
function hrefOf(channel) {
  const value = String(channel.value || "");
  switch (channel.kind) {
    case "voice": case "tty": case "video":
      return PHONE.test(value) ? `tel:${value}` : null;
    case "text": {
      if (!PHONE.test(value)) return null;
      const keyword = (channel.keywords || [])[0];
      return keyword ? `sms:${value}?body=${encodeURIComponent(keyword)}` : `sms:${value}`;
    }
    case "email":
      return /^[^\s@/:?]+@[^\s@/?]+$/.test(value) ? `mailto:${value}` : null;
    default:
      return webAddress(value);
  }
}

/** A number as people read it: the North American form for +1 numbers. */
function readable(value) {
  const us = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(value);
  return us ? `1-${us[1]}-${us[2]}-${us[3]}` : value;
}

/** What a number's link says: its display form, unless that does not show the number it
 * dials (then the number itself). */
function shownNumber(channel) {
  const value = String(channel.value || "");
  if (!channel.display || !PHONE_KINDS.includes(channel.kind)) return channel.display || value;
  const digits = (text) => text.replace(/\D/g, "");
  const dialled = digits(value);
  const national = dialled.length === 11 && dialled.startsWith("1") ? dialled.slice(1) : dialled;
  return digits(channel.display).includes(national) ? channel.display : readable(value);
}

/** A record's own text, marked with its language when that is not the list's (the API falls
 * back to English when a record has no text in the language asked for). */
function said(text, other) {
  return other ? h("span", { lang: other }, text) : text;
}

function otherLanguage(record, lang) {
  return record.lang && record.lang !== lang ? record.lang : null;
}

function channelItem(channel, words, lang, other, warning) {
  const number = shownNumber(channel);
  const keywords = channel.keywords || [];
  const label = channel.kind === "text" && keywords.length
    ? fill(words.textTo, { keywords: keywords.join(words.or), number })
    : `${words[channel.kind] || words.web}: ${number}`;
  const href = hrefOf(channel);
  const [before, after] = words.hours.split("{hours}");
  return h("li", {},
    href
      ? h("a", { class: "channel", href, "aria-describedby": warning }, label)
      : h("span", { class: "channel" }, label),
    channel.hours ? h("span", { class: "detail" }, before, said(channel.hours, other), after) : null,
    (channel.languages || []).length
      ? h("span", { class: "detail" },
        fill(words.languages, { list: languageNames(channel.languages, lang) }))
      : null,
    channel.notes ? h("span", { class: "detail", lang: other }, channel.notes) : null);
}

const verified = (record) => record.verification_status === "verified";

/** A record not verified says so, with what its sources disagree on. */
function warning(record, words, other, id) {
  const why = record.verification_status === "disputed" ? words.disputed : words.unverified;
  return h("p", { class: "check warn", id }, why,
    ...(record.conflicts || []).map((conflict) => [" ", said(conflict.note, other)]));
}

function verifiedOn(record, words, lang) {
  return record.verified_on
    ? h("p", { class: "check" }, fill(words.verified, { date: day(record.verified_on, lang) }))
    : null;
}

function sourceLink(source) {
  const href = webAddress(source.url);
  return href ? h("a", { href }, source.title || source.url) : source.title || null;
}

function sourceLine(record, words) {
  const sources = record.sources || [];
  if (!sources.length) return null;
  const links = [];
  sources.forEach((source, index) => {
    if (index) links.push("; ");
    links.push(sourceLink(source));
  });
  return h("p", { class: "src" }, `${words.source} `, ...links);
}

/** Verified entries first (a number to trust before one to confirm), else in the API's order. */
function trustedFirst(records) {
  return [...records].sort((a, b) => Number(!verified(a)) - Number(!verified(b)));
}

function hotlines(body, words, lang, level) {
  const heading = `h${Math.min(6, Math.max(2, level))}`;
  return h("ul", { class: "items", part: "list" }, ...trustedFirst(body.data).map((record, i) => {
    const other = otherLanguage(record, lang);
    const warned = verified(record) ? null : `warning-${i}`;
    return h("li", { class: "item", part: "item" },
      h(heading, { class: "name", lang: other }, record.name || record.id),
      record.organization ? h("p", { class: "org", lang: other }, record.organization) : null,
      warned ? warning(record, words, other, warned) : null,
      h("ul", { class: "channels" }, ...(record.channels || []).map((channel) =>
        channelItem(channel, words, lang, other, warned))),
      warned ? null : verifiedOn(record, words, lang),
      sourceLine(record, words));
  }));
}

function indicators(body, words, lang) {
  const records = body.data;
  const guidance = (body.meta && body.meta.guidance) || [];
  const dates = records.filter((r) => verified(r) && r.verified_on).map((r) => r.verified_on).sort();
  const sources = new Map();
  for (const record of records) {
    for (const source of record.sources || []) sources.set(source.url, source);
  }
  return [
    guidance.length
      ? h("div", { class: "notes", role: "note", part: "guidance" },
        ...guidance.map((text) => h("p", {}, text)))
      : null,
    h("ul", { class: "statements", part: "list" }, ...trustedFirst(records).map((record) => {
      const other = otherLanguage(record, lang);
      return h("li", { class: "item", part: "item" },
        h("p", { class: "statement", lang: other }, record.statement),
        record.guidance ? h("p", { class: "detail", lang: other }, record.guidance) : null,
        verified(record) ? null : warning(record, words, other, null));
    })),
    dates.length
      ? h("p", { class: "foot" }, dates[0] === dates[dates.length - 1]
        ? fill(words.verified, { date: day(dates[0], lang) })
        : fill(words.range, { from: day(dates[0], lang), to: day(dates[dates.length - 1], lang) }))
      : null,
    sources.size
      ? h("details", { class: "foot" }, h("summary", {}, words.sources),
        h("ul", {}, ...[...sources.values()].map((source) => h("li", {}, sourceLink(source)))))
      : null,
  ];
}

/** Lists kept in the page's localStorage: at most this many (the least recently confirmed go). */
const KEPT_LISTS = 20;

function recall(key) {
  try {
    const kept = JSON.parse(localStorage.getItem(key));
    return kept && kept.body && Array.isArray(kept.body.data) ? kept : null;
  } catch {
    return null;
  }
}

function remember(key, kept) {
  try {
    localStorage.setItem(key, JSON.stringify(kept));
    const ours = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const name = localStorage.key(i);
      if (name && name.startsWith(KEEP)) ours.push([recall(name)?.at || 0, name]);
    }
    ours.sort((a, b) => a[0] - b[0]);
    for (const [, name] of ours.slice(0, Math.max(0, ours.length - KEPT_LISTS))) {
      localStorage.removeItem(name);
    }
  } catch {
    // storage full or refused: the next visit simply loads again
  }
}

function forget(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // storage refused: nothing was kept
  }
}

/** A request that failed; `refused`: the API answered that the request itself is wrong (an
 * attribute: 400), which asking again will not mend. */
class Failure extends Error {
  constructor(message, refused) {
    super(message);
    this.refused = refused;
  }
}

/** The list at `url`: the kept one when the API says it is current (304), else the new one. */
async function load(url, kept, abort) {
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      headers: kept && kept.etag ? { "If-None-Match": kept.etag } : {},
      credentials: "omit", cache: "no-store", signal: abort.signal,
    });
    if (response.status === 304 && kept) return { ...kept, at: Date.now() };
    if (response.ok) {
      const body = await response.json();
      if (!body || !Array.isArray(body.data)) throw new Failure("the answer is not a list", false);
      return { etag: response.headers.get("ETag"), body, at: Date.now() };
    }
    const problem = await response.json().catch(() => ({}));
    const { status } = response;
    throw new Failure(`${status} ${problem.detail || response.statusText}`,
      status === 400 || status === 422);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the keyboard focus is in `root`, so that a redraw can put it back. */
function focusOf(root) {
  const at = root.activeElement;
  return at ? [at.localName, at.getAttribute("href"), at.textContent] : null;
}

function refocus(root, focus) {
  if (!focus) return;
  const [tag, href, text] = focus;
  const again = [...root.querySelectorAll(tag)].find((element) =>
    element.getAttribute("href") === href && element.textContent === text);
  if (again) again.focus();
}

/** A kept list older than this is drawn with its date until the API confirms it. */
const OLD_MS = 24 * 3600 * 1000;
const shown = new Set();

/** A list of records from the API, as an element: filters are its attributes. */
class RecordList extends HTMLElement {
  #run = 0;
  #asked = null; // the list last asked for
  #key = null; // the same while it is current or being asked for; null: ask again
  #refused = false; // the API refused #asked (a wrong attribute)
  #drawn = null; // what is drawn: { key, entry, lang, stale }
  #abort = null;
  #failures = 0;
  #retry = 0;

  constructor() {
    super();
    adopt(this.attachShadow({ mode: "open" }));
  }

  static get observedAttributes() {
    return ["lang", "limit", "heading-level", ...this.filters];
  }

  connectedCallback() {
    shown.add(this);
    if (this.#drawn) this.#show(this.#drawn); // attributes may have changed while away
    this.refresh();
  }

  disconnectedCallback() {
    shown.delete(this);
    this.#stop();
    this.#key = null;
  }

  attributeChangedCallback(name) {
    if (!this.isConnected) return;
    if (name === "heading-level" && this.#drawn) this.#show(this.#drawn);
    else this.refresh();
  }

  /** The list's URL in the API, for `lang`. */
  address(lang) {
    const limit = Math.min(200, Math.max(1, parseInt(this.getAttribute("limit"), 10) || 50));
    const query = new URLSearchParams({ lang, limit: String(limit), fields: this.constructor.fields });
    for (const name of this.constructor.filters) {
      const value = (this.getAttribute(name) || "").trim();
      if (value) query.set(name, value);
    }
    return new URL(`${this.constructor.collection}?${query}`, API).href;
  }

  #stop() {
    this.#run += 1;
    clearTimeout(this.#retry);
    if (this.#abort) this.#abort.abort();
    this.#abort = null;
  }

  /** Show what is kept (or drawn) at once, then ask the API whether it is still current. */
  async refresh() {
    if (!this.isConnected) return;
    const lang = languageOf(this);
    const key = KEEP + this.address(lang);
    if (key === this.#key) return;
    this.#stop();
    const run = this.#run;
    if (key !== this.#asked) {
      this.#failures = 0;
      this.#refused = false;
    }
    this.#asked = key;
    this.#key = key;
    const abort = new AbortController();
    this.#abort = abort;
    const drawnHere = this.#drawn && this.#drawn.key === key ? this.#drawn : null;
    let base = recall(key);
    if (base && !drawnHere) {
      const old = Date.now() - base.at > OLD_MS ? base.at : null;
      if (!this.#show({ key, entry: base, lang, stale: old })) {
        forget(key);
        base = null;
      }
    }
    base = base || (drawnHere && drawnHere.entry);
    if (!base) this.#status(lang, "loading");
    let fresh = null;
    try {
      fresh = await load(key.slice(KEEP.length), base, abort);
    } catch (error) {
      if (run === this.#run) this.#failed(error, key, base, lang);
      return;
    }
    if (run !== this.#run) return;
    this.#abort = null;
    this.#failures = 0;
    remember(key, fresh);
    const drawn = this.#drawn;
    if (drawn && drawn.key === key && drawn.stale === null && fresh.etag &&
        fresh.etag === drawn.entry.etag) {
      drawn.entry = fresh; // confirmed as drawn
    } else if (!this.#show({ key, entry: fresh, lang, stale: null })) {
      forget(key);
      this.#status(lang, "unavailable");
    }
  }

  /** The API could not be reached, or refused: keep what is drawn and say since when; ask
   * again later (not when refused). */
  #failed(error, key, base, lang) {
    console.warn(`<${this.localName}>: ${error.message}`);
    this.#abort = null;
    this.#key = null;
    if (error instanceof Failure && error.refused) {
      this.#refused = true;
      forget(key);
      this.#status(lang, "unavailable");
      return;
    }
    const drawn = this.#drawn;
    const already = drawn && drawn.key === key && drawn.stale !== null; // drawn with its date
    if (!already && !(base && this.#show({ key, entry: base, lang, stale: base.at }))) {
      this.#status(lang, "unavailable");
    }
    if (!this.isConnected) return;
    this.#failures += 1;
    const seconds = Math.min(300, 15 * 2 ** this.#failures);
    this.#retry = setTimeout(() => this.refresh(), seconds * 1000);
  }

  /** Draw a list (`stale`: when a kept one was last confirmed, if it is not confirmed now),
   * keeping the keyboard focus and open sections where they were. False when it cannot be
   * drawn. */
  #show(drawing) {
    const { entry, lang, stale } = drawing;
    const words = WORDS[lang];
    const body = entry.body;
    const total = body.meta && body.meta.total;
    let tree = null;
    try {
      tree = h("div", { class: "ht", lang, part: "container" },
        stale !== null
          ? h("p", { class: "warn", role: "status" }, fill(words.stale, { date: moment(stale, lang) }))
          : null,
        body.data.length ? this.render(body, words, lang) : h("p", {}, words.empty),
        total > body.data.length
          ? h("p", { class: "foot" }, fill(words.more, { count: body.data.length, total }))
          : null);
    } catch (error) {
      console.warn(`<${this.localName}>: cannot show the list (${error.message})`);
      return false;
    }
    const root = this.shadowRoot;
    const focus = focusOf(root);
    const open = [...root.querySelectorAll("details")].map((details) => details.open);
    root.replaceChildren(tree);
    root.querySelectorAll("details").forEach((details, i) => { details.open = Boolean(open[i]); });
    refocus(root, focus);
    this.#drawn = drawing;
    return true;
  }

  /** Loading, or nothing to show: a message, and the element's own children as a fallback. */
  #status(lang, state) {
    this.#drawn = null;
    const fallback = this.childElementCount > 0 || this.textContent.trim() !== "";
    this.shadowRoot.replaceChildren(h("div", { class: "ht", lang, part: "container" },
      fallback && state === "loading" ? null : h("p", { role: "status" }, WORDS[lang][state]),
      h("slot", {})));
  }

  /** The page's language changed: ask for the list in the new one. */
  followLanguage() {
    if (KEEP + this.address(languageOf(this)) !== this.#asked) this.refresh();
  }

  /** The browser is online again: ask at once for a list that could not be loaded. */
  reconnected() {
    if (this.#key === null && !this.#refused) this.refresh();
  }
}

/** `<ht-hotlines purpose= audience= channel= lang= limit= heading-level=>`. */
export class HotlineList extends RecordList {
  static collection = "hotlines";
  static filters = ["purpose", "audience", "channel"];
  static fields = "name,organization,channels,verification_status,verified_on,conflicts," +
    "sources,lang";

  render(body, words, lang) {
    return hotlines(body, words, lang, parseInt(this.getAttribute("heading-level"), 10) || 3);
  }
}

/** `<ht-indicators category= setting= trafficking_type= nibrs= apco_incident= lang= limit=>`. */
export class IndicatorList extends RecordList {
  static collection = "indicators";
  static filters = ["category", "setting", "trafficking_type", "nibrs", "apco_incident"];
  static fields = "statement,guidance,verification_status,verified_on,conflicts,sources,lang";

  render(body, words, lang) {
    return indicators(body, words, lang);
  }
}

new MutationObserver(() => shown.forEach((element) => element.followLanguage()))
  .observe(document.documentElement, { attributes: true, attributeFilter: ["lang"], subtree: true });
window.addEventListener("online", () => shown.forEach((element) => element.reconnected()));

for (const [name, element] of [["ht-hotlines", HotlineList], ["ht-indicators", IndicatorList]]) {
  if (!customElements.get(name)) customElements.define(name, element);
}
