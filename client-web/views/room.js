// The meeting room: the agenda (and search, and who takes part) beside the document,
// kept live over the meeting websocket: the presenter's page, who is here, the notes.
import { h, replace } from '../dom.js';
import { FollowController } from '../follow.js';
import { icon, iconButton } from '../icons.js';
import { InkLayer } from '../ink.js';
import { OfflineCache } from '../offline.js';
import { Outbox } from '../outbox.js';
import { ConnectionIndicator } from '../status.js';
import { VideoPanel } from '../video.js';
import { DocumentViewer } from '../viewer.js';

const POLL_MS = 1000;
const SEARCH_DELAY_MS = 350;
const ROLE_ORDER = Object.freeze(['chair', 'secretary', 'delegate', 'site', 'guest']);

export class RoomView {
  name = 'room';
  #abort = new AbortController();
  #meetingId;
  #query;
  #meeting = null;
  #documents = new Map(); // id → DocumentOut (from the meeting)
  #details = new Map(); // id → DocumentDetail
  #items = new Map(); // id → {item, number}
  #currentItemId = null;
  #viewer = null;
  #poll = 0;
  #searchTimer = 0;
  #searchAbort = null;
  #hits = [];
  #activeHit = null;
  #els = {};
  #onKey = (event) => this.#keydown(event);
  #live = null; // the joined meeting on the app's Connection
  #follow = null;
  #ink = null;
  #outbox = null;
  #unwatchOutbox = null;
  #indicator = null;
  #offline = null;
  #presence = new Map(); // socket key → presence entry
  #video = null;
  #wide = window.matchMedia('(min-width: 1000px)');

  constructor(app, [meetingId], query) {
    this.app = app;
    this.#meetingId = Number(meetingId);
    this.#query = query;
  }

