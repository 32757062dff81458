// Writing on the page: pen with pressure, highlighter, eraser, text notes; undo and redo;
// private, shared or chair-and-secretary visibility; pen-only mode for stylus tablets.
//
// Everything is kept in PDF points of the page as displayed (docs/protocol.md), drawn in
// an SVG whose viewBox is the page size, so a stroke sits right at every zoom and size.
// Changes go through the outbox (sent once each, also after being offline); shared strokes
// are shown to the others live while they are drawn (`ink.progress`).
import { h, replace } from './dom.js';
import { icon, iconButton } from './icons.js';

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = Object.freeze([
  { name: 'navy', value: '#1f3a93' }, { name: 'red', value: '#c0392b' },
  { name: 'green', value: '#17693a' }, { name: 'black', value: '#1d2330' },
]);
const HIGHLIGHTER = '#f2c94c';
const WIDTHS = Object.freeze([
  { name: 'thin', pen: 1.2, highlighter: 8 }, { name: 'medium', pen: 2.4, highlighter: 14 },
  { name: 'thick', pen: 4.5, highlighter: 22 },
]);
const TOOLS = Object.freeze(['view', 'pen', 'highlighter', 'eraser', 'note']);
const TOOL_ICONS = Object.freeze({ view: 'hand', pen: 'pen', highlighter: 'highlighter', eraser: 'eraser',
  note: 'note' });
const VISIBILITIES = Object.freeze(['private', 'shared', 'chair']);
const PROGRESS_MS = 60; // live points of a shared stroke are sent this often
const LIVE_STALE_MS = 10000; // a live stroke whose author went quiet is dropped
const PALM_PX = 40; // a touch wider than this is a resting hand, not a finger
const MAX_POINTS = 4000;

export class InkLayer {
  #i18n;
  #me;
  #role;
  #names;
  #viewer;
  #send;
  #submit;
  #load;
  #onError;
  #tool = 'view';
  #color = COLORS[0].value;
  #width = WIDTHS[1];
  #visibility = 'private';
  #penOnly = false;
  #page = null; // {documentId, page, width, height}
  #annotations = new Map(); // id → annotation on the page shown
  #live = new Map(); // stroke id → {points, tool, color, width, at} of others, being drawn
  #stroke = null; // the stroke being drawn here
  #pan = null; // a finger panning the page in pen-only mode
  #penDown = false;
  #undo = [];
  #redo = [];
  #ticket = 0;
  #liveTimer = 0;
  #els = {};

  /**
   * `send(cmd, args)` → Promise (ephemeral commands); `submit(cmd, args)` queues a change
   * in the outbox; `load(documentId, page)` → Promise of the annotations I may see.
   */
  constructor({ i18n, me, role, names, viewer, send, submit, load, onError = () => {} }) {
    this.#i18n = i18n;
    this.#me = me;
    this.#role = role;
    this.#names = names;
    this.#viewer = viewer;
    this.#send = send;
    this.#submit = submit;
    this.#load = load;
    this.#onError = onError;
    this.#buildLayer();
    this.toolbar = this.#buildToolbar();
    this.#renderToolbar();
  }

