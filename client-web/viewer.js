// The document viewer: one page image at a time, sized to the screen, with zoom, pinch,
// swipe, prefetch of the next pages, a thumbnail strip and search highlights.
//
// It knows nothing of meetings or the network beyond page URLs: the room view gives it a
// document detail (GET /api/documents/ID) and is told when the page or the zoom
// changes, and by whom: the user (`origin: 'user'`) or the program (following the
// presenter). Layers (ink, the laser pointer) are laid over the page frame by the room.
import { pageUrl, pickWidth } from './api.js';
import { h, replace } from './dom.js';
import { icon, iconButton } from './icons.js';

const PREFETCH = 2;
const THUMBNAIL_WIDTH = 200;
const MIN_ZOOM = 0.25;
const MAX_ZOOM = 5;
const ZOOM_STEP = 1.25;
const SWIPE_DISTANCE = 60; // CSS px
const SWIPE_TIME = 800; // ms

export class DocumentViewer {
  #i18n;
  #widths;
  #onPageChange;
  #document = null;
  #page = 1;
  #fit = 'width'; // 'width' | 'page' | null (then #factor applies)
  #factor = 1; // rendered width / fit-width width, when #fit is null
  #highlights = new Map(); // page → [{boxes, active}]
  #prefetched = [];
  #pointers = new Map();
  #gesture = null;
  #resize;
  #els;
  #onViewChange;