  async mount(root) {
    const { i18n, api } = this.app;
    const t = (key, vars) => i18n.t(key, vars);
    root.append(h('p', { class: 'loading page' }, t('common.loading')));
    const meeting = await api.meeting(this.#meetingId, this.#abort.signal);
    this.#meeting = meeting;
    for (const document of meeting.documents) this.#documents.set(document.id, document);
    numberItems(meeting.agenda, '', this.#items);
    this.app.setTitle(meeting.title);
    this.app.setContext(
      h('a', { class: 'btn btn-topbar', href: '#/meetings', 'aria-label': t('room.back'), title: t('room.back') },
        icon('back')),
      h('div', { class: 'context-title' },
        h('span', { class: 'context-name' }, meeting.title),
        h('span', { class: `badge status-${meeting.status}` }, t(`status.${meeting.status}`))),
      this.#els.contextStatus = h('span', { class: 'context-status' }),
      meeting.can_edit ? h('a', { class: 'btn btn-topbar', href: `#/meetings/${meeting.id}/prepare`,
        'data-testid': 'prepare-link' }, icon('prepare'), h('span', { class: 'btn-topbar-text' }, t('room.prepare'))) : null);

    const sideToggle = iconButton('menu', t('room.toggleSide'), {
      'aria-controls': 'room-side', onclick: () => this.#toggleSide() });
    this.#els.sideToggle = sideToggle;
    const presenterSlot = h('div', { class: 'presenter-slot' });
    const bannerSlot = h('div', { class: 'banner-slot' });
    const inkSlot = h('div', { class: 'ink-slot' });
    this.#video = new VideoPanel({
      i18n, connection: this.app.connection, meetingId: this.#meetingId, role: meeting.my_role,
      onError: (error) => this.app.status.show(
        `${i18n.t('error.lead')} ${error.message || describeCode(error)}`, 'error'),
    });
    this.#viewer = new DocumentViewer({
      i18n, pageWidths: meeting.page_widths, toolbarStart: [sideToggle], toolbarEnd: [presenterSlot, this.#video.toggle],
      rows: [inkSlot, bannerSlot],
      onPageChange: (document, page, origin) => this.#pageChanged(document, page, origin),
      onViewChange: () => this.#follow?.viewChanged(),
    });
    this.#startLive(presenterSlot, bannerSlot, inkSlot);
    const side = this.#buildSide();
    const scrim = h('div', { class: 'room-scrim', onclick: () => this.#toggleSide(false) });
    this.#els.room = h('div', { class: 'room' }, side, scrim, this.#viewer.element, this.#video.element);
    replace(root, this.#els.room);
    this.#toggleSide(this.#wide.matches);
    document.addEventListener('keydown', this.#onKey);

    const wanted = Number(this.#query.get('doc'));
    const page = Number(this.#query.get('page')) || 1;
    if (!this.#viewer.document) { // unless the presenter's page came first
      if (this.#documents.has(wanted)) await this.openDocument(wanted, page, { origin: 'program' });
      else {
        const first = firstDocument(meeting.agenda) ?? meeting.documents[0]?.id;
        if (first !== undefined) await this.openDocument(first, 1, { origin: 'program' });
        else this.#viewer.showEmpty(t('room.noDocumentsAtAll'));
      }
    }
    this.#keepOffline();
  }

  /** Download every page of the meeting ahead, and say how far it got. */
  #keepOffline() {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    const line = this.#els.offline;
    if (!OfflineCache.supported) {
      replace(line, icon('cloud'), h('span', {}, t('offline.unsupported')));
      return;
    }
    const bar = h('progress', { max: '1', value: '0' });
    const text = h('span', { 'data-testid': 'offline-text' });
    replace(line, icon('cloud'), h('span', { class: 'offline-body' }, text, bar));
    this.#offline = new OfflineCache({
      documents: this.#meeting.documents, pageWidths: this.#meeting.page_widths,
      width: this.#viewer.bucketWidth(),
      onProgress: ({ ready, count }) => {
        text.textContent = t('offline.progress', { ready, count });
        bar.max = count || 1;
        bar.value = ready;
        line.classList.toggle('is-done', ready === count);
      },
    });
    this.#offline.run().catch((error) => console.warn(error));
  }

  // ---- live: the websocket, following the presenter, presence ----------------------

  #startLive(presenterSlot, bannerSlot, inkSlot) {
    const { i18n } = this.app;
    const connection = this.app.connection;
    const meeting = this.#meeting;
    const names = new Map(meeting.participants.map((p) => [p.user_id, p.full_name || p.username]));
    const send = (cmd, args) => {
      if (cmd === 'presence.update') this.#live?.setFollowing(args.following);
      return connection.request(cmd, this.#meetingId, args);
    };
    this.#follow = new FollowController({
      i18n, me: this.app.user.id, role: meeting.my_role, names, viewer: this.#viewer, send,
      navigate: (documentId, page) => this.openDocument(documentId, page, { origin: 'follow' }),
    });
    presenterSlot.append(this.#follow.controls);
    bannerSlot.append(this.#follow.banner);
    this.#indicator = new ConnectionIndicator(i18n, connection);
    this.#els.contextStatus.append(this.#indicator.element);

    const me = this.app.user.id;
    const outbox = new Outbox(connection, String(me));
    this.#outbox = outbox;
    this.#ink = new InkLayer({
      i18n, me, role: meeting.my_role, names, viewer: this.#viewer, send,
      submit: (cmd, args) => outbox.submit({ id: connection.nextId('a'), cmd, meeting_id: this.#meetingId, args })
        .catch((error) => this.app.status.error(error)),
      load: (documentId, page) => this.#loadAnnotations(documentId, page),
      onError: (error) => this.app.status.show(
        `${i18n.t('ink.failed')} ${error.message || describeCode(error)}`, 'error'),
    });
    inkSlot.append(this.#ink.toolbar);
    this.#unwatchOutbox = outbox.onChange((count, detail) => {
      this.#indicator.setOutbox(count);
      if (detail) this.#ink.confirmed(detail.item, detail.error);
    });
    outbox.items().then((items) => this.#indicator.setOutbox(items.length)).catch(() => {});
    this.#live = connection.join(this.#meetingId, {
      joined: (result, log) => {
        this.#presence = new Map(result.presence.map((entry) => [entry.key, entry]));
        this.#renderPresence();
        this.#follow.apply(log.presentation, { initial: true });
        this.#outbox.flush();
        this.#ink.reload();
        this.#video.start();
      },
      event: (name, data) => this.#onEvent(name, data),
      failed: (error) => this.app.status.show(`${i18n.t('error.lead')} ${error.message}`, 'error'),
    });
  }

  #onEvent(name, data) {
    switch (name) {
      case 'presentation.changed':
        this.#follow.apply(data);
        this.#renderPresence();
        break;
      case 'pointer.moved':
        this.#follow.showPointer(data);
        break;
      case 'presence.joined':
      case 'presence.updated':
        this.#presence.set(data.key, data);
        this.#renderPresence();
        break;
      case 'presence.left':
        this.#presence.delete(data.key);
        this.#renderPresence();
        break;
      case 'annotation.created':
      case 'annotation.updated':
      case 'annotation.deleted':
      case 'ink.progress':
        this.#ink.onEvent(name, data);
        break;
      case 'media.changed':
        this.#video.onEvent(name, data);
        break;
      default:
        break; // events this client does not know are ignored (protocol.md, versioning)
    }
  }

  /**
   * A page's annotations I may see: over the socket, or over HTTP while it is down; with
   * my changes still waiting in the outbox applied on top.
   */
  async #loadAnnotations(documentId, page) {
    const connection = this.app.connection;
    let list;
    if (connection.connected) {
      list = (await connection.request('annotation.list', this.#meetingId,
        { document_id: documentId, page })).annotations;
    } else {
      list = await this.app.api.request('GET', `/api/documents/${documentId}/annotations`,
        { query: { page }, signal: this.#abort.signal });
    }
    const waiting = await this.#outbox.items().catch(() => []);
    const deleted = new Set(waiting.filter((c) => c.cmd === 'annotation.delete').map((c) => c.args.id));
    const known = new Set(list.map((a) => a.id));
    const created = waiting.filter((c) => c.cmd === 'annotation.create' && c.args.document_id === documentId
      && c.args.page === page && !known.has(c.args.id))
      .map(({ args }) => ({ ...args, author_id: this.app.user.id, pending: true }));
    return [...list, ...created].filter((a) => !deleted.has(a.id));
  }

  #pageChanged(document, page, origin) {
    this.app.replaceQuery({ doc: document.id, page });
    this.#ink?.showPage(document.id, page);
    if (origin === 'user') this.#follow?.pageChanged(document, page);
  }

  destroy() {
    this.#live?.leave();
    this.#offline?.stop();
    this.#unwatchOutbox?.();
    this.#ink?.destroy();
    this.#video?.destroy();
    this.#indicator?.destroy();
    this.#follow?.destroy();
    this.#abort.abort();
    this.#searchAbort?.abort();
    clearTimeout(this.#poll);
    clearTimeout(this.#searchTimer);
    document.removeEventListener('keydown', this.#onKey);
    this.#viewer?.destroy();
  }

  // ---- the side panel: agenda, search, participants -------------------------------------

  #buildSide() {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    const meeting = this.#meeting;
    const panels = {
      agenda: this.#buildAgenda(),
      search: this.#buildSearch(),
      people: this.#buildPeople(),
    };
    const tabs = Object.keys(panels).map((key) => h('button', {
      type: 'button', role: 'tab', class: 'tab', id: `tab-${key}`, 'aria-controls': `panel-${key}`,
      'aria-selected': key === 'agenda' ? 'true' : 'false', onclick: () => this.#selectTab(key),
    }, t(`room.tab.${key}`)));
    this.#els.tabs = tabs;
    this.#els.panels = panels;
    for (const [key, panel] of Object.entries(panels)) {
      panel.id = `panel-${key}`;
      panel.setAttribute('role', 'tabpanel');
      panel.setAttribute('aria-labelledby', `tab-${key}`);
      panel.hidden = key !== 'agenda';
    }
    const when = meeting.starts_at
      ? this.app.i18n.meetingTime(meeting.starts_at, meeting.ends_at) : t('meetings.noDate');
    return h('aside', { class: 'room-side', id: 'room-side', 'aria-label': t('room.side') },
      h('div', { class: 'room-info' },
        h('p', { class: 'meta' }, icon('clock'), h('span', {}, when)),
        meeting.place ? h('p', { class: 'meta' }, icon('pin'), h('span', {}, meeting.place)) : null,
        meeting.my_role ? h('p', { class: 'badges' }, h('span', { class: 'badge role' },
          t('meetings.myRole', { role: t(`role.${meeting.my_role}`) }))) : null,
        this.#els.offline = h('p', { class: 'offline-progress', 'data-testid': 'offline-progress',
          role: 'status', 'aria-live': 'polite' })),
      h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('room.side') }, tabs),
      Object.values(panels));
  }

