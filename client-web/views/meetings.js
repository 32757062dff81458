// My meetings, grouped: in session now, upcoming, past (GET /api/meetings).
import { h } from '../dom.js';
import { icon } from '../icons.js';

const GROUPS = Object.freeze(['live', 'upcoming', 'past']);

export class MeetingsView {
  name = 'meetings';
  #abort = new AbortController();

  constructor(app) {
    this.app = app;
  }

  async mount(root) {
    const { i18n } = this.app;
    const t = (key, vars) => i18n.t(key, vars);
    this.app.setTitle(t('meetings.title'));
    const body = h('div', { class: 'meetings-body', 'aria-busy': 'true' },
      h('p', { class: 'loading' }, t('common.loading')));
    root.append(h('div', { class: 'page' },
      h('header', { class: 'page-head' },
        h('p', { class: 'page-kicker' }, t('meetings.greeting', { name: this.app.user.full_name || this.app.user.username })),
        h('h1', {}, t('meetings.title'))),
      body));
    const meetings = await this.app.api.meetings(this.#abort.signal);
    const now = new Date();
    const groups = new Map(GROUPS.map((key) => [key, []]));
    for (const meeting of meetings) groups.get(groupOf(meeting, now)).push(meeting);
    const start = (m) => (m.starts_at ? Date.parse(m.starts_at) : Infinity);
    groups.get('upcoming').sort((a, b) => start(a) - start(b));
    groups.get('past').sort((a, b) => start(b) - start(a));
    body.replaceChildren();
    body.removeAttribute('aria-busy');
    if (!meetings.length) {
      body.append(h('div', { class: 'empty-state' }, icon('file'), h('p', {}, t('meetings.none'))));
      return;
    }
    for (const key of GROUPS) {
      const list = groups.get(key);
      if (!list.length) continue;
      body.append(h('section', { class: `meeting-group group-${key}`, 'aria-labelledby': `group-${key}` },
        h('h2', { id: `group-${key}` }, t(`meetings.group.${key}`),
          h('span', { class: 'count' }, i18n.number(list.length))),
        h('ul', { class: 'meeting-list' }, list.map((m) => h('li', {}, this.#card(m))))));
    }
  }

  #card(meeting) {
    const { i18n } = this.app;
    const t = (key, vars) => i18n.t(key, vars);
    const starts = meeting.starts_at ? new Date(meeting.starts_at) : null;
    const date = starts ? h('div', { class: 'date-block', 'aria-hidden': 'true' },
      h('span', { class: 'date-month' }, i18n.dateTime(starts, { month: 'short' })),
      h('span', { class: 'date-day' }, i18n.dateTime(starts, { day: 'numeric' })),
      h('span', { class: 'date-year' }, String(starts.getFullYear())))
      : h('div', { class: 'date-block is-empty', 'aria-hidden': 'true' }, icon('clock'));
    const when = starts ? i18n.meetingTime(meeting.starts_at, meeting.ends_at) : t('meetings.noDate');
    const canPrepare = meeting.can_edit;
    return h('article', { class: 'meeting-card', dataset: { meetingId: String(meeting.id) } },
      date,
      h('div', { class: 'meeting-card-body' },
        h('h3', {}, h('a', { href: `#/meetings/${meeting.id}`, class: 'stretched' }, meeting.title)),
        h('p', { class: 'meta' }, icon('clock'), h('span', {}, when)),
        meeting.place ? h('p', { class: 'meta' }, icon('pin'), h('span', {}, meeting.place)) : null,
        h('p', { class: 'badges' },
          h('span', { class: `badge status-${meeting.status}` }, t(`status.${meeting.status}`)),
          meeting.my_role ? h('span', { class: 'badge role' }, t('meetings.myRole', { role: t(`role.${meeting.my_role}`) })) : null)),
      canPrepare ? h('a', { class: 'btn btn-secondary card-action', href: `#/meetings/${meeting.id}/prepare` },
        icon('prepare'), h('span', {}, t('room.prepare'))) : null);
  }

  destroy() {
    this.#abort.abort();
  }
}

/** In session, upcoming or past, from the status and the times. */
export function groupOf(meeting, now) {
  if (meeting.status === 'in_session') return 'live';
  if (meeting.status === 'closed') return 'past';
  if (meeting.status === 'draft') return 'upcoming';
  if (meeting.ends_at) return Date.parse(meeting.ends_at) < now ? 'past' : 'upcoming';
  if (meeting.starts_at) {
    // Without an end, a meeting stays upcoming through the day it starts.
    const endOfDay = new Date(meeting.starts_at);
    endOfDay.setHours(23, 59, 59, 999);
    return endOfDay < now ? 'past' : 'upcoming';
  }
  return 'upcoming';
}
