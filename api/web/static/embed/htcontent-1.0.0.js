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
const PHONE = /^\+?[0-9]{3,15}$/;

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

/** The language an element shows: its own `lang`, else the nearest one, else the browser's. */
function languageOf(element) {
  const tagged = element.closest("[lang]:not([lang=''])");
  const tag = (tagged ? tagged.getAttribute("lang") : navigator.language || "en").toLowerCase();
  const primary = tag.split("-")[0];
  return LANGUAGES.includes(primary) ? primary : "en";
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

function channelItem(channel, words, lang) {
  const shown = channel.display || channel.value;
  const keywords = channel.keywords || [];
  const label = channel.kind === "text" && keywords.length
    ? fill(words.textTo, { keywords: keywords.join(words.or), number: shown })
    : `${words[channel.kind] || words.web}: ${shown}`;
  const href = hrefOf(channel);
  return h("li", {},
    href ? h("a", { class: "channel", href }, label) : h("span", { class: "channel" }, label),
    channel.hours ? h("span", { class: "detail" }, fill(words.hours, { hours: channel.hours })) : null,
    (channel.languages || []).length
      ? h("span", { class: "detail" },
        fill(words.languages, { list: languageNames(channel.languages, lang) }))
      : null,
    channel.notes ? h("span", { class: "detail" }, channel.notes) : null);
}

/** What a record's check says: its date when verified, a warning otherwise. */
function check(record, words, lang) {
  if (record.verification_status === "verified") {
    return record.verified_on
      ? h("p", { class: "check" }, fill(words.verified, { date: day(record.verified_on, lang) }))
      : null;
  }
  const why = record.verification_status === "disputed" ? words.disputed : words.unverified;
  return h("p", { class: "check warn" }, why,
    ...(record.conflicts || []).map((conflict) => ` ${conflict.note}`));
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
  const rank = (record) => (record.verification_status === "verified" ? 0 : 1);
  return [...records].sort((a, b) => rank(a) - rank(b));
}

function hotlines(body, words, lang, level) {
  const heading = `h${Math.min(6, Math.max(2, level))}`;
  return h("ul", { class: "items", part: "list" }, ...trustedFirst(body.data).map((record) =>
    h("li", { class: "item", part: "item" },
      h(heading, { class: "name" }, record.name || record.id),
      record.organization ? h("p", { class: "org" }, record.organization) : null,
      h("ul", { class: "channels" },
        ...(record.channels || []).map((channel) => channelItem(channel, words, lang))),
      check(record, words, lang),
      sourceLine(record, words))));
}

function indicators(body, words, lang) {
  const records = body.data;
  const guidance = (body.meta && body.meta.guidance) || [];
  const dates = records.filter((r) => r.verification_status === "verified" && r.verified_on)
    .map((r) => r.verified_on).sort();
  const sources = new Map();
  for (const record of records) {
    for (const source of record.sources || []) sources.set(source.url, source);
  }
  return [
    guidance.length
      ? h("div", { class: "notes", role: "note", part: "guidance" },
        ...guidance.map((text) => h("p", {}, text)))
      : null,
    h("ul", { class: "statements", part: "list" }, ...trustedFirst(records).map((record) =>
      h("li", { class: "item", part: "item" },
        h("p", { class: "statement" }, record.statement),
        record.guidance ? h("p", { class: "detail" }, record.guidance) : null,
        record.verification_status === "verified" ? null : check(record, words, lang)))),
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
  } catch {
    // storage full or refused: the next visit simply loads again
  }
}

const shown = new Set();

/** A list of records from the API, as an element: filters are its attributes. */
class RecordList extends HTMLElement {
  #run = 0;
  #key = null;
  #etag = null;

  constructor() {
    super();
    adopt(this.attachShadow({ mode: "open" }));
  }

  static get observedAttributes() {
    return ["lang", "limit", "heading-level", ...this.filters];
  }

  connectedCallback() {
    shown.add(this);
    this.refresh();
  }

  disconnectedCallback() {
    shown.delete(this);
    this.#key = null;
  }

  attributeChangedCallback() {
    if (this.isConnected) this.refresh();
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

  /** Show what is kept at once, then ask the API whether it is still current. */
  async refresh() {
    const lang = languageOf(this);
    const key = KEEP + this.address(lang);
    if (key === this.#key) return;
    const run = ++this.#run;
    this.#key = key;
    this.#etag = null;
    const kept = recall(key);
    if (kept) this.#paint(kept, lang, null);
    else this.#status(lang, "loading");
    let fresh = null;
    try {
      const response = await fetch(key.slice(KEEP.length), {
        headers: kept && kept.etag ? { "If-None-Match": kept.etag } : {},
        credentials: "omit", cache: "no-store",
      });
      if (response.status === 304 && kept) {
        fresh = { ...kept, at: Date.now() };
      } else if (response.ok) {
        fresh = { etag: response.headers.get("ETag"), body: await response.json(), at: Date.now() };
      } else {
        const problem = await response.json().catch(() => ({}));
        throw new Error(`${response.status} ${problem.detail || response.statusText}`);
      }
    } catch (error) {
      if (run !== this.#run) return;
      console.warn(`<${this.localName}>: ${error.message}`);
      if (kept) this.#paint(kept, lang, kept.at);
      else this.#status(lang, "unavailable");
      this.#key = null;
      return;
    }
    if (run !== this.#run) return;
    remember(key, fresh);
    if (fresh.etag !== this.#etag) this.#paint(fresh, lang, null);
  }

  /** Draw the records (`staleSince`: the date of a kept answer the API could not confirm). */
  #paint(kept, lang, staleSince) {
    this.#etag = staleSince === null ? kept.etag : null;
    const words = WORDS[lang];
    const body = kept.body;
    const total = body.meta && body.meta.total;
    this.shadowRoot.replaceChildren(h("div", { class: "ht", lang, part: "container" },
      staleSince !== null
        ? h("p", { class: "warn", role: "status" }, fill(words.stale, { date: moment(staleSince, lang) }))
        : null,
      body.data.length ? this.render(body, words, lang) : h("p", {}, words.empty),
      total > body.data.length
        ? h("p", { class: "foot" }, fill(words.more, { count: body.data.length, total }))
        : null));
    this.removeAttribute("aria-busy");
  }

  /** Loading, or nothing to show: a message, and the element's own children as a fallback. */
  #status(lang, state) {
    this.#etag = null;
    const fallback = this.childElementCount > 0 || this.textContent.trim() !== "";
    this.shadowRoot.replaceChildren(h("div", { class: "ht", lang, part: "container" },
      fallback && state === "loading" ? null : h("p", { role: "status" }, WORDS[lang][state]),
      h("slot", {})));
    if (state === "loading") this.setAttribute("aria-busy", "true");
    else this.removeAttribute("aria-busy");
  }

  /** Follow a change of the page's language (a `lang` set on the page or an ancestor). */
  followLanguage() {
    if (this.#key !== null && this.#key !== KEEP + this.address(languageOf(this))) this.refresh();
  }
}

/** `<ht-hotlines purpose= audience= channel= lang= limit= heading-level=>`. */
export class HotlineList extends RecordList {
  static collection = "hotlines";
  static filters = ["purpose", "audience", "channel"];
  static fields = "name,organization,channels,verification_status,verified_on,conflicts,sources";

  render(body, words, lang) {
    return hotlines(body, words, lang, parseInt(this.getAttribute("heading-level"), 10) || 3);
  }
}

/** `<ht-indicators category= setting= trafficking_type= nibrs= apco_incident= lang= limit=>`. */
export class IndicatorList extends RecordList {
  static collection = "indicators";
  static filters = ["category", "setting", "trafficking_type", "nibrs", "apco_incident"];
  static fields = "statement,guidance,verification_status,verified_on,conflicts,sources";

  render(body, words, lang) {
    return indicators(body, words, lang);
  }
}

new MutationObserver(() => shown.forEach((element) => element.followLanguage()))
  .observe(document.documentElement, { attributes: true, attributeFilter: ["lang"], subtree: true });

for (const [name, element] of [["ht-hotlines", HotlineList], ["ht-indicators", IndicatorList]]) {
  if (!customElements.get(name)) customElements.define(name, element);
}
