// The meeting websocket (docs/protocol.md). One `Connection` per signed-in tab owns the
// socket, the commands waiting for their result, the meetings joined and their
// subscribers. It reconnects by itself with back-off and joins every meeting again with
// the last sequence number applied, so the server replays exactly what was missed.

const BACKOFF_MS = Object.freeze([500, 1000, 2000, 4000, 8000, 15000]);
const COMMAND_TIMEOUT_MS = 15000;
const CLOSE_TOO_SLOW = 4008;

/** A command the server refused, or one that could not be sent. */
export class CommandError extends Error {
  constructor(code, message = '') {
    super(message || code);
    this.name = 'CommandError';
    this.code = code;
  }

  /** True when the outcome is unknown: retry with the same command id. */
  get transient() {
    return ['offline', 'disconnected', 'timeout', 'internal', 'rate_limited'].includes(this.code);
  }
}

/**
 * One joined meeting: the sequence number applied so far and the presentation state,
 * kept in sessionStorage so a reload continues from there (the server then replays the
 * gap instead of sending a snapshot).
 */
class MeetingLog {
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
    let saved = null;
    try { saved = JSON.parse(storage?.getItem(key) ?? 'null'); } catch { saved = null; }
    this.seq = Number.isInteger(saved?.seq) ? saved.seq : null;
    this.presentation = saved?.presentation ?? null;
  }

  save() {
    try {
      this.storage?.setItem(this.key, JSON.stringify({ seq: this.seq, presentation: this.presentation }));
    } catch { /* private mode or full: replay from a snapshot next time */ }
  }
}

export class Connection {
  #url;
  #storage;
  #userKey;
  #socket = null;
  #state = 'idle'; // idle | connecting | connected | reconnecting | offline | closed
  #attempt = 0;
  #retryAt = 0;
  #retryTimer = 0;
  #counter = 0;
  #prefix = Math.random().toString(36).slice(2, 8);
  #pending = new Map(); // command id → {resolve, reject, timer}
  #meetings = new Map(); // meeting id → {log, following, subscribers: Set, joined: bool}
  #statusListeners = new Set();
  #onOnline = () => this.#wake();
  #onOffline = () => this.#goOffline();
  user = null;

