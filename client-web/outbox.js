// The outbox: commands that change something (annotations) wait here, in IndexedDB,
// until the server has answered them. Each keeps the command id it was given first, so
// a resend after an unknown outcome (a dropped link, a reload) is applied once: the
// server answers a repeated id with the first attempt's result (docs/protocol.md).
import { CommandError } from './connection.js';

const STORE = 'commands';
// Outcomes that will not change by sending again: the command is done with.
const FINAL_ERRORS = new Set(['duplicate', 'not_found', 'forbidden', 'invalid', 'limit',
  'bad_envelope', 'unknown_command']);

export class Outbox {
  #dbName;
  #db = null;
  #memory = new Map(); // when IndexedDB is not there (private mode): this tab only
  #connection;
  #flushing = null;
  #listeners = new Set();
  #count = 0;

  constructor(connection, userKey) {
    this.#connection = connection;
    this.#dbName = `phonghop-outbox-${userKey}`;
  }

  /** `listener(count, {done, failed})` after every change; returns an unsubscribe. */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get count() { return this.#count; }

  /** Keep a command {id, cmd, meeting_id, args} and send it when the link allows. */
  async submit(command) {
    const item = { ...command, queued: Date.now() };
    await this.#put(item);
    await this.#changed();
    this.flush();
  }

  /** Everything still waiting, oldest first. */
  async items() {
    const db = await this.#open();
    if (!db) return [...this.#memory.values()].sort((a, b) => a.queued - b.queued);
    const all = await request(db.transaction(STORE).objectStore(STORE).getAll());
    return all.sort((a, b) => a.queued - b.queued);
  }

  /** Send what waits, in order, once at a time; stops at the first unknown outcome. */
  flush() {
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#drain().finally(() => { this.#flushing = null; });
    return this.#flushing;
  }

  async #drain() {
    for (;;) {
      if (!this.#connection.connected) return;
      const [item] = await this.items();
      if (!item) return;
      let outcome;
      try {
        outcome = { data: await this.#connection.request(item.cmd, item.meeting_id, item.args, { id: item.id }) };
      } catch (error) {
        if (!(error instanceof CommandError) || error.transient || !FINAL_ERRORS.has(error.code)) return;
        outcome = { error };
      }
      await this.#delete(item.id);
      await this.#changed({ item, ...outcome });
    }
  }

  async #changed(detail = null) {
    this.#count = (await this.items()).length;
    for (const listener of this.#listeners) listener(this.#count, detail);
  }

  // ---- storage ----------------------------------------------------------------------

  async #open() {
    if (this.#db !== null) return this.#db || null;
    if (!('indexedDB' in window)) {
      this.#db = false;
      return null;
    }
    try {
      const open = indexedDB.open(this.#dbName, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'id' });
      this.#db = await request(open);
    } catch {
      this.#db = false;
    }
    return this.#db || null;
  }

  async #put(item) {
    const db = await this.#open();
    if (!db) {
      this.#memory.set(item.id, item);
      return;
    }
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(item);
    await done(tx);
  }

  async #delete(id) {
    const db = await this.#open();
    if (!db) {
      this.#memory.delete(id);
      return;
    }
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(id);
    await done(tx);
  }
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}