  constructor({ i18n, pageWidths, onPageChange = () => {}, onViewChange = () => {}, toolbarStart = [],
    toolbarEnd = [], rows = [] }) {
    this.#i18n = i18n;
    this.#widths = pageWidths;
    this.#onPageChange = onPageChange;
    this.#onViewChange = onViewChange;
    const t = (key) => i18n.t(key);
    const els = {};
    els.prev = iconButton('chevron-left', t('viewer.prev'), { onclick: () => this.prev() });
    els.next = iconButton('chevron-right', t('viewer.next'), { onclick: () => this.next() });
    els.pageLabel = h('span', { class: 'page-indicator', 'aria-live': 'polite' });
    els.zoomOut = iconButton('minus', t('viewer.zoomOut'), { onclick: () => this.zoomBy(1 / ZOOM_STEP) });
    els.zoomIn = iconButton('plus', t('viewer.zoomIn'), { onclick: () => this.zoomBy(ZOOM_STEP) });
    els.zoomLabel = h('span', { class: 'zoom-indicator', 'aria-live': 'polite' });
    els.fitWidth = iconButton('fit-width', t('viewer.fitWidth'), { onclick: () => this.fit('width') });
    els.fitPage = iconButton('fit-page', t('viewer.fitPage'), { onclick: () => this.fit('page') });
    els.title = h('h2', { class: 'viewer-title' });
    els.subtitle = h('p', { class: 'viewer-subtitle' });
    els.pdf = h('a', { class: 'btn btn-icon viewer-pdf', download: '', 'aria-label': t('viewer.download'),
      title: t('viewer.download') }, icon('download'));
    els.notice = h('div', { class: 'viewer-notice', hidden: true, role: 'status' });
    els.image = h('img', { class: 'page-image', alt: '', draggable: 'false', decoding: 'async' });
    els.highlightLayer = h('div', { class: 'highlight-layer', 'aria-hidden': 'true' });
    els.frame = h('div', { class: 'page-frame' }, els.image, els.highlightLayer);
    els.empty = h('div', { class: 'viewer-empty', hidden: true });
    els.stage = h('div', {
      class: 'viewer-stage', tabindex: '0', role: 'region', 'aria-label': t('viewer.stage'),
    }, els.frame, els.empty);
    els.thumbs = h('ol', { class: 'thumbs' });
    els.thumbStrip = h('nav', { class: 'thumb-strip', 'aria-label': t('viewer.thumbnails') }, els.thumbs);
    this.element = h('section', { class: 'viewer', 'aria-label': t('viewer.label') },
      h('header', { class: 'viewer-head' },
        h('div', { class: 'viewer-heading' }, toolbarStart,
          h('div', { class: 'viewer-titles' }, els.title, els.subtitle), els.pdf),
        h('div', { class: 'viewer-toolbar', role: 'toolbar', 'aria-label': t('viewer.toolbar') },
          h('div', { class: 'tool-group' }, els.prev, els.pageLabel, els.next),
          h('div', { class: 'tool-group' }, els.zoomOut, els.zoomLabel, els.zoomIn,
            els.fitWidth, els.fitPage), toolbarEnd)),
      h('div', { class: 'viewer-rows' }, els.notice, rows), els.stage, els.thumbStrip);
    this.#els = els;

    els.image.addEventListener('load', () => {
      els.frame.classList.remove('is-loading');
      els.image.hidden = false;
    });
    // A failed image shows the pending pattern rather than the browser's broken-image box.
    els.image.addEventListener('error', () => {
      els.frame.classList.remove('is-loading');
      if (els.image.getAttribute('src')) els.image.hidden = true;
    });
    for (const type of ['pointerdown', 'pointermove', 'pointerup', 'pointercancel']) {
      els.stage.addEventListener(type, (event) => this.#onPointer(event));
    }
    this.#resize = new ResizeObserver(() => this.#layout());
    this.#resize.observe(els.stage);
    this.showEmpty(t('viewer.none'));
  }

  get document() { return this.#document; }
  get page() { return this.#page; }
  get pageCount() { return this.#document?.page_count ?? 0; }
  get frame() { return this.#els.frame; }
  get stage() { return this.#els.stage; }
  /** The size of the open page in PDF points as displayed. */
  get pageSize() { return this.#pageSize(); }

  /** The image width (a bucket) this device uses for the page at fit width. */
  bucketWidth() {
    return pickWidth(this.#widths, (this.#fitWidthCss() || 1024) * (window.devicePixelRatio || 1));
  }

  /** Zoom as a factor of the fit-width size (1 = fit width). */
  get zoom() {
    const base = this.#fitWidthCss();
    return base ? this.#cssWidth() / base : 1;
  }

  /** The visible part of the page: [x, y, w, h] as fractions of it. */
  get viewport() {
    const frame = this.#els.frame.getBoundingClientRect();
    const stage = this.#els.stage.getBoundingClientRect();
    if (!frame.width || !frame.height) return null;
    const x0 = clamp((stage.left - frame.left) / frame.width, 0, 1);
    const y0 = clamp((stage.top - frame.top) / frame.height, 0, 1);
    const x1 = clamp((stage.right - frame.left) / frame.width, 0, 1);
    const y1 = clamp((stage.bottom - frame.top) / frame.height, 0, 1);
    return [x0, y0, Math.max(0, x1 - x0), Math.max(0, y1 - y0)].map((v) => Math.round(v * 1e4) / 1e4);
  }

  /** Show the presenter's zoom and the part of the page they look at. */
  setView(zoom, viewport) {
    if (!this.#document) return;
    if (!zoom || Math.abs(zoom - 1) < 0.01) this.#fit = 'width';
    else {
      this.#fit = null;
      this.#factor = clamp(zoom, MIN_ZOOM, MAX_ZOOM);
    }
    this.#layout();
    this.#updateControls();
    if (viewport) {
      const frame = this.#els.frame;
      const stage = this.#els.stage;
      stage.scrollTo({ left: viewport[0] * frame.offsetWidth, top: viewport[1] * frame.offsetHeight });
    }
  }

  /** Show a document (a DocumentDetail) at `page`; keeps the zoom mode. */
  show(document, page = 1, { origin = 'user' } = {}) {
    const same = this.#document?.id === document.id;
    this.#document = document;
    this.#els.empty.hidden = true;
    this.#els.frame.hidden = false;
    this.#els.title.textContent = document.title;
    this.#els.pdf.href = document.pdf_url;
    this.#els.pdf.hidden = false;
    if (!same) {
      this.#highlights = new Map();
      this.#els.stage.scrollTo({ top: 0, left: 0 });
    }
    this.#renderThumbs();
    this.#updateNotice();
    this.goTo(page, { force: true, origin });
  }

  /** New intake state of the open document (pages_ready grows while it renders). */
  update(document) {
    if (this.#document?.id !== document.id) return;
    const before = this.#document;
    this.#document = document;
    this.#updateNotice();
    if (before.pages_ready !== document.pages_ready || before.state !== document.state) {
      this.#renderThumbs();
      this.goTo(this.#page, { force: true, origin: 'program' });
    }
  }

  showEmpty(message) {
    this.#document = null;
    this.#els.frame.hidden = true;
    this.#els.empty.hidden = false;
    this.#els.empty.textContent = message;
    this.#els.title.textContent = '';
    this.#els.subtitle.textContent = '';
    this.#els.pdf.hidden = true;
    this.#els.notice.hidden = true;
    replace(this.#els.thumbs);
    this.#updateControls();
  }

  setSubtitle(text) { this.#els.subtitle.textContent = text; }

  /** Search highlights for the open document: [{page, boxes: [[x0,y0,x1,y1]...], active}]. */
  setHighlights(hits) {
    this.#highlights = new Map();
    for (const hit of hits) {
      const list = this.#highlights.get(hit.page) ?? [];
      list.push(hit);
      this.#highlights.set(hit.page, list);
    }
    this.#drawHighlights();
  }

  goTo(page, { force = false, origin = 'user' } = {}) {
    const document = this.#document;
    if (!document) return;
    const target = Math.min(Math.max(1, Math.trunc(page) || 1), document.page_count);
    if (target === this.#page && !force) return;
    const changed = target !== this.#page;
    this.#page = target;
    if (changed) this.#els.stage.scrollTo({ top: 0, left: 0 });
    this.#layout();
    this.#drawHighlights();
    this.#markThumb();
    this.#prefetch();
    this.#updateControls();
    if (changed || force) this.#onPageChange(document, target, origin);
  }

  next() { this.goTo(this.#page + 1); }
  prev() { this.goTo(this.#page - 1); }
  first() { this.goTo(1); }
  last() { this.goTo(this.pageCount); }

  fit(mode) {
    this.#fit = mode;
    this.#layout();
    this.#updateControls();
    this.#onViewChange('user');
  }

  zoomBy(step) {
    const base = this.#fitWidthCss();
    if (!base) return;
    const current = this.#cssWidth() / base;
    this.#fit = null;
    this.#factor = clamp(current * step, MIN_ZOOM, MAX_ZOOM);
    this.#layout();
    this.#updateControls();
    this.#onViewChange('user');
  }

  /** Scroll the active search hit's first box into the middle of the stage. */
  revealActiveHighlight() {
    const box = this.#els.highlightLayer.querySelector('.highlight.is-active');
    box?.scrollIntoView({ block: 'center', inline: 'nearest' });
  }

  focus() { this.#els.stage.focus({ preventScroll: true }); }

  destroy() {
    this.#resize.disconnect();
    this.#prefetched = [];
  }

  // ---- layout ------------------------------------------------------------------------

  #pageSize(page = this.#page) {
    const info = this.#document?.pages?.[page - 1];
    return info ? { width: info.width, height: info.height } : { width: 595, height: 842 };
  }

  #available() {
    const stage = this.#els.stage;
    const style = getComputedStyle(stage);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    return { width: Math.max(0, stage.clientWidth - padX), height: Math.max(0, stage.clientHeight - padY) };
  }

  #fitWidthCss() {
    return this.#available().width;
  }

  #cssWidth() {
    const { width, height } = this.#pageSize();
    const available = this.#available();
    if (this.#fit === 'width') return available.width;
    if (this.#fit === 'page') return Math.min(available.width, available.height * width / height);
    return available.width * this.#factor;
  }

  #ready(page) {
    const document = this.#document;
    return document.state === 'ready' || page <= document.pages_ready;
  }

  #layout() {
    const document = this.#document;
    if (!document) return;
    const size = this.#pageSize();
    const cssWidth = Math.floor(this.#cssWidth());
    if (cssWidth <= 0) return;
    const cssHeight = Math.round(cssWidth * size.height / size.width);
    const frame = this.#els.frame;
    frame.style.width = `${cssWidth}px`;
    frame.style.height = `${cssHeight}px`;
    const overflowX = cssWidth > this.#available().width + 1;
    // At fit zoom a horizontal drag is ours (swipe); zoomed in, the browser pans.
    this.#els.stage.style.touchAction = overflowX ? 'pan-x pan-y' : 'pan-y';
    this.#els.stage.classList.toggle('is-zoomed', overflowX);
    if (!this.#gesture) this.#loadImage(cssWidth);
    this.#els.zoomLabel.textContent = `${Math.round(cssWidth / (size.width * 96 / 72) * 100)}%`;
  }

  #loadImage(cssWidth) {
    const document = this.#document;
    const image = this.#els.image;
    const frame = this.#els.frame;
    const ready = this.#ready(this.#page);
    frame.classList.toggle('is-pending', !ready);
    if (!ready) {
      image.removeAttribute('src');
      image.hidden = true;
      return;
    }
    const width = pickWidth(this.#widths, cssWidth * (window.devicePixelRatio || 1));
    const src = pageUrl(document, this.#page, width);
    if (image.getAttribute('src') === src) return;
    frame.classList.add('is-loading');
    image.hidden = false;
    image.dataset.page = String(this.#page);
    image.dataset.width = String(width);
    image.alt = this.#i18n.t('viewer.pageAlt', { page: this.#label(this.#page), title: document.title });
    image.src = src;
  }

  #prefetch() {
    const document = this.#document;
    const cssWidth = this.#cssWidth();
    const width = pickWidth(this.#widths, cssWidth * (window.devicePixelRatio || 1));
    // Keep references so the requests are not collected before they finish.
    this.#prefetched = [];
    for (let page = this.#page + 1; page <= Math.min(this.#page + PREFETCH, document.page_count); page++) {
      if (!this.#ready(page)) break;
      const image = new Image();
      image.decoding = 'async';
      image.src = pageUrl(document, page, width);
      this.#prefetched.push(image);
    }
  }

  #label(page) {
    return this.#document?.pages?.[page - 1]?.label || String(page);
  }

  #updateControls() {
    const document = this.#document;
    const els = this.#els;
    els.fitWidth.setAttribute('aria-pressed', String(this.#fit === 'width'));
    els.fitPage.setAttribute('aria-pressed', String(this.#fit === 'page'));
    const has = Boolean(document);
    els.prev.disabled = !has || this.#page <= 1;
    els.next.disabled = !has || this.#page >= document.page_count;
    for (const button of [els.zoomIn, els.zoomOut, els.fitWidth, els.fitPage]) button.disabled = !has;
    els.pageLabel.textContent = has
      ? this.#i18n.t('viewer.pageOf', { page: this.#label(this.#page), count: document.page_count })
      : '';
    if (!has) els.zoomLabel.textContent = '';
  }

  #updateNotice() {
    const document = this.#document;
    const notice = this.#els.notice;
    if (document.state === 'ready') {
      notice.hidden = true;
      return;
    }
    notice.hidden = false;
    notice.classList.toggle('is-error', document.state === 'failed');
    if (document.state === 'failed') {
      notice.textContent = this.#i18n.t('viewer.failed', { message: document.error?.message ?? '' });
      return;
    }
    const progress = h('progress', { max: String(document.page_count), value: String(document.pages_ready) });
    replace(notice, h('span', {}, this.#i18n.t('viewer.rendering', {
      ready: document.pages_ready, count: document.page_count })), progress);
  }

  // ---- highlights --------------------------------------------------------------------

  #drawHighlights() {
    const layer = this.#els.highlightLayer;
    const hits = this.#highlights.get(this.#page) ?? [];
    const size = this.#pageSize();
    // Boxes are PDF points of the page as displayed: as fractions of the page size they
    // scale with the rendered width at any zoom.
    replace(layer, hits.flatMap((hit) => hit.boxes.map(([x0, y0, x1, y1]) => h('div', {
      class: hit.active ? 'highlight is-active' : 'highlight',
      style: {
        left: `${x0 / size.width * 100}%`, top: `${y0 / size.height * 100}%`,
        width: `${(x1 - x0) / size.width * 100}%`, height: `${(y1 - y0) / size.height * 100}%`,
      },
    }))));
  }

  // ---- thumbnails --------------------------------------------------------------------

  #renderThumbs() {
    const document = this.#document;
    const width = pickWidth(this.#widths, THUMBNAIL_WIDTH);
    const items = [];
    for (let page = 1; page <= document.page_count; page++) {
      const size = this.#pageSize(page);
      const ready = this.#ready(page);
      const label = this.#label(page);
      items.push(h('li', {},
        h('button', {
          type: 'button', class: 'thumb', dataset: { page: String(page) },
          'aria-label': this.#i18n.t('viewer.goToPage', { page: label }),
          onclick: () => this.goTo(page),
        },
        h('span', { class: 'thumb-page', style: { aspectRatio: `${size.width} / ${size.height}` } },
          ready ? h('img', { src: pageUrl(document, page, width), alt: '', loading: 'lazy',
            decoding: 'async', draggable: 'false' }) : null),
        h('span', { class: 'thumb-label' }, label))));
    }
    replace(this.#els.thumbs, items);
    this.#markThumb();
  }

  #markThumb() {
    for (const button of this.#els.thumbs.querySelectorAll('.thumb')) {
      const current = Number(button.dataset.page) === this.#page;
      if (current) {
        button.setAttribute('aria-current', 'page');
        button.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      } else {
        button.removeAttribute('aria-current');
      }
    }
  }

  // ---- gestures ----------------------------------------------------------------------

  #onPointer(event) {
    const pointers = this.#pointers;
    if (event.type === 'pointerdown') {
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY, x0: event.clientX,
        y0: event.clientY, t0: event.timeStamp, type: event.pointerType });
      if (pointers.size === 2) this.#startPinch();
      return;
    }
    const pointer = pointers.get(event.pointerId);
    if (!pointer) return;
    if (event.type === 'pointermove') {
      pointer.x = event.clientX;
      pointer.y = event.clientY;
      if (this.#gesture?.kind === 'pinch') this.#movePinch();
      return;
    }
    pointers.delete(event.pointerId);
    if (this.#gesture?.kind === 'pinch') {
      if (pointers.size < 2) {
        this.#gesture = null;
        this.#layout(); // now fetch the image for the final zoom
        this.#onViewChange('user');
      }
      return;
    }
    if (event.type === 'pointerup' && pointer.type !== 'mouse') this.#maybeSwipe(pointer, event);
  }

  #maybeSwipe(pointer, event) {
    const dx = event.clientX - pointer.x0;
    const dy = event.clientY - pointer.y0;
    if (Math.abs(dx) < SWIPE_DISTANCE || Math.abs(dx) < 1.5 * Math.abs(dy)) return;
    if (event.timeStamp - pointer.t0 > SWIPE_TIME) return;
    const stage = this.#els.stage;
    // Zoomed in, a swipe turns the page only from the edge the page is scrolled to.
    const atLeft = stage.scrollLeft <= 1;
    const atRight = stage.scrollLeft + stage.clientWidth >= stage.scrollWidth - 1;
    if (dx < 0 && atRight) this.next();
    else if (dx > 0 && atLeft) this.prev();
  }

  #startPinch() {
    const [a, b] = [...this.#pointers.values()];
    const base = this.#fitWidthCss();
    if (!base) return;
    this.#gesture = { kind: 'pinch', distance: Math.hypot(a.x - b.x, a.y - b.y) || 1,
      factor: this.#cssWidth() / base };
  }

  #movePinch() {
    const [a, b] = [...this.#pointers.values()];
    const gesture = this.#gesture;
    this.#fit = null;
    this.#factor = clamp(gesture.factor * Math.hypot(a.x - b.x, a.y - b.y) / gesture.distance,
      MIN_ZOOM, MAX_ZOOM);
    this.#layout();
    this.#updateControls();
  }
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}
