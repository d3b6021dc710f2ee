// The project WebSocket, reconnecting by itself with backoff and saying so. Every message,
// both ways, is one envelope {type, data} (annotator/messages.py lists them): send() takes the
// two, and onMessage gets the envelope.

export class ProjectSocket {
  constructor(projectId, { onMessage, onState }) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = `${scheme}://${location.host}/ws/projects/${projectId}/`;
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.queue = [];
    this.delay = 500;
    this.opened = [];
    this.connect();
    setInterval(() => this.send("ping", {}, { queue: false }), 25000);
  }

  connect() {
    this.onState(this.everConnected ? "reconnecting" : "connecting");
    this.ws = new WebSocket(this.url);
    this.ws.onopen = () => {
      const again = this.everConnected;
      this.everConnected = true;
      this.delay = 500;
      this.onState(again ? "reconnected" : "connected");
      for (const message of this.opened) this.ws.send(JSON.stringify(message));
      while (this.queue.length) this.ws.send(JSON.stringify(this.queue.shift()));
    };
    this.ws.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    this.ws.onclose = (event) => {
      if (event.code === 4401 || event.code === 4404) {
        this.onState("refused");
        return;
      }
      this.onState("reconnecting");
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }

  send(type, data, { queue = true } = {}) {
    const message = { type, data };
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
    } else if (queue) {
      this.queue.push(message);
    }
  }

  // Messages re-sent after every reconnect, such as which image this tab has open.
  sendSticky(type, data) {
    this.opened = this.opened.filter((m) => m.type !== type);
    this.opened.push({ type, data });
    this.send(type, data, { queue: false });
  }
}

export function csrfToken() {
  const match = document.cookie.match(/csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(method, url, body) {
  const options = {
    method,
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    credentials: "same-origin",
  };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    // The server is down or the network is gone: an answer like any other, never a throw.
    return { ok: false, status: 0, data: { error: { message: "The server cannot be reached. Check your connection and try again." } } };
  }
  let data = null;
  if (response.status !== 204) {
    const text = await response.text();
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { error: { message: `The server answered ${response.status}.` } };
    }
  }
  return { ok: response.ok, status: response.status, data };
}

export function errorMessage(result) {
  return result.data?.error?.message || `The server answered ${result.status}.`;
}
