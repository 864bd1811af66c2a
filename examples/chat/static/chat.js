// trinado chat: WebSocket first, long polling as the fallback (or with ?transport=poll).
// Both transports deliver the same "updates": {messages, cursor, presence, presence_version,
// reset, epoch}. Messages are kept once per id, in id order, whatever order they arrive in.
// The page sends its cursor and epoch back; the epoch changes when the server's numbering
// starts over (a restart, a store that lost its data), and then it gets reset.
// {"error": "..."} means the server's store is away (and {"error": null} that it is back).
(function () {
  "use strict";
  const app = document.getElementById("app");
  const room = app.dataset.room;
  const list = document.getElementById("messages");
  const presenceList = document.getElementById("presence");
  const status = document.getElementById("status");
  const form = document.getElementById("compose");
  const input = document.getElementById("body");
  let cursor = Number(app.dataset.cursor);
  let epoch = app.dataset.epoch || "";
  let presenceVersion = -1;
  let transport = app.dataset.transport === "poll" || !("WebSocket" in window) ? "poll" : "ws";
  let socket = null;
  let wsFailures = 0;
  let backoff = 500;

  function xsrf() {
    const m = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = "status " + (cls || "");
    app.dataset.state = cls || "";
  }

  function addMessage(m) {
    if (list.querySelector('li[data-id="' + m.id + '"]')) return;
    const li = document.createElement("li");
    li.className = "message";
    li.dataset.id = m.id;
    li.innerHTML = m.html; // rendered and escaped by the server's template
    let before = null;
    for (let el = list.lastElementChild; el; el = el.previousElementSibling) {
      if (Number(el.dataset.id) < m.id) break;
      before = el;
    }
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
    list.insertBefore(li, before);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function liveStatus() {
    setStatus(transport === "ws" ? "live (WebSocket)" : "live (long polling)", "live");
  }

  async function errorOf(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch (err) { /* not JSON */ }
    return "HTTP " + response.status;
  }

  function apply(update) {
    if ("error" in update) {
      if (update.error) setStatus(update.error, "down"); else liveStatus();
    }
    if (update.reset) list.textContent = ""; // the server restarted: its history replaces ours
    for (const m of update.messages || []) addMessage(m);
    if (typeof update.cursor === "number" && (update.reset || update.cursor > cursor)) {
      cursor = update.cursor;
    }
    if (typeof update.epoch === "string" && update.epoch) epoch = update.epoch;
    if (update.presence && update.presence_version !== presenceVersion) {
      presenceVersion = update.presence_version;
      presenceList.textContent = "";
      for (const name of update.presence) {
        const li = document.createElement("li");
        li.textContent = name;
        presenceList.appendChild(li);
      }
    }
  }

  function retryLater(start, why) {
    setStatus(why || "reconnecting…", "down");
    setTimeout(start, backoff);
    backoff = Math.min(backoff * 2, 8000);
  }

  // ---- WebSocket
  function connectSocket() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + location.host + "/chatsocket?room=" + encodeURIComponent(room) +
      "&cursor=" + cursor + "&epoch=" + encodeURIComponent(epoch);
    let opened = false;
    socket = new WebSocket(url);
    socket.onopen = function () {
      opened = true;
      wsFailures = 0;
      backoff = 500;
      liveStatus();
    };
    socket.onmessage = function (event) {
      const update = JSON.parse(event.data);
      if (!("error" in update) && app.dataset.state === "down") liveStatus(); // news: working
      apply(update);
    };
    socket.onclose = function () {
      socket = null;
      if (!opened && ++wsFailures >= 3) {
        transport = "poll"; // WebSockets do not get through: fall back to long polling
        poll();
        return;
      }
      retryLater(connectSocket);
    };
  }

  // ---- Long polling
  function post(path, fields) {
    const body = new URLSearchParams(fields);
    return fetch(path, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Xsrftoken": xsrf() },
    });
  }

  async function poll() {
    if (app.dataset.state !== "down") liveStatus();
    let response;
    try {
      response = await post("/a/message/updates", {
        room: room, cursor: String(cursor), presence_version: String(presenceVersion),
        epoch: epoch,
      });
    } catch (err) {
      retryLater(poll);
      return;
    }
    if (response.status === 403 || response.redirected) { location.reload(); return; }
    if (!response.ok) { retryLater(poll, await errorOf(response)); return; }
    liveStatus();
    apply(await response.json());
    backoff = 500;
    setTimeout(poll, 0);
  }

  // ---- Sending
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const text = input.value;
    if (!text) return;
    if (transport === "ws" && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ body: text }));
      input.value = "";
      return;
    }
    try {
      const response = await post("/a/message/new", { room: room, body: text });
      if (!response.ok) { setStatus(await errorOf(response), "down"); return; }
      input.value = "";
      apply({ messages: [await response.json()] });
    } catch (err) {
      setStatus("could not send, retry", "down");
    }
  });

  list.scrollTop = list.scrollHeight;
  if (transport === "ws") connectSocket(); else poll();
})();
