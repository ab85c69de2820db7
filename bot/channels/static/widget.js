/* Customer-care chat widget. Embed on any page:
 *   <script src="https://<gateway>/widget.js" defer></script>
 * Options on that tag: data-locale="fr-BE" (language before the conversation has one; "browser":
 * the visitor's browser language, whatever the page's lang),
 * data-open="true" (open the panel on load), data-mode="page" (the gateway's own full-page web chat,
 * webchat.html: the panel fills the window and stays open, no launcher, the document's lang follows
 * the chat's language, the persona the gateway writes into <script type="application/json"
 * id="cc-chat-config"> stands in when /api/widget/config cannot be read).
 * The conversation is opened by the token the gateway issues with it: embedded, the widget keeps
 * it in the host page's localStorage and sends it as X-Chat-Token (in the URL for the stream,
 * which EventSource cannot give headers); in page mode it stays in the gateway's HttpOnly cookie.
 * Everything lives in a Shadow DOM; message text is only ever set with textContent. */
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src || window.__ccChatWidget) return; // once per page, however often it is included
  window.__ccChatWidget = true;

  const GATEWAY = new URL(script.src, location.href).origin;
  const LOCALE = script.getAttribute("data-locale") || "";
  const OPTIONS = {
    locale: LOCALE === "browser" ? "" : LOCALE,
    browser: LOCALE === "browser",
    open: script.getAttribute("data-open") === "true",
    page: script.getAttribute("data-mode") === "page",
  };
  const KEY = "cc-widget:" + GATEWAY + ":"; // namespace of our keys in the host page's storage
  // The names of the events the gateway pushes (bot/core/events.py): the gateway writes them in
  // when it serves this file; these are for the file served as it is (tests/channels/test_widget.py checks).
  const EVENTS = /*EVENTS*/{
    "MESSAGE": "message", "OWNER": "owner", "QUEUE": "queue", "LOGOUT": "logout",
    "AGENT_JOINED": "agent_joined", "AGENT_REPLY": "agent_reply", "HANDED_BACK": "handed_back",
    "CSAT_QUESTION": "csat_question", "CLOSED": "closed", "TYPING": "typing", "ACTIVITY": "activity",
    "TRANSFERRED": "transferred"
  }/*EVENTS*/;
  const UI = {
    nl: {
      open: "Chat openen", openUnread: "Chat openen (nieuw bericht)", close: "Chat sluiten",
      label: "Je bericht", placeholder: "Typ je bericht…", send: "Verstuur", log: "Gesprek",
      status: "Digitale assistent", queued: "Je wacht op een collega", agent: "Een collega helpt je",
      typing: "{bot} typt…", agentTyping: "{agent} typt…", colleague: "Een collega", choices: "Keuzes", error: "Verzenden lukte niet. Probeer het opnieuw.",
      tooLong: "Je bericht is te lang.",
    },
    fr: {
      open: "Ouvrir le chat", openUnread: "Ouvrir le chat (nouveau message)", close: "Fermer le chat",
      label: "Votre message", placeholder: "Écrivez votre message…", send: "Envoyer", log: "Conversation",
      status: "Assistante numérique", queued: "Un collègue va vous répondre", agent: "Un collègue vous aide",
      typing: "{bot} est en train d'écrire…", agentTyping: "{agent} est en train d'écrire…",
      colleague: "Un collègue", choices: "Choix", error: "L'envoi a échoué. Réessayez.",
      tooLong: "Votre message est trop long.",
    },
    en: {
      open: "Open chat", openUnread: "Open chat (new message)", close: "Close chat",
      label: "Your message", placeholder: "Type your message…", send: "Send", log: "Conversation",
      status: "Digital assistant", queued: "Waiting for a colleague", agent: "A colleague is helping you",
      typing: "{bot} is typing…", agentTyping: "{agent} is typing…", colleague: "A colleague", choices: "Choices", error: "Sending failed. Please try again.",
      tooLong: "Your message is too long.",
    },
  };

  const CSS = `
    :host { all: initial !important; }
    .widget { --cc-brand: #7b2ff7; --cc-focus: #f107a3; color: #1f2937;
      font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    *, *::before, *::after { box-sizing: border-box; }
    [hidden] { display: none !important; }
    button, input { font: inherit; color: inherit; margin: 0; }
    :focus-visible { outline: 3px solid var(--cc-focus); outline-offset: 2px; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 60px; height: 60px;
      padding: 0; border: 0; border-radius: 50%; background: var(--cc-brand); cursor: pointer;
      box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .launcher img { display: block; width: 100%; height: 100%; border-radius: 50%; }
    .badge { position: absolute; top: 0; right: 0; width: 16px; height: 16px; border-radius: 50%;
      background: #dc2626; border: 2px solid #fff; }
    .panel { position: fixed; right: 20px; bottom: 92px; z-index: 2147483000; width: 370px;
      height: min(600px, calc(100vh - 112px)); display: flex; flex-direction: column; overflow: hidden;
      background: #fff; border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.25); }
    header { display: flex; align-items: center; gap: 10px; padding: 10px 12px; background: var(--cc-brand); color: #fff; }
    header img { width: 40px; height: 40px; border-radius: 50%; background: #fff; flex: none; }
    .title { flex: 1; min-width: 0; }
    h2 { margin: 0; font-size: 16px; font-weight: 600; }
    .status { margin: 0; font-size: 13px; opacity: .9; }
    .close { width: 36px; height: 36px; border: 0; border-radius: 50%; background: transparent; color: #fff;
      font-size: 24px; line-height: 1; cursor: pointer; }
    .close:hover { background: rgba(255,255,255,.15); }
    .close:focus-visible { outline-color: #fff; }
    .log { flex: 1; overflow-y: auto; overscroll-behavior: contain; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
    .msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; }
    .bot { align-self: flex-start; background: #eee9fb; border-bottom-left-radius: 4px; }
    .agent { align-self: flex-start; background: #dcfce7; border-bottom-left-radius: 4px; }
    .who { display: block; font-size: 12px; font-weight: 600; color: #166534; margin-bottom: 2px; }
    .notice { align-self: center; max-width: 95%; background: #f3f4f6; color: #374151; font-size: 14px; text-align: center; }
    .me { align-self: flex-end; background: var(--cc-brand); color: #fff; border-bottom-right-radius: 4px; }
    .error { align-self: center; background: #fde8e8; color: #8a1c1c; font-size: 14px; }
    .buttons { display: flex; flex-wrap: wrap; gap: 6px; align-self: flex-start; }
    .buttons button { border: 1px solid var(--cc-brand); color: var(--cc-brand); background: #fff;
      border-radius: 16px; padding: 6px 12px; cursor: pointer; }
    .buttons button:hover { background: #f5f0ff; }
    /* answered or superseded: kept as a record, no longer pressable */
    .buttons.done button { border-color: #d1d5db; color: #6b7280; cursor: default; background: #fff; }
    .buttons.done button.chosen { border-color: #6b7280; background: #f3f4f6; color: #374151; }
    .typing { align-self: flex-start; display: flex; gap: 4px; margin: 0 12px 8px; padding: 10px 12px;
      background: #eee9fb; border-radius: 14px; }
    .agent-typing { margin: 0 12px 6px; font-size: 13px; font-style: italic; color: #166534; }
    .dot { width: 7px; height: 7px; border-radius: 50%; background: #7c6aa8; animation: cc-blink 1.2s infinite; }
    .dot:nth-child(2) { animation-delay: .2s; } .dot:nth-child(3) { animation-delay: .4s; }
    @keyframes cc-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #eee; }
    input { flex: 1; min-width: 0; padding: 9px 12px; border: 1px solid #bbb; border-radius: 20px; font-size: 16px; background: #fff; }
    .send { border: 0; background: var(--cc-brand); color: #fff; border-radius: 20px; padding: 0 16px; cursor: pointer; }
    .send:disabled { opacity: .5; cursor: default; }
    @media (max-width: 480px) {
      .panel { top: 0; left: 0; right: 0; bottom: 0; width: 100%; height: 100%; border-radius: 0; }
      .launcher.is-open { display: none; }
    }
    /* data-mode="page": the window is the chat, a centred column at most a phone wide */
    .page .panel { top: 0; bottom: 0; left: 0; right: 0; width: 100%; max-width: 480px; height: auto;
      margin: 0 auto; border-radius: 0; box-shadow: 0 0 12px rgba(0,0,0,.08); }
    @media (prefers-reduced-motion: reduce) { .dot { animation: none; opacity: .6; } }
  `;

  // Static markup only: nothing from the server or the customer is ever put into it.
  const TEMPLATE = `
    <div class="widget" data-ref="widget">
      <section class="panel" id="cc-panel" data-ref="panel" role="dialog" aria-labelledby="cc-name" hidden>
        <header>
          <img data-ref="avatar" alt="">
          <div class="title"><h2 id="cc-name" data-ref="name"></h2><p class="status" data-ref="status"></p></div>
          <button type="button" class="close" data-ref="close"><span aria-hidden="true">×</span></button>
        </header>
        <div class="log" data-ref="log" role="log" aria-live="off" tabindex="0"></div>
        <div class="typing" data-ref="typing" role="status" hidden>
          <span class="dot"></span><span class="dot"></span><span class="dot"></span>
          <span class="sr" data-ref="typingText"></span>
        </div>
        <p class="agent-typing" data-ref="agentTyping" role="status" hidden></p>
        <form data-ref="form" autocomplete="off">
          <label class="sr" for="cc-input" data-ref="label"></label>
          <input id="cc-input" data-ref="input" enterkeyhint="send">
          <button type="submit" class="send" data-ref="send"><span aria-hidden="true">➤</span></button>
        </form>
      </section>
      <button type="button" class="launcher" data-ref="launcher" aria-expanded="false" aria-controls="cc-panel">
        <img data-ref="launcherAvatar" alt=""><span class="badge" data-ref="badge" hidden></span>
      </button>
    </div>`;

  const state = {
    config: { botName: "Assistant", avatar: "/static/avatar.svg", defaultLanguage: "nl", maxMessageChars: 2000 },
    lang: "nl", owner: "bot", agentName: "", lastId: 0, shown: new Set(),
    pending: false, open: false, unread: false, source: null, retryMs: 1000, memory: {},
    restored: false, welcomed: false,
  };
  const FULL_SCREEN = window.matchMedia("(max-width: 480px)"); // keep in step with the CSS
  const host = document.createElement("cc-chat-widget");
  const $ = {}; // the widget's elements, by data-ref

  // --- storage: the host page's, namespaced; memory when storage is blocked ---------------------

  function read(key, session) {
    try { return (session ? sessionStorage : localStorage).getItem(KEY + key); }
    catch (e) { return state.memory[key] || null; }
  }

  function write(key, value, session) {
    state.memory[key] = value;
    try { (session ? sessionStorage : localStorage).setItem(KEY + key, value); } catch (e) { /* memory only */ }
  }

  function senderId(create) {
    let sender = read("sender");
    if (!sender && create) {
      sender = randomId();
      write("sender", sender);
    }
    return sender;
  }

  function token() {
    return OPTIONS.page ? "" : read("token"); // in page mode the HttpOnly cookie holds it
  }

  function adopt(data) {
    // The gateway names the conversation's sender and, when it opened one, its new token.
    if (data.sender) write("sender", data.sender);
    if (data.token && !OPTIONS.page) write("token", data.token);
  }

  function forget() {
    write("sender", "");
    write("token", "");
  }

  function randomId() {
    // Proposed as the sender of a new conversation: the gateway keeps it if it is new.
    if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- language and texts ------------------------------------------------------------------------

  function documentLocale() {
    // A host page's lang says what its visitors read; in page mode it is the chat's own (applyTexts).
    return OPTIONS.page || OPTIONS.browser ? "" : document.documentElement.lang;
  }

  function pageLocale() {
    return OPTIONS.locale || documentLocale() || navigator.language || "";
  }

  function initialLanguage() {
    const candidates = [OPTIONS.locale, documentLocale(), navigator.language];
    for (const locale of candidates) {
      const lang = (locale || "").slice(0, 2).toLowerCase();
      if (UI[lang]) return lang;
    }
    return UI[state.config.defaultLanguage] ? state.config.defaultLanguage : "nl";
  }

  function t(key) {
    return UI[state.lang][key].replace("{bot}", state.config.botName);
  }

  function applyTexts() {
    $.widget.lang = state.lang;
    if (OPTIONS.page) document.documentElement.lang = state.lang;
    $.input.placeholder = t("placeholder");
    $.label.textContent = t("label");
    $.send.setAttribute("aria-label", t("send"));
    $.close.setAttribute("aria-label", t("close"));
    $.log.setAttribute("aria-label", t("log"));
    if (state.pending) $.typingText.textContent = t("typing");
    for (const box of $.log.querySelectorAll(".buttons")) box.setAttribute("aria-label", t("choices"));
    showLauncherLabel();
    showStatus();
  }

  function showLauncherLabel() {
    const label = state.open ? t("close") : state.unread ? t("openUnread") : t("open");
    $.launcher.setAttribute("aria-label", label);
    $.badge.hidden = !state.unread || state.open;
  }

  function showStatus() {
    if (state.owner === "agent") {
      $.status.textContent = t("agent") + (state.agentName ? " · " + state.agentName : "");
    } else {
      $.status.textContent = state.owner === "queued" ? t("queued") : t("status");
    }
  }

  function applyConversation(language, owner) {
    if (UI[language]) state.lang = language;
    if (owner) state.owner = owner;
    applyTexts();
  }

  // --- building the widget -------------------------------------------------------------------------

  function build() {
    const root = host.attachShadow({ mode: "open" });
    addStyles(root);
    const holder = document.createElement("div");
    holder.innerHTML = TEMPLATE; // a constant: see above
    root.append(...holder.childNodes);
    for (const node of root.querySelectorAll("[data-ref]")) $[node.getAttribute("data-ref")] = node;
    $.launcher.addEventListener("click", () => setOpen(!state.open, true));
    $.close.addEventListener("click", () => setOpen(false, true));
    $.form.addEventListener("submit", onSubmit);
    $.input.addEventListener("input", sayTyping);
    for (const img of [$.avatar, $.launcherAvatar]) img.addEventListener("error", () => { img.hidden = true; });
    root.addEventListener("keydown", onKeydown);
  }

  function addStyles(root) {
    // A constructed sheet is not an inline <style>, so a host page's CSP style-src does not block it.
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet.prototype.replaceSync === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
      return;
    }
    const style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }

  function showPersona() {
    const avatar = safeUrl(state.config.avatar);
    $.name.textContent = state.config.botName;
    $.avatar.src = avatar;
    $.launcherAvatar.src = avatar;
    $.input.maxLength = state.config.maxMessageChars || 2000;
  }

  function safeUrl(raw) {
    try {
      const url = new URL(raw, GATEWAY);
      if (url.protocol === "https:" || url.protocol === "http:") return url.href;
    } catch (e) { /* fall through */ }
    return GATEWAY + "/static/avatar.svg";
  }

  // --- opening and closing -------------------------------------------------------------------------

  function showAsPage() {
    // data-mode="page": the panel is the page (its main landmark, not a dialog) and never closes.
    // Its elements keep the ids the web chat page has always had (#text, #send, #status, ...).
    const ids = { avatar: "avatar", name: "botname", status: "status", log: "log", form: "form", input: "text", send: "send" };
    for (const [ref, id] of Object.entries(ids)) $[ref].id = id;
    $.label.htmlFor = $.input.id;
    $.panel.setAttribute("role", "main");
    $.panel.setAttribute("aria-labelledby", $.name.id);
    $.widget.classList.add("page");
    $.launcher.hidden = true;
    $.close.hidden = true;
    state.open = true;
    $.panel.hidden = false;
    $.input.focus();
  }

  function setOpen(open, moveFocus) {
    state.open = open;
    if (open) state.unread = false;
    $.panel.hidden = !open;
    $.panel.setAttribute("aria-modal", String(open && FULL_SCREEN.matches));
    $.launcher.setAttribute("aria-expanded", String(open));
    $.launcher.classList.toggle("is-open", open);
    write("open", open ? "1" : "", true);
    showLauncherLabel();
    if (open) scrollDown();
    if (moveFocus) (open ? $.input : $.launcher).focus();
    if (open) showWelcome();
  }

  async function showWelcome() {
    // The opening message (GET /api/chat/welcome), once, when the panel is open on an empty
    // conversation: nothing is stored until the customer writes or presses one of its buttons.
    if (state.welcomed || !state.restored || !state.open || $.log.childElementCount) return;
    state.welcomed = true;
    try {
      const data = await getJson("/api/chat/welcome", { locale: state.lang });
      if ($.log.childElementCount) return; // the customer was quicker
      for (const reply of data.replies || []) showReply(reply);
    } catch (error) {
      state.welcomed = false; // try again when the panel opens again
    }
  }

  function onKeydown(event) {
    if (!state.open || OPTIONS.page) return; // a page neither closes nor traps the focus
    if (event.key === "Escape") {
      event.stopPropagation();
      setOpen(false, true);
    } else if (event.key === "Tab" && FULL_SCREEN.matches) {
      keepFocusInPanel(event);
    }
  }

  function keepFocusInPanel(event) {
    // Full screen the panel is all there is: Tab cycles through it instead of the page behind.
    const items = [...$.panel.querySelectorAll("button, input, [tabindex='0']")]
      .filter((item) => !item.disabled && item.offsetParent !== null);
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1], active = host.shadowRoot.activeElement;
    if (event.shiftKey ? active === first : active === last) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  }

  // --- the conversation ----------------------------------------------------------------------------

  function addBubble(kind, text, who) {
    if (kind !== "error") retireButtons(); // a newer message: older choices are stale
    const div = document.createElement("div");
    div.className = "msg " + kind;
    if (who) {
      const name = document.createElement("span");
      name.className = "who";
      name.textContent = who;
      div.appendChild(name);
    }
    div.appendChild(document.createTextNode(text || "")); // always text, never HTML
    $.log.appendChild(div);
    scrollDown();
    return div;
  }

  function addButtons(buttons) {
    retireButtons(); // only the newest message's choices can be pressed
    const box = document.createElement("div");
    box.className = "buttons";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", t("choices"));
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", () => choose(box, button, b));
      box.appendChild(button);
    }
    $.log.appendChild(box);
    revealButtons(box);
  }

  async function choose(box, button, choice) {
    if (box.classList.contains("done") || state.pending) return;
    $.input.focus(); // the choices are disabled now: keep the focus in the panel
    retireButtons(button);
    const sent = await send(choice.payload, choice.title);
    if (!sent && isNewest(box)) reopenButtons(box);
  }

  function retireButtons(chosen) {
    // Answered (a choice pressed, a message typed) or superseded by a newer message: disabled.
    for (const box of $.log.querySelectorAll(".buttons:not(.done)")) {
      box.classList.add("done");
      for (const button of box.querySelectorAll("button")) {
        button.disabled = true;
        if (button === chosen) {
          button.classList.add("chosen");
          button.setAttribute("aria-pressed", "true");
        }
      }
    }
  }

  function isNewest(box) {
    // Nothing but the customer's own message and an error came after these choices.
    for (let node = box.nextElementSibling; node; node = node.nextElementSibling) {
      if (!node.classList.contains("me") && !node.classList.contains("error")) return false;
    }
    return true;
  }

  function reopenButtons(box) {
    // Sending failed: the choices are still the newest, the customer may press one again.
    box.classList.remove("done");
    for (const button of box.querySelectorAll("button")) {
      button.disabled = false;
      button.classList.remove("chosen");
      button.removeAttribute("aria-pressed");
    }
  }

  function revealButtons(box) {
    // Choices (the 1-5 rating, say) are scrolled into view when they arrive, and again once
    // the layout has settled (the typing indicator gone, the panel just opened).
    scrollDown();
    requestAnimationFrame(() => {
      if (!box.isConnected || $.panel.hidden) return;
      const log = $.log.getBoundingClientRect(), own = box.getBoundingClientRect();
      if (own.bottom > log.bottom) $.log.scrollTop += own.bottom - log.bottom + 12;
    });
  }

  function offerButtons(message) {
    if (message && message.buttons && message.buttons.length) addButtons(message.buttons);
  }

  function kindOf(message) {
    if (message.author === "customer") return "me";
    if (message.author === "agent") return "agent";
    return message.event ? "notice" : "bot";
  }

  function showMessage(message, live) {
    if (message.id) {
      if (state.shown.has(message.id)) return;
      state.shown.add(message.id);
    }
    if (message.author === "agent" || message.event === EVENTS.AGENT_JOINED) {
      state.agentName = message.agent || state.agentName;
    }
    addBubble(kindOf(message), message.text, message.author === "agent" ? message.agent : "");
    if (live) {
      offerButtons(message);
      noteUnread();
    }
    showStatus();
  }

  function showReply(reply) {
    if (reply.text) addBubble("bot", reply.text);
    offerButtons(reply);
    noteUnread();
  }

  function noteUnread() {
    if (state.open) return;
    state.unread = true;
    showLauncherLabel();
  }

  function scrollDown() {
    $.log.scrollTop = $.log.scrollHeight;
  }

  function setPending(pending) {
    state.pending = pending;
    $.send.disabled = pending;
    $.typing.hidden = !pending;
    $.typingText.textContent = pending ? t("typing") : ""; // a change, so screen readers announce it
    $.log.setAttribute("aria-busy", String(pending));
    scrollDown();
  }

  // --- talking to the gateway ----------------------------------------------------------------------

  async function request(path, init) {
    const headers = { ...(init && init.headers) };
    const conversation = path === "/api/chat" || path === "/api/chat/history" || path === "/api/chat/typing"; // what the token opens
    if (conversation && token()) headers["X-Chat-Token"] = token();
    const credentials = OPTIONS.page ? "same-origin" : "omit"; // the page's cookie, never a host page's
    const response = await fetch(GATEWAY + path, { credentials, ...init, headers });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function getJson(path, params) {
    return request(path + (params ? "?" + new URLSearchParams(params) : ""));
  }

  function postJson(path, body) {
    return request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function send(text, label) {
    if (state.pending) return false;
    addBubble("me", label || text); // older choices are stale once the customer answers
    setPending(true);
    try {
      const body = { sender: senderId(true), text, locale: pageLocale() };
      if (label) body.button_title = label; // the transcript shows what the customer pressed
      const data = await postJson("/api/chat", body).catch((error) => {
        if (error.status !== 401 && error.status !== 403) throw error;
        forget(); // the token opens nothing any more (erased, say): a new conversation
        return postJson("/api/chat", { ...body, sender: senderId(true) });
      });
      adopt(data);
      if (data.token && state.source) { // a new conversation: listen to it instead
        state.source.close();
        state.source = null;
      }
      applyConversation(data.language, data.owner);
      for (const reply of data.replies || []) showReply(reply);
      listen();
      return true;
    } catch (error) {
      addBubble("error", error.status === 413 ? t("tooLong") : t("error"));
      return false;
    } finally {
      setPending(false);
      if (OPTIONS.page) $.input.focus(); // the page is only the chat: back to typing
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    const text = $.input.value.trim();
    if (!text || state.pending) return;
    $.input.value = "";
    const sent = await send(text);
    if (!sent && !$.input.value) $.input.value = text; // let the customer try again
  }

  function listen() {
    if (state.source || !senderId(false) || (!OPTIONS.page && !token())) return;
    const params = new URLSearchParams({ after: String(state.lastId) });
    if (token()) params.set("token", token()); // the server-issued token: EventSource sends no headers
    const source = new EventSource(GATEWAY + "/api/chat/stream?" + params);
    state.source = source;
    source.addEventListener("open", () => { state.retryMs = 1000; });
    source.addEventListener(EVENTS.MESSAGE, onPushed);
    source.addEventListener(EVENTS.OWNER, (event) => applyConversation(null, JSON.parse(event.data).owner));
    source.addEventListener(EVENTS.TYPING, (event) => showAgentTyping(JSON.parse(event.data).name));
    source.addEventListener("error", () => reconnect(source));
  }

  // --- typing, both ways (bot/core/typing_signals.py): at most one signal per 3 s, shown for 6 s ----

  function sayTyping() {
    // Only while a person has (or will have) the chat: the bot does not read along.
    const now = Date.now();
    if (state.owner === "bot" || !$.input.value.trim() || now - (state.typedAt || 0) < 3000) return;
    if (!senderId(false) || (!OPTIONS.page && !token())) return;
    state.typedAt = now;
    request("/api/chat/typing", { method: "POST" }).catch(() => { /* only a hint */ });
  }

  function showAgentTyping(name) {
    $.agentTyping.textContent = UI[state.lang].agentTyping.replace("{agent}", name || t("colleague"));
    $.agentTyping.hidden = false;
    clearTimeout(state.agentTypingTimer);
    state.agentTypingTimer = setTimeout(hideAgentTyping, 6000);
    scrollDown();
  }

  function hideAgentTyping() {
    clearTimeout(state.agentTypingTimer);
    $.agentTyping.hidden = true;
    $.agentTyping.textContent = "";
  }

  function onPushed(event) {
    const message = JSON.parse(event.data);
    if (message.author === "agent") hideAgentTyping();
    state.lastId = Math.max(state.lastId, message.id || 0);
    showMessage(message, true);
  }

  function reconnect(source) {
    // Reopen ourselves rather than let EventSource retry: the new URL carries the last id seen.
    source.close();
    if (state.source !== source) return;
    state.source = null;
    setTimeout(listen, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 30000);
  }

  async function restore() {
    if (!senderId(false) || (!OPTIONS.page && !token())) return; // without its token, nothing to show
    try {
      const data = await getJson("/api/chat/history");
      adopt(data);
      applyConversation(data.language, data.owner);
      for (const message of data.messages) showMessage(message, false);
      offerButtons(data.messages[data.messages.length - 1]); // only the newest can still be answered
      state.lastId = Math.max(state.lastId, data.last_id || 0);
      if (data.conversation_id) listen();
    } catch (error) { /* a fresh widget still works */ }
  }

  async function restoreQuietly() {
    await restore(); // the restored history is not read out; what arrives from now on is
    $.log.setAttribute("aria-live", "polite");
  }

  async function loadConfig() {
    if (OPTIONS.page) Object.assign(state.config, pageConfig());
    try {
      Object.assign(state.config, await getJson("/api/widget/config"));
    } catch (error) { /* defaults */ }
  }

  function pageConfig() {
    // The persona the gateway writes into its web chat page (webchat.html).
    const holder = document.getElementById("cc-chat-config");
    try { return holder ? JSON.parse(holder.textContent) : {}; } catch (error) { return {}; }
  }

  async function start() {
    build();
    await loadConfig();
    showPersona();
    state.lang = initialLanguage();
    applyTexts();
    document.body.appendChild(host);
    if (OPTIONS.page) {
      showAsPage();
    } else if (read("open", true) || OPTIONS.open) setOpen(true, false);
    await restoreQuietly();
    state.restored = true;
    showWelcome();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