  #selectTab(key) {
    for (const tab of this.#els.tabs) {
      tab.setAttribute('aria-selected', tab.id === `tab-${key}` ? 'true' : 'false');
    }
    for (const [name, panel] of Object.entries(this.#els.panels)) panel.hidden = name !== key;
    if (key === 'search') this.#els.searchInput.focus();
  }

  #toggleSide(open = !this.#els.room.classList.contains('side-open')) {
    this.#els.room.classList.toggle('side-open', open);
    this.#els.sideToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  /** On a narrow screen the side panel covers the page: close it once a choice is made. */
  #afterChoice() {
    if (!this.#wide.matches) this.#toggleSide(false);
  }

  #buildAgenda() {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    const meeting = this.#meeting;
    const attached = new Set();
    const list = h('ol', { class: 'agenda' }, meeting.agenda.map((item) => this.#agendaItem(item, attached)));
    const loose = meeting.documents.filter((d) => !attached.has(d.id));
    return h('div', { class: 'side-panel' },
      meeting.agenda.length ? list : h('p', { class: 'muted' }, t('room.noAgenda')),
      loose.length ? h('section', { class: 'loose-documents' },
        h('h3', {}, t('room.otherDocuments')),
        h('ul', { class: 'agenda-docs' }, loose.map((d) => h('li', {}, this.#documentLink(d))))) : null);
  }

  #agendaItem(item, attached) {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    const { number } = this.#items.get(item.id);
    const presenter = this.#meeting.participants.find((p) => p.id === item.presenter_id);
    const meta = [presenter?.full_name, item.duration_minutes ? t('room.minutes', { n: item.duration_minutes }) : null]
      .filter(Boolean).join(' · ');
    const documents = item.documents.map((id) => this.#documents.get(id)).filter(Boolean);
    for (const d of documents) attached.add(d.id);
    return h('li', { class: 'agenda-item', dataset: { itemId: String(item.id) } },
      h('button', { type: 'button', class: 'agenda-open', onclick: () => this.openItem(item.id) },
        h('span', { class: 'agenda-number' }, number),
        h('span', { class: 'agenda-text' },
          h('span', { class: 'agenda-title' }, item.title),
          meta ? h('span', { class: 'agenda-meta' }, meta) : null)),
      documents.length ? h('ul', { class: 'agenda-docs' }, documents.map((d) => h('li', {}, this.#documentLink(d)))) : null,
      item.children?.length ? h('ol', { class: 'agenda-children' },
        item.children.map((child) => this.#agendaItem(child, attached))) : null);
  }

  #documentLink(document) {
    return h('button', {
      type: 'button', class: 'doc-link', dataset: { documentId: String(document.id) },
      onclick: () => this.openDocument(document.id, 1),
    }, icon('file'), h('span', { class: 'doc-link-title' }, document.title),
    h('span', { class: 'doc-link-state' }, this.#documentState(document)));
  }

  #documentState(document) {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    if (document.state === 'ready') return t('room.pages', { n: document.page_count });
    if (document.state === 'failed') return t('document.failed');
    return t('document.processing', { ready: document.pages_ready, count: document.page_count });
  }

  #markCurrent(documentId) {
    for (const el of this.#els.room.querySelectorAll('.agenda-item')) {
      const current = Number(el.dataset.itemId) === this.#currentItemId;
      const button = el.querySelector(':scope > .agenda-open');
      el.classList.toggle('is-current', current);
      if (current) button.setAttribute('aria-current', 'step');
      else button.removeAttribute('aria-current');
    }
    for (const el of this.#els.room.querySelectorAll('.doc-link')) {
      const current = Number(el.dataset.documentId) === documentId;
      el.classList.toggle('is-current', current);
      if (current) el.setAttribute('aria-current', 'true');
      else el.removeAttribute('aria-current');
    }
  }

  #buildSearch() {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    const input = h('input', { type: 'search', id: 'search-input', name: 'q', autocomplete: 'off',
      placeholder: t('search.placeholder'), 'aria-label': t('search.label'), enterkeyhint: 'search' });
    input.addEventListener('input', () => {
      clearTimeout(this.#searchTimer);
      this.#searchTimer = setTimeout(() => this.search(input.value), SEARCH_DELAY_MS);
    });
    const form = h('form', { class: 'search-form', role: 'search' }, input,
      h('button', { type: 'submit', class: 'btn btn-primary btn-icon', 'aria-label': t('search.submit'),
        title: t('search.submit') }, icon('search')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(this.#searchTimer);
      this.search(input.value);
    });
    this.#els.searchInput = input;
    this.#els.searchSummary = h('p', { class: 'search-summary', 'aria-live': 'polite' });
    this.#els.searchHits = h('ol', { class: 'search-hits' });
    return h('div', { class: 'side-panel' }, form, this.#els.searchSummary, this.#els.searchHits);
  }

  async search(text) {
    const t = (key, vars) => this.app.i18n.t(key, vars);
    const q = text.trim();
    this.#searchAbort?.abort();
    if (!q) {
      this.#hits = [];
      this.#activeHit = null;
      replace(this.#els.searchHits);
      this.#els.searchSummary.textContent = '';
      this.#applyHighlights();
      return;
    }
    const abort = new AbortController();
    this.#searchAbort = abort;
    this.#els.searchSummary.textContent = t('search.searching');
    let result;
    try {
      result = await this.app.api.search(this.#meetingId, q, abort.signal);
    } catch (error) {
      if (error.name === 'AbortError') return;
      this.#els.searchSummary.textContent = '';
      this.app.status.error(error);
      return;
    }
    this.#hits = result.hits;
    this.#activeHit = null;
    this.#els.searchSummary.textContent = result.hits.length
      ? t(result.truncated ? 'search.countTruncated' : 'search.count', { n: result.hits.length })
      : t('search.none', { q });
    replace(this.#els.searchHits, result.hits.map((hit) => h('li', {},
      h('button', { type: 'button', class: 'search-hit', onclick: (event) => this.#openHit(hit, event.currentTarget) },
        h('span', { class: 'search-hit-head' },
          h('span', { class: 'search-hit-title' }, hit.document_title),
          h('span', { class: 'search-hit-page' }, t('search.page', { page: hit.page_label ?? this.#pageLabel(hit.document_id, hit.page) }))),
        h('span', { class: 'search-hit-snippet' }, hit.snippet)))));
    this.#applyHighlights();
  }

  /** A page's printed label ("iii") when the document's details are at hand. */
  #pageLabel(documentId, page) {
    return this.#details.get(documentId)?.pages?.[page - 1]?.label || String(page);
  }

  async #openHit(hit, button) {
    this.#activeHit = hit;
    for (const el of this.#els.searchHits.querySelectorAll('.search-hit')) {
      el.classList.toggle('is-current', el === button);
    }
    this.#afterChoice();
    await this.openDocument(hit.document_id, hit.page);
    this.#viewer.revealActiveHighlight();
  }

  #applyHighlights() {
    const document = this.#viewer.document;
    if (!document) return;
    this.#viewer.setHighlights(this.#hits.filter((hit) => hit.document_id === document.id).map((hit) => ({
      page: hit.page, boxes: hit.boxes.flat(), active: hit === this.#activeHit,
    })));
  }

  #buildPeople() {
    this.#els.people = h('div', { class: 'side-panel people-panel' });
    this.#renderPresence();
    return this.#els.people;
  }

  /** Everyone in the meeting by role, with who is here, who follows, who presents. */
  #renderPresence() {
    const container = this.#els.people;
    if (!container) return;
    const { i18n } = this.app;
    const t = (key, vars) => i18n.t(key, vars);
    const me = this.app.user.id;
    const isChair = this.#meeting.my_role === 'chair';
    const presenterId = this.#follow?.state?.presenter_id ?? null;
    const sites = new Map(this.#meeting.sites.map((s) => [s.id, s.name]));
    const here = new Map(); // user id → the entries of their sockets
    for (const entry of this.#presence.values()) {
      here.set(entry.user_id, [...(here.get(entry.user_id) ?? []), entry]);
    }
    const participants = this.#meeting.participants;
    const groups = ROLE_ORDER.map((role) => ({
      role,
      people: participants.filter((p) => p.role === role)
        .sort((a, b) => i18n.comparePeople(a.full_name || a.username, b.full_name || b.username)),
    })).filter((g) => g.people.length);
    const present = participants.filter((p) => here.has(p.user_id)).length;
    // The presenter sees how many of the others follow.
    const others = [...here.entries()].filter(([userId]) => userId !== me);
    const following = others.filter(([, entries]) => entries.some((e) => e.following)).length;
    this.#follow?.setFollowers(others.length ? { n: following, of: others.length } : null);

    const person = (p) => {
      const entries = here.get(p.user_id) ?? [];
      const online = entries.length > 0;
      const follows = entries.some((e) => e.following);
      const browsing = entries.find((e) => !e.following);
      const presenting = presenterId !== null ? p.user_id === presenterId
        : p.role === 'chair' && Boolean(this.#follow?.state?.document_id);
      const meta = [p.position, sites.get(p.site_id)].filter(Boolean).join(' · ');
      let state = null;
      if (presenting) state = h('span', { class: 'presence-tag is-presenting' }, t('presence.presenting'));
      else if (online && follows) state = h('span', { class: 'presence-tag is-following' }, t('presence.following'));
      else if (online && browsing) {
        state = h('span', { class: 'presence-tag is-browsing' },
          t('presence.browsing', { page: browsing.page ?? '—' }));
      }
      const canHand = isChair && online && p.user_id !== me && p.role !== 'guest';
      const action = !canHand ? null : presenting
        ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'take-back',
          onclick: () => this.#handOver(null) }, t('presence.takeBack'))
        : iconButton('present', t('presence.handOver', { name: p.full_name || p.username }), {
          'data-testid': 'hand-over', onclick: () => this.#handOver(p.user_id) });
      return h('li', { class: online ? 'person is-online' : 'person', dataset: {
        username: p.username, online: String(online), following: String(online && follows) } },
      h('span', { class: 'presence-dot', title: t(online ? 'presence.here' : 'presence.away'),
        'aria-label': t(online ? 'presence.here' : 'presence.away'), role: 'img' }),
      h('span', { class: 'person-text' },
        h('span', { class: 'person-name' }, p.full_name || p.username),
        meta ? h('span', { class: 'person-meta' }, meta) : null,
        state),
      action);
    };
    replace(container,
      h('p', { class: 'presence-summary', 'data-testid': 'presence-summary' },
        t('presence.online', { n: i18n.number(present), of: i18n.number(participants.length) })),
      groups.map(({ role, people }) => h('section', { class: 'people-group' },
        h('h3', {}, t(`roles.${role}`), h('span', { class: 'count' }, i18n.number(people.length))),
        h('ul', { class: 'people' }, people.map(person)))));
  }

  async #handOver(userId) {
    try {
      await this.app.connection.request('presentation.hand_over', this.#meetingId, { user_id: userId });
    } catch (error) {
      this.app.status.show(`${this.app.i18n.t('error.lead')} ${error.message}`, 'error');
    }
  }

  // ---- documents -------------------------------------------------------------------

  async openItem(itemId) {
    const t = (key) => this.app.i18n.t(key);
    const { item, number } = this.#items.get(itemId);
    this.#currentItemId = itemId;
    this.#afterChoice();
    const first = item.documents.find((id) => this.#documents.has(id));
    if (first !== undefined) {
      await this.openDocument(first, 1, { itemId });
      return;
    }
    clearTimeout(this.#poll);
    this.#viewer.showEmpty(t('room.noDocuments'));
    this.#viewer.setSubtitle(`${number}. ${item.title}`);
    this.app.replaceQuery({ doc: null, page: null });
    this.#markCurrent(null);
  }

  async openDocument(documentId, page = 1, { itemId, origin = 'user' } = {}) {
    if (origin === 'user') this.#afterChoice();
    let detail = this.#details.get(documentId);
    if (!detail || detail.state !== 'ready') {
      try {
        detail = await this.app.api.document(documentId, this.#abort.signal);
      } catch (error) {
        if (error.name !== 'AbortError') this.app.status.error(error);
        return;
      }
      this.#details.set(documentId, detail);
    }
    this.#currentItemId = itemId ?? detail.agenda_item_id ?? this.#currentItemId;
    const entry = this.#items.get(detail.agenda_item_id);
    const viewerOrigin = origin === 'user' ? 'user' : 'program';
    if (this.#viewer.document?.id === documentId) this.#viewer.goTo(page, { origin: viewerOrigin });
    else this.#viewer.show(detail, page, { origin: viewerOrigin });
    this.#viewer.setSubtitle(entry ? `${entry.number}. ${entry.item.title}` : this.app.i18n.t('room.otherDocuments'));
    this.#applyHighlights();
    this.#markCurrent(documentId);
    this.#watchIntake(detail);
  }

  /** While a document renders, ask for its state until every page is there. */
  #watchIntake(detail) {
    clearTimeout(this.#poll);
    if (detail.state === 'ready' || detail.state === 'failed') return;
    this.#poll = setTimeout(async () => {
      let fresh;
      try {
        fresh = await this.app.api.document(detail.id, this.#abort.signal);
      } catch (error) {
        if (error.name === 'AbortError') return;
        this.app.status.error(error);
        fresh = detail;
      }
      if (this.#viewer.document?.id !== detail.id) return;
      this.#details.set(fresh.id, fresh);
      this.#documents.set(fresh.id, { ...this.#documents.get(fresh.id), state: fresh.state,
        pages_ready: fresh.pages_ready });
      for (const el of this.#els.room.querySelectorAll(`.doc-link[data-document-id="${fresh.id}"] .doc-link-state`)) {
        el.textContent = this.#documentState(fresh);
      }
      this.#viewer.update(fresh);
      this.#watchIntake(fresh);
    }, POLL_MS);
  }

  #keydown(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest?.('input, textarea, select, [contenteditable="true"]')) return;
    const viewer = this.#viewer;
    if (!viewer.document) return;
    const actions = {
      ArrowRight: () => viewer.next(), PageDown: () => viewer.next(),
      ArrowLeft: () => viewer.prev(), PageUp: () => viewer.prev(),
      Home: () => viewer.first(), End: () => viewer.last(),
      '+': () => viewer.zoomBy(1.25), '=': () => viewer.zoomBy(1.25), '-': () => viewer.zoomBy(0.8),
      0: () => viewer.fit('width'),
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }
}

/** Number the agenda: "1", "2", and "2.1" for the first sub-item of item 2. */
function numberItems(items, prefix, into) {
  items.forEach((item, index) => {
    const number = prefix ? `${prefix}.${index + 1}` : String(index + 1);
    into.set(item.id, { item, number });
    numberItems(item.children ?? [], number, into);
  });
}

function firstDocument(items) {
  for (const item of items) {
    if (item.documents.length) return item.documents[0];
    const inner = firstDocument(item.children ?? []);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function describeCode(error) {
  return error?.code ?? '';
}
