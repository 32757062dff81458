// Line icons drawn on a 24-unit grid (stroke 2); the star of the emblem is filled.
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

const PATHS = Object.freeze({
  'chevron-left': 'M15 18l-6-6 6-6',
  'chevron-right': 'M9 18l6-6-6-6',
  back: 'M19 12H5M11 18l-6-6 6-6',
  plus: 'M12 5v14M5 12h14',
  minus: 'M5 12h14',
  'fit-width': 'M3 12h18M7 8l-4 4 4 4M17 8l4 4-4 4',
  'fit-page': 'M6 3h12v18H6zM9 8h6M9 12h6M9 16h4',
  search: 'M11 4a7 7 0 1 1 0 14a7 7 0 0 1 0-14zM20 20l-4-4',
  list: 'M9 6h12M9 12h12M9 18h12M4 6h.01M4 12h.01M4 18h.01',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  globe: 'M12 3a9 9 0 1 0 0 18a9 9 0 0 0 0-18zM3 12h18M12 3c3 3.5 3 14.5 0 18M12 3c-3 3.5-3 14.5 0 18',
  download: 'M12 3v12M7 10l5 5 5-5M4 15v4a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-4',
  upload: 'M12 15V3M7 8l5-5 5 5M4 15v4a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-4',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
  'arrow-up': 'M12 19V5M6 11l6-6 6 6',
  'arrow-down': 'M12 5v14M6 13l6 6 6-6',
  edit: 'M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4',
  check: 'M5 12l5 5L20 7',
  close: 'M6 6l12 12M18 6L6 18',
  file: 'M14 3H6v18h12V7l-4-4zM14 3v4h4',
  clock: 'M12 3a9 9 0 1 0 0 18a9 9 0 0 0 0-18zM12 7v5l3 3',
  pin: 'M12 21s-7-6-7-11a7 7 0 0 1 14 0c0 5-7 11-7 11zM12 8a2 2 0 1 0 0 4a2 2 0 0 0 0-4z',
  prepare: 'M9 3h6v3H9zM9 4.5H6V21h12V4.5h-3M9 12h6M9 16h4',
  users: 'M16 20v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2M9 10a4 4 0 1 0 0-8a4 4 0 0 0 0 8zM22 20v-2a4 4 0 0 0-3-3.9M16 2.1a4 4 0 0 1 0 7.8',
  publish: 'M22 2L11 13M22 2l-7 20-4-9-9-4z',
  video: 'M3 6h12v12H3zM15 10l6-4v12l-6-4',
  mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3M8 21h8',
  speaker: 'M4 9h4l5-4v14l-5-4H4zM16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12',
  menu: 'M4 6h16M4 12h16M4 18h16',
  alert: 'M12 3L2 20h20L12 3zM12 10v4M12 17h.01',
  follow: 'M12 5a7 7 0 1 0 0 14a7 7 0 0 0 0-14zM12 9a3 3 0 1 0 0 6a3 3 0 0 0 0-6zM12 1v3M12 20v3M1 12h3M20 12h3',
  present: 'M3 4h18v12H3zM12 16v4M8 20h8M10 8l4 2-4 2z',
  laser: 'M12 9a3 3 0 1 0 0 6a3 3 0 0 0 0-6zM12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2',
  hand: 'M8 13V5.5a1.5 1.5 0 0 1 3 0V12M11 11.5V4a1.5 1.5 0 0 1 3 0v8M14 11V5.5a1.5 1.5 0 0 1 3 0V13M17 9.5a1.5 1.5 0 0 1 3 0V15a7 7 0 0 1-7 7h-1a7 7 0 0 1-5.5-2.7L3.8 16a1.5 1.5 0 0 1 2.4-1.8L8 16',
  pen: 'M4 20l1-5L16 4l4 4L9 19l-5 1zM14 6l4 4',
  highlighter: 'M9 11l-5 5v3h6l5-5M9 11l6-6 4 4-6 6M9 11l4 4M4 22h16',
  eraser: 'M7 21h13M5 15l9-9a2 2 0 0 1 3 0l3 3a2 2 0 0 1 0 3l-8 8H9l-4-4a1 1 0 0 1 0-1zM9 11l5 5',
  note: 'M5 3h14v12l-6 6H5zM13 21v-6h6M9 8h6M9 12h4',
  undo: 'M9 14L4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11',
  redo: 'M15 14l5-5-5-5M20 9H9.5a5.5 5.5 0 0 0 0 11H13',
  stylus: 'M4 20l1-5L16 4l4 4L9 19l-5 1zM2 22l3-3',
  lock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4',
  share: 'M16 8a3 3 0 1 0 0-6a3 3 0 0 0 0 6zM8 15a3 3 0 1 0 0-6a3 3 0 0 0 0 6zM16 22a3 3 0 1 0 0-6a3 3 0 0 0 0 6zM10.6 13.5l2.8 1.7M13.4 6.8l-2.8 1.7',
  wifi: 'M2 9a15 15 0 0 1 20 0M5 12.5a10 10 0 0 1 14 0M8.5 16a5 5 0 0 1 7 0M12 19.5h.01',
  cloud: 'M7 18a5 5 0 0 1-.6-10A6 6 0 0 1 18 8a4.5 4.5 0 0 1-.5 10zM12 10v6M9 13l3 3 3-3',
  star: 'M12 2.5l2.8 6.6 7.2.6-5.5 4.7 1.7 7-6.2-3.8-6.2 3.8 1.7-7L2 9.7l7.2-.6z',
});

/** An inline SVG icon, hidden from assistive technology (the button carries the label). */
export function icon(name, { filled = false } = {}) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', PATHS[name]);
  if (filled) {
    path.setAttribute('fill', 'currentColor');
  } else {
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', 'currentColor');
    path.setAttribute('stroke-width', '2');
    path.setAttribute('stroke-linecap', 'round');
    path.setAttribute('stroke-linejoin', 'round');
  }
  svg.append(path);
  return svg;
}

/** A button that shows only an icon; its accessible name and tooltip come from `label`. */
export function iconButton(name, label, props = {}) {
  return h('button', { type: 'button', class: 'btn btn-icon', 'aria-label': label, title: label,
    ...props }, icon(name));
}