  get annotations() { return [...this.#annotations.values()]; }

  /** The viewer shows another page: load its notes. */
  async showPage(documentId, page) {
    const size = this.#viewer.pageSize;
    this.#page = { documentId, page, width: size.width, height: size.height };
    this.#svg.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
    this.#annotations = new Map();
    this.#live = new Map();
    this.#stroke = null;
    this.#closeEditor();
    this.#render();
    await this.reload();
  }

  /** Fetch the page's annotations again (after a reconnect, for instance). */
  async reload() {
    const shown = this.#page;
    if (!shown) return;
    const ticket = ++this.#ticket;
    let list;
    try {
      list = await this.#load(shown.documentId, shown.page);
    } catch (error) {
      if (ticket === this.#ticket) this.#onError(error);
      return;
    }
    if (ticket !== this.#ticket) return;
    // Keep what is mine and not yet confirmed: it may be waiting in the outbox.
    const pending = [...this.#annotations.values()].filter((a) => a.pending);
    this.#annotations = new Map(list.map((a) => [a.id, a]));
    for (const a of pending) if (!this.#annotations.has(a.id)) this.#annotations.set(a.id, a);
    this.#render();
  }

  /** Annotation and live-ink events of the meeting. */
  onEvent(name, data) {
    const shown = this.#page;
    const here = shown && data.document_id === shown.documentId && data.page === shown.page;
    if (name === 'annotation.created' || name === 'annotation.updated') {
      if (!here) return;
      this.#live.delete(data.id);
      this.#annotations.set(data.id, data);
      this.#render();
    } else if (name === 'annotation.deleted') {
      if (this.#annotations.delete(data.id)) this.#render();
    } else if (name === 'ink.progress') {
      if (!here || data.author_id === this.#me) return;
      const live = this.#live.get(data.stroke_id) ?? { points: [], tool: data.tool, color: data.color,
        width: data.width, author_id: data.author_id };
      live.points.push(...data.points);
      live.at = Date.now();
      this.#live.set(data.stroke_id, live);
      this.#renderLive();
      clearTimeout(this.#liveTimer);
      this.#liveTimer = setTimeout(() => this.#dropStale(), LIVE_STALE_MS);
    }
  }

  /** The outbox confirmed (or refused) one of my changes. */
  confirmed(command, error) {
    const id = command.args?.id;
    if (command.cmd !== 'annotation.create' || !this.#annotations.has(id)) return;
    if (error && error.code !== 'duplicate') {
      this.#annotations.delete(id);
      this.#onError(error);
    } else {
      this.#annotations.get(id).pending = false;
    }
    this.#render();
  }

  /** Notes I wrote that still wait in the outbox, shown as mine after a reload. */
  addPending(annotations) {
    let changed = false;
    for (const a of annotations) {
      if (this.#page && a.document_id === this.#page.documentId && a.page === this.#page.page
        && !this.#annotations.has(a.id)) {
        this.#annotations.set(a.id, { ...a, pending: true });
        changed = true;
      }
    }
    if (changed) this.#render();
  }

  relabel() { this.#renderToolbar(); }

  destroy() {
    clearTimeout(this.#liveTimer);
  }

  // ---- building -----------------------------------------------------------------------

  get #svg() { return this.#els.svg; }

  #buildLayer() {
    const svg = document.createElementNS(SVG, 'svg');
    svg.classList.add('ink-layer');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', this.#i18n.t('ink.layer'));
    this.#els.saved = document.createElementNS(SVG, 'g');
    this.#els.others = document.createElementNS(SVG, 'g');
    this.#els.drawing = document.createElementNS(SVG, 'g');
    svg.append(this.#els.saved, this.#els.others, this.#els.drawing);
    this.#els.svg = svg;
    this.#els.notes = h('div', { class: 'note-layer' });
    this.#viewer.frame.append(svg, this.#els.notes);
    for (const type of ['pointerdown', 'pointermove', 'pointerup', 'pointercancel']) {
      svg.addEventListener(type, (event) => this.#onPointer(event));
    }
  }

  #buildToolbar() {
    const t = (key, vars) => this.#i18n.t(key, vars);
    const els = this.#els;
    els.tools = TOOLS.map((tool) => iconButton(TOOL_ICONS[tool], t(`ink.${tool}`), {
      'aria-pressed': 'false', 'data-tool': tool,
      onclick: (event) => this.#setTool(tool, event.detail === 0) }));
    els.colors = COLORS.map((color) => h('button', {
      type: 'button', class: 'btn btn-icon swatch', 'aria-pressed': 'false', 'data-color': color.value,
      'aria-label': t('ink.color', { name: t(`ink.colors.${color.name}`) }),
      title: t('ink.color', { name: t(`ink.colors.${color.name}`) }),
      onclick: () => { this.#color = color.value; this.#renderToolbar(); },
    }, h('span', { class: 'swatch-dot', style: { background: color.value } })));
    els.widths = WIDTHS.map((width) => h('button', {
      type: 'button', class: 'btn btn-icon width-choice', 'aria-pressed': 'false', 'data-width': width.name,
      'aria-label': t('ink.width', { name: t(`ink.widths.${width.name}`) }),
      title: t('ink.width', { name: t(`ink.widths.${width.name}`) }),
      onclick: () => { this.#width = width; this.#renderToolbar(); },
    }, h('span', { class: 'width-dot', style: { width: `${4 + width.pen * 2.4}px`, height: `${4 + width.pen * 2.4}px` } })));
    els.undo = iconButton('undo', t('ink.undo'), { onclick: () => this.undo() });
    els.redo = iconButton('redo', t('ink.redo'), { onclick: () => this.redo() });
    const visibilities = this.#role === 'guest' ? ['private'] : VISIBILITIES;
    els.visibility = visibilities.map((v) => h('button', {
      type: 'button', role: 'radio', class: 'seg', 'aria-checked': 'false', 'data-visibility': v,
      'aria-label': t(`ink.visibility.${v}`), title: t(`ink.visibility.${v}`),
      onclick: () => { this.#visibility = v; this.#renderToolbar(); },
    }, icon(v === 'private' ? 'lock' : v === 'shared' ? 'share' : 'users'), h('span', {}, t(`ink.visibility.${v}`))));
    els.penOnly = h('button', { type: 'button', class: 'btn btn-icon', 'aria-pressed': 'false',
      'aria-label': t('ink.penOnly'), title: t('ink.penOnly'), 'data-testid': 'pen-only',
      onclick: () => { this.#penOnly = !this.#penOnly; this.#renderToolbar(); } }, icon('stylus'));
    return h('div', { class: 'ink-toolbar', role: 'toolbar', 'aria-label': t('ink.tools'), 'data-testid': 'ink-toolbar' },
      h('div', { class: 'tool-group' }, els.tools),
      els.colorGroup = h('div', { class: 'tool-group ink-style' }, els.colors),
      els.widthGroup = h('div', { class: 'tool-group ink-style' }, els.widths),
      h('div', { class: 'tool-group' }, els.undo, els.redo),
      visibilities.length > 1 ? h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': t('ink.visibility') },
        els.visibility) : null,
      h('div', { class: 'tool-group' }, els.penOnly));
  }

  #renderToolbar() {
    const els = this.#els;
    for (const button of els.tools) button.setAttribute('aria-pressed', String(button.dataset.tool === this.#tool));
    for (const button of els.colors) button.setAttribute('aria-pressed', String(button.dataset.color === this.#color));
    for (const button of els.widths) button.setAttribute('aria-pressed', String(button.dataset.width === this.#width.name));
    for (const button of els.visibility) {
      button.setAttribute('aria-checked', String(button.dataset.visibility === this.#visibility));
    }
    const styled = this.#tool === 'pen' || this.#tool === 'highlighter' || this.#tool === 'note';
    // Colours and widths only matter to the tools that draw; reading, the bar stays short.
    els.colorGroup.hidden = !styled;
    els.widthGroup.hidden = !styled || this.#tool === 'note';
    els.penOnly.setAttribute('aria-pressed', String(this.#penOnly));
    els.undo.disabled = !this.#undo.length;
    els.redo.disabled = !this.#redo.length;
    const drawing = this.#tool !== 'view';
    this.#svg.classList.toggle('is-active', drawing);
    this.#svg.dataset.tool = this.#tool;
    this.#els.notes.classList.toggle('is-erasing', this.#tool === 'eraser');
  }

  #setTool(tool, fromKeyboard = false) {
    this.#tool = tool;
    this.#renderToolbar();
    // From the keyboard a note is pinned in the middle of what is visible.
    if (tool === 'note' && fromKeyboard && this.#page) {
      const [x, y, w, hgt] = this.#viewer.viewport ?? [0, 0, 1, 1];
      this.#openEditor((x + w / 2) * this.#page.width, (y + hgt / 3) * this.#page.height);
    }
  }

  // ---- pointers -----------------------------------------------------------------------

  #toPage(event) {
    const rect = this.#svg.getBoundingClientRect();
    const { width, height } = this.#page;
    return [round((event.clientX - rect.left) / rect.width * width),
      round((event.clientY - rect.top) / rect.height * height)];
  }

  #onPointer(event) {
    if (!this.#page || this.#tool === 'view') return;
    const pen = event.pointerType === 'pen';
    if (event.pointerType === 'touch' && (this.#penOnly || this.#penDown)) {
      this.#touch(event);
      return;
    }
    if (event.type === 'pointerdown') {
      if (event.button > 0) return;
      event.preventDefault();
      event.stopPropagation();
      this.#svg.setPointerCapture?.(event.pointerId);
      if (pen) this.#penDown = true;
      if (this.#tool === 'note') {
        const [x, y] = this.#toPage(event);
        this.#openEditor(x, y);
      } else if (this.#tool === 'eraser') {
        this.#stroke = { pointerId: event.pointerId, erasing: true };
        this.#eraseAt(event);
      } else {
        this.#startStroke(event);
      }
      return;
    }
    const stroke = this.#stroke;
    if (!stroke || stroke.pointerId !== event.pointerId) return;
    event.stopPropagation();
    if (event.type === 'pointermove') {
      if (stroke.erasing) this.#eraseAt(event);
      else this.#extendStroke(event);
      return;
    }
    if (pen) this.#penDown = false;
    this.#stroke = null;
    if (stroke.erasing) return;
    if (event.type === 'pointercancel') {
      replace(this.#els.drawing);
      return;
    }
    this.#finishStroke(stroke);
  }

  /** Pen-only mode: a finger pans, two fingers zoom (the viewer), a palm does nothing. */
  #touch(event) {
    if (event.width > PALM_PX || event.height > PALM_PX || this.#penDown) {
      event.stopPropagation();
      return;
    }
    if (event.type === 'pointerdown') {
      this.#pan = this.#pan ? null : { id: event.pointerId, x: event.clientX, y: event.clientY };
    } else if (event.type === 'pointermove' && this.#pan?.id === event.pointerId) {
      this.#viewer.stage.scrollBy(this.#pan.x - event.clientX, this.#pan.y - event.clientY);
      this.#pan.x = event.clientX;
      this.#pan.y = event.clientY;
    } else if (event.type === 'pointerup' || event.type === 'pointercancel') {
      this.#pan = null;
    }
  }

  #startStroke(event) {
    const tool = this.#tool;
    const shared = this.#visibility === 'shared';
    this.#stroke = {
      pointerId: event.pointerId, id: crypto.randomUUID(), tool,
      color: tool === 'highlighter' ? HIGHLIGHTER : this.#color,
      width: tool === 'highlighter' ? this.#width.highlighter : this.#width.pen,
      points: [], sent: 0, timer: 0, shared,
    };
    this.#extendStroke(event);
  }

  #extendStroke(event) {
    const stroke = this.#stroke;
    const events = event.getCoalescedEvents?.().length ? event.getCoalescedEvents() : [event];
    for (const e of events) {
      if (stroke.points.length >= MAX_POINTS) break;
      const [x, y] = this.#toPage(e);
      // A mouse reports 0.5 while pressed; a pen its real pressure.
      const pressure = e.pointerType === 'pen' ? e.pressure : 0.5;
      stroke.points.push([x, y, round(Math.min(1, Math.max(0, pressure)), 3)]);
    }
    replace(this.#els.drawing, strokeElement(stroke));
    if (stroke.shared && !stroke.timer) {
      stroke.timer = setTimeout(() => this.#sendProgress(stroke), PROGRESS_MS);
    }
  }

  #sendProgress(stroke) {
    stroke.timer = 0;
    const fresh = stroke.points.slice(stroke.sent, stroke.sent + 200);
    if (!fresh.length) return;
    stroke.sent += fresh.length;
    this.#send('ink.progress', { stroke_id: stroke.id, document_id: this.#page.documentId, page: this.#page.page,
      tool: stroke.tool, color: stroke.color, width: stroke.width, points: fresh }).catch(() => {});
    if (stroke.sent < stroke.points.length) stroke.timer = setTimeout(() => this.#sendProgress(stroke), PROGRESS_MS);
  }

  #finishStroke(stroke) {
    clearTimeout(stroke.timer);
    if (stroke.shared) this.#sendProgress(stroke);
    replace(this.#els.drawing);
    if (!stroke.points.length) return;
    this.#create('ink', { tool: stroke.tool, color: stroke.color, width: stroke.width, points: stroke.points },
      { id: stroke.id, visibility: stroke.shared ? 'shared' : this.#visibility });
  }

  #eraseAt(event) {
    const [x, y] = this.#toPage(event);
    const hit = [...this.#annotations.values()].reverse().find((a) => this.#mayErase(a) && touches(a, x, y));
    if (hit) this.#erase(hit);
  }

  #mayErase(annotation) {
    return annotation.author_id === this.#me || (this.#role === 'chair' && annotation.visibility === 'shared');
  }

  // ---- changes: create, erase, undo, redo --------------------------------------------

  #create(kind, data, { id = crypto.randomUUID(), visibility = this.#visibility, record = true } = {}) {
    const { documentId, page } = this.#page;
    const annotation = { id, document_id: documentId, page, author_id: this.#me, kind, visibility, data,
      pending: true };
    this.#annotations.set(id, annotation);
    this.#render();
    if (record) {
      this.#undo.push({ type: 'create', annotation });
      this.#redo = [];
      this.#renderToolbar();
    }
    this.#submit('annotation.create', { id, document_id: documentId, page, kind, visibility, data });
    return annotation;
  }

  #erase(annotation, { record = true } = {}) {
    this.#annotations.delete(annotation.id);
    this.#render();
    if (record) {
      this.#undo.push({ type: 'delete', annotation });
      this.#redo = [];
      this.#renderToolbar();
    }
    this.#submit('annotation.delete', { id: annotation.id });
  }

  /** Put back what was erased, as a new annotation (an id is never reused). */
  #restore(annotation) {
    return this.#create(annotation.kind, annotation.data,
      { visibility: annotation.visibility, record: false });
  }

  undo() {
    const step = this.#undo.pop();
    if (!step || !this.#onPageOf(step.annotation)) {
      this.#renderToolbar();
      return;
    }
    if (step.type === 'create') this.#erase(step.annotation, { record: false });
    else step.annotation = this.#restore(step.annotation);
    this.#redo.push(step);
    this.#renderToolbar();
  }

  redo() {
    const step = this.#redo.pop();
    if (!step || !this.#onPageOf(step.annotation)) {
      this.#renderToolbar();
      return;
    }
    if (step.type === 'create') step.annotation = this.#restore(step.annotation);
    else this.#erase(step.annotation, { record: false });
    this.#undo.push(step);
    this.#renderToolbar();
  }

  #onPageOf(annotation) {
    return this.#page && annotation.document_id === this.#page.documentId && annotation.page === this.#page.page;
  }

  // ---- text notes -----------------------------------------------------------------------

  #openEditor(x, y) {
    this.#closeEditor();
    const t = (key) => this.#i18n.t(key);
    const { width, height } = this.#page;
    const text = h('textarea', { class: 'note-input', rows: '3', maxlength: '2000', 'aria-label': t('ink.noteText'),
      placeholder: t('ink.notePlaceholder') });
    const save = () => {
      const value = text.value.trim();
      this.#closeEditor();
      if (value) this.#create('note', { x: round(x), y: round(y), text: value, color: '#f2c94c' });
    };
    const editor = h('form', { class: 'note-editor', style: { left: `${x / width * 100}%`, top: `${y / height * 100}%` },
      onsubmit: (event) => { event.preventDefault(); save(); } },
    text,
    h('div', { class: 'note-editor-actions' },
      h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => this.#closeEditor() }, t('ink.noteCancel')),
      h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, t('ink.noteSave'))));
    editor.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.#closeEditor();
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) save();
      event.stopPropagation();
    });
    editor.addEventListener('pointerdown', (event) => event.stopPropagation());
    this.#els.editor = editor;
    this.#els.notes.append(editor);
    text.focus({ preventScroll: true });
  }

  #closeEditor() {
    this.#els.editor?.remove();
    this.#els.editor = null;
  }

  // ---- drawing --------------------------------------------------------------------------

  #render() {
    const all = [...this.#annotations.values()];
    replace(this.#els.saved, all.filter((a) => a.kind === 'ink')
      .sort((a, b) => (a.data.tool === 'highlighter' ? 0 : 1) - (b.data.tool === 'highlighter' ? 0 : 1))
      .map((a) => annotate(strokeElement(a.data), a)));
    const highlights = all.filter((a) => a.kind === 'highlight').flatMap((a) => a.data.boxes.map((box) => {
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', box[0]);
      rect.setAttribute('y', box[1]);
      rect.setAttribute('width', box[2] - box[0]);
      rect.setAttribute('height', box[3] - box[1]);
      rect.setAttribute('fill', a.data.color);
      rect.setAttribute('fill-opacity', '0.4');
      return annotate(rect, a);
    }));
    this.#els.saved.prepend(...highlights);
    this.#renderNotes(all.filter((a) => a.kind === 'note'));
  }

  #renderNotes(notes) {
    const { width, height } = this.#page ?? { width: 1, height: 1 };
    const t = (key, vars) => this.#i18n.t(key, vars);
    const editor = this.#els.editor;
    replace(this.#els.notes, notes.map((a) => {
      const author = a.author_id === this.#me ? null : this.#names.get(a.author_id);
      const note = h('div', {
        class: `sticky-note visibility-${a.visibility}${a.pending ? ' is-pending' : ''}`,
        style: { left: `${a.data.x / width * 100}%`, top: `${a.data.y / height * 100}%` },
        dataset: { id: a.id, visibility: a.visibility, author: String(a.author_id) },
        role: 'note', 'aria-label': author ? t('ink.noteBy', { name: author }) : t('ink.note'),
      }, h('span', { class: 'sticky-text' }, a.data.text), author ? h('span', { class: 'sticky-author' }, author) : null);
      note.addEventListener('pointerdown', (event) => {
        if (this.#tool !== 'eraser' || !this.#mayErase(a)) return;
        event.stopPropagation();
        this.#erase(a);
      });
      return note;
    }), editor);
  }

  #renderLive() {
    replace(this.#els.others, [...this.#live.entries()].map(([id, live]) => {
      const el = strokeElement(live);
      el.dataset.live = id;
      return el;
    }));
  }

  #dropStale() {
    const now = Date.now();
    for (const [id, live] of this.#live) if (now - live.at > LIVE_STALE_MS) this.#live.delete(id);
    this.#renderLive();
  }
}

function annotate(el, annotation) {
  el.dataset.id = annotation.id;
  el.dataset.visibility = annotation.visibility;
  el.dataset.author = String(annotation.author_id);
  if (annotation.pending) el.classList.add('is-pending');
  return el;
}

/** The SVG shape of a stroke: a pen is a filled outline whose width follows pressure. */
function strokeElement({ tool, color, width, points }) {
  const path = document.createElementNS(SVG, 'path');
  path.classList.add('ink', tool === 'highlighter' ? 'ink-highlighter' : 'ink-pen');
  if (tool === 'highlighter') {
    path.setAttribute('d', polyline(points));
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', color);
    path.setAttribute('stroke-width', String(width));
    path.setAttribute('stroke-linecap', 'round');
    path.setAttribute('stroke-linejoin', 'round');
    path.setAttribute('stroke-opacity', '0.45');
  } else {
    path.setAttribute('d', outline(points, width));
    path.setAttribute('fill', color);
  }
  return path;
}

function polyline(points) {
  if (points.length === 1) {
    const [x, y] = points[0];
    return `M${x} ${y}l0.01 0`;
  }
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${x} ${y}`).join('');
}

/** The outline of a pen stroke: each point's half-width grows with its pressure. */
function outline(points, width) {
  const radius = (p) => width * (0.3 + 0.9 * p) / 2;
  if (points.length === 1) {
    const [x, y, p] = points[0];
    const r = radius(p);
    return `M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
  }
  const left = [];
  const right = [];
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[Math.max(0, i - 1)];
    const [x1, y1] = points[Math.min(points.length - 1, i + 1)];
    const length = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = -(y1 - y0) / length;
    const ny = (x1 - x0) / length;
    const [x, y, p] = points[i];
    const r = radius(p);
    left.push([x + nx * r, y + ny * r]);
    right.push([x - nx * r, y - ny * r]);
  }
  const end = radius(points[points.length - 1][2]);
  const start = radius(points[0][2]);
  const f = (v) => round(v, 2);
  const [lx, ly] = right[right.length - 1];
  return `M${left.map(([x, y]) => `${f(x)} ${f(y)}`).join('L')}`
    + `A${f(end)} ${f(end)} 0 0 1 ${f(lx)} ${f(ly)}`
    + `L${right.reverse().map(([x, y]) => `${f(x)} ${f(y)}`).join('L')}`
    + `A${f(start)} ${f(start)} 0 0 1 ${f(left[0][0])} ${f(left[0][1])}Z`;
}

/** Does (x, y), in page points, touch the annotation? */
function touches(annotation, x, y) {
  const data = annotation.data;
  if (annotation.kind === 'ink') {
    const reach = data.width / 2 + 6;
    return data.points.some(([px, py]) => Math.hypot(px - x, py - y) <= reach);
  }
  if (annotation.kind === 'highlight') {
    return data.boxes.some(([x0, y0, x1, y1]) => x >= x0 && x <= x1 && y >= y0 && y <= y1);
  }
  return false;
}

function round(value, digits = 2) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