  constructor({ url = defaultUrl(), storage = window.sessionStorage, userKey = 'me' } = {}) {
    this.#url = url;
    this.#storage = storage;
    this.#userKey = userKey;
    window.addEventListener('online', this.#onOnline);
    window.addEventListener('offline', this.#onOffline);
  }

  get state() { return this.#state; }
  get connected() { return this.#state === 'connected'; }
  /** Seconds until the next attempt while reconnecting. */
  get retryIn() { return Math.max(0, Math.ceil((this.#retryAt - Date.now()) / 1000)); }

  /** `listener(state)` on every change of state; returns an unsubscribe function. */
  onStatus(listener) {
    this.#statusListeners.add(listener);
    listener(this.#state);
    return () => this.#statusListeners.delete(listener);
  }

  open() {
    if (this.#state !== 'idle' && this.#state !== 'closed') return;
    if (navigator.onLine === false) this.#setState('offline');
    else this.#connect();
  }

  close() {
    this.#setState('closed');
    clearTimeout(this.#retryTimer);
    window.removeEventListener('online', this.#onOnline);
    window.removeEventListener('offline', this.#onOffline);
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000);
    this.#failPending('disconnected');
  }

  /** A new command id, unique per user: a device prefix and a counter. */
  nextId(kind = 'c') {
    this.#counter += 1;
    return `${kind}-${this.#prefix}-${Date.now().toString(36)}-${this.#counter}`;
  }

  /**
   * Send a command; resolves with the result's `data`, rejects with a CommandError.
   * Pass the same `id` again to retry a command whose outcome is unknown.
   */
  request(cmd, meetingId, args = {}, { id = this.nextId() } = {}) {
    if (this.#state !== 'connected') return Promise.reject(new CommandError('offline'));
    return this.#send({ id, cmd, meeting_id: meetingId, args });
  }

  /**
   * Join a meeting and keep it joined across reconnects. `handlers`:
   *   event(name, data, frame) for every event (durable ones once each, in order),
   *   joined(result, log) after each (re)join, with the presentation state applied so far.
   * Returns {leave(), setFollowing(bool), log}.
   */
  join(meetingId, handlers, { following = true } = {}) {
    let entry = this.#meetings.get(meetingId);
    if (!entry) {
      entry = { log: new MeetingLog(this.#storage, `phonghop.meeting.${this.#userKey}.${meetingId}`),
        following, subscribers: new Set(), joined: false };
      this.#meetings.set(meetingId, entry);
    }
    entry.following = following;
    entry.subscribers.add(handlers);
    if (this.connected) this.#join(meetingId, entry);
    return {
      log: entry.log,
      setFollowing: (value) => { entry.following = value; },
      leave: () => {
        entry.subscribers.delete(handlers);
        if (entry.subscribers.size) return;
        this.#meetings.delete(meetingId);
        if (this.connected) this.request('meeting.leave', meetingId).catch(() => {});
      },
    };
  }

  // ---- the socket -------------------------------------------------------------------

  #connect() {
    clearTimeout(this.#retryTimer);
    this.#setState(this.#attempt ? 'reconnecting' : 'connecting');
    let socket;
    try {
      socket = new WebSocket(this.#url);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      if (socket === this.#socket) this.#receive(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.#socket) return;
      this.#socket = null;
      this.#failPending('disconnected');
      for (const entry of this.#meetings.values()) entry.joined = false;
      if (this.#state === 'closed' || this.#state === 'offline') return;
      // 4008: we fell behind; the replay on the next join gives what was missed.
      if (event.code === CLOSE_TOO_SLOW) this.#attempt = 0;
      this.#scheduleRetry();
    });
  }

  #scheduleRetry() {
    if (this.#state === 'closed' || this.#state === 'offline') return;
    const base = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)];
    this.#attempt += 1;
    const delay = base * (0.8 + Math.random() * 0.4);
    this.#retryAt = Date.now() + delay;
    this.#setState('reconnecting');
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #wake() {
    if (this.#state === 'closed') return;
    if (this.#state === 'connected' || this.#state === 'connecting') return;
    this.#attempt = Math.max(this.#attempt, 1);
    this.#connect();
  }

  /** The device says the network is gone: stop trying until it says it is back. */
  #goOffline() {
    if (this.#state === 'closed') return;
    clearTimeout(this.#retryTimer);
    this.#setState('offline');
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000);
    this.#failPending('offline');
    for (const entry of this.#meetings.values()) entry.joined = false;
  }

  #setState(state) {
    this.#state = state;
    for (const listener of this.#statusListeners) listener(state);
  }

  #send(frame) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(frame.id);
        reject(new CommandError('timeout'));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(frame.id, { resolve, reject, timer });
      try {
        this.#socket.send(JSON.stringify(frame));
      } catch {
        clearTimeout(timer);
        this.#pending.delete(frame.id);
        reject(new CommandError('disconnected'));
      }
    });
  }

  #failPending(code) {
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new CommandError(code));
    }
    this.#pending.clear();
  }

  #receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (frame.type === 'hello') {
      this.user = frame.user;
      this.#attempt = 0;
      this.#setState('connected');
      for (const [meetingId, entry] of this.#meetings) this.#join(meetingId, entry);
    } else if (frame.type === 'result') {
      const pending = this.#pending.get(frame.id);
      if (!pending) return;
      this.#pending.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.ok) pending.resolve(frame.data ?? {});
      else pending.reject(new CommandError(frame.error?.code ?? 'internal', frame.error?.message));
    } else if (frame.type === 'event') {
      this.#event(frame);
    }
  }

  #event(frame) {
    const entry = this.#meetings.get(frame.meeting_id);
    if (!entry) return;
    const log = entry.log;
    if (frame.seq !== null && frame.seq !== undefined) {
      // Durable: apply once, in order; one seen twice around a reconnect is dropped.
      if (log.seq !== null && frame.seq <= log.seq) return;
      log.seq = frame.seq;
      if (frame.name === 'presentation.changed') log.presentation = frame.data;
      log.save();
    }
    for (const handlers of entry.subscribers) {
      try { handlers.event?.(frame.name, frame.data, frame); } catch (error) { console.error(error); }
    }
  }

  async #join(meetingId, entry) {
    if (entry.joining) return;
    entry.joining = true;
    let result;
    try {
      result = await this.#send({ id: this.nextId('j'), cmd: 'meeting.join', meeting_id: meetingId,
        args: { last_seq: entry.log.seq, following: entry.following } });
    } catch (error) {
      entry.joining = false;
      if (error.code !== 'disconnected' && error.code !== 'offline') {
        for (const handlers of entry.subscribers) handlers.failed?.(error);
      }
      return;
    }
    entry.joining = false;
    if (this.#meetings.get(meetingId) !== entry) return;
    const log = entry.log;
    if (result.snapshot) log.presentation = result.snapshot.presentation ?? null;
    if (log.seq === null || result.seq > log.seq || result.snapshot) log.seq = result.seq;
    log.save();
    entry.joined = true;
    for (const handlers of entry.subscribers) {
      try { handlers.joined?.(result, log); } catch (error) { console.error(error); }
    }
  }
}

function defaultUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/ws`;
}
