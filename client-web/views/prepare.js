// The secretary's preparation view: meeting details, agenda, documents, participants,
// sites, and publishing. Shown only when the meeting says can_edit.
import { h, replace } from '../dom.js';
import { icon, iconButton } from '../icons.js';
import { field } from './login.js';

const POLL_MS = 1000;
const ROLES = Object.freeze(['chair', 'secretary', 'delegate', 'site', 'guest']);
const SITE_KINDS = Object.freeze(['district', 'commune']);

export class PrepareView {
  name = 'prepare';
  #abort = new AbortController();
  #meetingId;
  #meeting = null;
  #poll = 0;
  #upload = null;
  #els = {};

  constructor(app, [meetingId]) {
    this.app = app;
    this.#meetingId = Number(meetingId);
  }

  #t(key, vars) {
    return this.app.i18n.t(key, vars);
  }

  async mount(root) {
    const t = (key, vars) => this.#t(key, vars);
    root.append(h('p', { class: 'loading page' }, t('common.loading')));
    const meeting = await this.app.api.meeting(this.#meetingId, this.#abort.signal);
    this.#meeting = meeting;
    this.app.setTitle(t('prepare.title'));
    this.app.setContext(
      h('a', { class: 'btn btn-topbar', href: `#/meetings/${meeting.id}`, 'aria-label': t('prepare.toRoom'),
        title: t('prepare.toRoom') }, icon('back')),
      h('div', { class: 'context-title' }, h('span', { class: 'context-name' }, meeting.title)));
    if (!meeting.can_edit) {
      replace(root, h('div', { class: 'page' }, h('div', { class: 'empty-state', role: 'alert' },
        icon('alert'), h('p', {}, t('prepare.notAllowed')),
        h('a', { class: 'btn btn-secondary', href: `#/meetings/${meeting.id}` }, t('prepare.toRoom')))));
      return;
    }
    const sections = [
      ['details', this.#detailsSection()],
      ['agenda', this.#agendaSection()],
      ['documents', this.#documentsSection()],
      ['participants', this.#participantsSection()],
      ['sites', this.#sitesSection()],
    ];
    this.#els.status = h('div', { class: 'publish-bar' });
    replace(root, h('div', { class: 'page page-wide' },
      h('header', { class: 'page-head' },
        h('p', { class: 'page-kicker' }, t('prepare.title')),
        h('h1', {}, meeting.title),
        this.#els.status,
        h('nav', { class: 'section-nav', 'aria-label': t('prepare.sections') },
          sections.map(([key]) => h('a', { href: '#', class: 'chip',
            onclick: (event) => { event.preventDefault(); root.querySelector(`#section-${key}`).scrollIntoView({ behavior: 'smooth' }); },
          }, t(`prepare.${key}.title`))))),
      sections.map(([, section]) => section)));
    this.#renderAll();
  }

  destroy() {
    this.#abort.abort();
    this.#upload?.abort();
    clearTimeout(this.#poll);
  }

  // ---- shared ------------------------------------------------------------------------

  #renderAll() {
    this.#renderStatus();
    this.#renderAgenda();
    this.#renderDocuments();
    this.#renderParticipants();
    this.#renderSites();
    this.#fillItemSelects();
    this.#fillSiteSelects();
  }

  async #reload() {
    this.#meeting = await this.app.api.meeting(this.#meetingId, this.#abort.signal);
    this.#renderAll();
  }

  /** Run a change; on success reload and say `doneKey`, on failure show the server's reason. */
  async #change(action, doneKey, button) {
    if (button) button.disabled = true;
    try {
      await action();
      await this.#reload();
      if (doneKey) this.app.status.show(this.#t(doneKey));
      return true;
    } catch (error) {
      if (error.name !== 'AbortError') this.app.status.error(error);
      return false;
    } finally {
      if (button) button.disabled = false;
    }
  }

  #section(key, ...content) {
    return h('section', { class: 'card prepare-section', id: `section-${key}`, 'aria-labelledby': `heading-${key}` },
      h('h2', { id: `heading-${key}` }, this.#t(`prepare.${key}.title`)), content);
  }

  #itemLabel(number, item) {
    return `${number}. ${item.title}`;
  }

  #flatItems() {
    const out = [];
    const walk = (items, prefix) => items.forEach((item, i) => {
      const number = prefix ? `${prefix}.${i + 1}` : String(i + 1);
      out.push({ item, number });
      walk(item.children ?? [], number);
    });
    walk(this.#meeting.agenda, '');
    return out;
  }

  // ---- status and publishing ----------------------------------------------------------

  #renderStatus() {
    const t = (key, vars) => this.#t(key, vars);
    const { status } = this.#meeting;
    replace(this.#els.status,
      h('span', { class: `badge status-${status}`, 'data-testid': 'meeting-status' }, t(`status.${status}`)),
      h('span', { class: 'publish-hint' }, t(`prepare.statusHint.${status}`)),
      // The server says which moves are allowed from here, the usual next step first.
      h('span', { class: 'publish-actions' }, this.#meeting.next_statuses.map((next, index) => {
        const button = h('button', { type: 'button', class: index === 0 ? 'btn btn-primary' : 'btn btn-secondary',
          dataset: { transition: next },
          onclick: () => this.#change(() => this.app.api.updateMeeting(this.#meetingId, { status: next }),
            `prepare.statusDone.${next}`, button),
        }, next === 'published' ? icon('publish') : null, h('span', {}, t(`prepare.transition.${status}.${next}`)));
        return button;
      })));
  }

  // ---- details -----------------------------------------------------------------------

  #detailsSection() {
    const t = (key) => this.#t(key);
    const m = this.#meeting;
    const title = h('input', { id: 'meeting-title', required: true, maxlength: '500', value: m.title });
    const place = h('input', { id: 'meeting-place', maxlength: '500', value: m.place });
    const starts = h('input', { id: 'meeting-starts', type: 'datetime-local', value: toLocalInput(m.starts_at) });
    const ends = h('input', { id: 'meeting-ends', type: 'datetime-local', value: toLocalInput(m.ends_at) });
    const description = h('textarea', { id: 'meeting-description', rows: '3', maxlength: '10000' });
    description.value = m.description;
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('check'), h('span', {}, t('common.save')));
    const form = h('form', { class: 'form-grid' },
      h('div', { class: 'span-2' }, field('meeting-title', t('prepare.details.name'), title)),
      h('div', { class: 'span-2' }, field('meeting-place', t('prepare.details.place'), place)),
      field('meeting-starts', t('prepare.details.starts'), starts),
      field('meeting-ends', t('prepare.details.ends'), ends),
      h('div', { class: 'span-2' }, field('meeting-description', t('prepare.details.description'), description)),
      h('div', { class: 'form-actions span-2' }, save));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const changes = {
        title: title.value.trim(), place: place.value.trim(), description: description.value,
        starts_at: fromLocalInput(starts.value), ends_at: fromLocalInput(ends.value),
      };
      this.#change(() => this.app.api.updateMeeting(this.#meetingId, changes), 'common.saved', save);
    });
    return this.#section('details', form);
  }

  // ---- agenda ------------------------------------------------------------------------

  #agendaSection() {
    const t = (key) => this.#t(key);
    this.#els.agenda = h('ol', { class: 'edit-agenda' });
    const title = h('input', { id: 'new-item-title', required: true, maxlength: '500' });
    const duration = h('input', { id: 'new-item-duration', type: 'number', min: '1', max: '1440', inputmode: 'numeric' });
    const guest = h('input', { id: 'new-item-guest', type: 'checkbox', checked: true });
    const add = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('plus'), h('span', {}, t('prepare.agenda.add')));
    const form = h('form', { class: 'form-row add-item' },
      h('div', { class: 'grow' }, field('new-item-title', t('prepare.agenda.newTitle'), title)),
      field('new-item-duration', t('prepare.agenda.duration'), duration),
      h('label', { class: 'check' }, guest, h('span', {}, t('prepare.agenda.guestVisible'))),
      add);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!title.value.trim()) return title.focus();
      const ok = await this.#change(() => this.app.api.addAgendaItem(this.#meetingId, {
        title: title.value.trim(), duration_minutes: numberOrNull(duration.value), guest_visible: guest.checked,
      }), 'prepare.agenda.added', add);
      if (ok) { form.reset(); guest.checked = true; title.focus(); }
    });
    return this.#section('agenda', this.#els.agenda, h('h3', { class: 'subhead' }, t('prepare.agenda.addHeading')), form);
  }

  #renderAgenda() {
    const t = (key) => this.#t(key);
    const agenda = this.#meeting.agenda;
    replace(this.#els.agenda, agenda.length
      ? agenda.map((item, i) => this.#agendaRow(item, String(i + 1), agenda, null))
      : h('li', { class: 'muted' }, t('room.noAgenda')));
  }

  #agendaRow(item, number, siblings, parent) {
    const t = (key, vars) => this.#t(key, vars);
    const index = siblings.indexOf(item);
    const move = (delta) => {
      const order = siblings.map((s) => s.id);
      [order[index], order[index + delta]] = [order[index + delta], order[index]];
      return this.#change(() => this.app.api.reorderAgenda(this.#meetingId, order), 'prepare.agenda.moved');
    };
    const presenter = this.#meeting.participants.find((p) => p.id === item.presenter_id);
    const meta = [presenter?.full_name,
      item.duration_minutes ? t('room.minutes', { n: item.duration_minutes }) : null,
      item.guest_visible ? null : t('prepare.agenda.hiddenFromGuests'),
      item.documents.length ? t('prepare.agenda.documents', { n: item.documents.length }) : null]
      .filter(Boolean).join(' · ');
    const row = h('div', { class: 'edit-row' },
      h('span', { class: 'agenda-number' }, number),
      h('span', { class: 'edit-row-text' }, h('span', { class: 'edit-row-title' }, item.title),
        meta ? h('span', { class: 'edit-row-meta' }, meta) : null),
      h('span', { class: 'row-actions' },
        iconButton('arrow-up', t('prepare.agenda.moveUp', { title: item.title }), { disabled: index === 0, onclick: () => move(-1) }),
        iconButton('arrow-down', t('prepare.agenda.moveDown', { title: item.title }), { disabled: index === siblings.length - 1, onclick: () => move(1) }),
        iconButton('edit', t('prepare.agenda.edit', { title: item.title }), { onclick: () => this.#editItem(li, item) }),
        parent ? null : iconButton('plus', t('prepare.agenda.addChild', { title: item.title }), { onclick: () => this.#addChild(li, item) }),
        iconButton('trash', t('prepare.agenda.remove', { title: item.title }), {
          class: 'btn btn-icon btn-danger-ghost',
          onclick: () => {
            if (!window.confirm(t('prepare.agenda.confirmRemove', { title: item.title }))) return;
            this.#change(() => this.app.api.removeAgendaItem(this.#meetingId, item.id), 'prepare.agenda.removed');
          },
        })));
    const li = h('li', { class: 'edit-item', dataset: { itemId: String(item.id) } }, row,
      item.children?.length ? h('ol', { class: 'edit-agenda edit-children' },
        item.children.map((child, i) => this.#agendaRow(child, `${number}.${i + 1}`, item.children, item))) : null);
    return li;
  }

  #editItem(li, item) {
    const t = (key) => this.#t(key);
    const id = `edit-item-${item.id}`;
    const title = h('input', { id: `${id}-title`, required: true, maxlength: '500', value: item.title });
    const duration = h('input', { id: `${id}-duration`, type: 'number', min: '1', max: '1440', value: item.duration_minutes ?? '' });
    const presenter = h('select', { id: `${id}-presenter` },
      h('option', { value: '' }, t('prepare.agenda.noPresenter')),
      this.#sortedParticipants().map((p) => h('option', { value: String(p.id), selected: p.id === item.presenter_id },
        p.full_name || p.username)));
    const guest = h('input', { type: 'checkbox', checked: item.guest_visible });
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'));
    const form = h('form', { class: 'inline-form form-row' },
      h('div', { class: 'grow' }, field(`${id}-title`, t('prepare.agenda.itemTitle'), title)),
      field(`${id}-duration`, t('prepare.agenda.duration'), duration),
      field(`${id}-presenter`, t('prepare.agenda.presenter'), presenter),
      h('label', { class: 'check' }, guest, h('span', {}, t('prepare.agenda.guestVisible'))),
      save,
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => this.#renderAgenda() }, t('common.cancel')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const changes = { title: title.value.trim(), duration_minutes: numberOrNull(duration.value),
        presenter_id: numberOrNull(presenter.value), guest_visible: guest.checked };
      this.#change(() => this.app.api.updateAgendaItem(this.#meetingId, item.id, changes), 'common.saved', save);
    });
    li.firstElementChild.replaceWith(form);
    title.focus();
  }

  #addChild(li, parent) {
    const t = (key) => this.#t(key);
    const id = `child-of-${parent.id}`;
    const title = h('input', { id, required: true, maxlength: '500' });
    const add = h('button', { type: 'submit', class: 'btn btn-primary' }, t('prepare.agenda.add'));
    const form = h('form', { class: 'inline-form form-row child-form' },
      h('div', { class: 'grow' }, field(id, t('prepare.agenda.childTitle'), title)), add,
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => form.remove() }, t('common.cancel')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!title.value.trim()) return;
      this.#change(() => this.app.api.addAgendaItem(this.#meetingId, { title: title.value.trim(), parent_id: parent.id }),
        'prepare.agenda.added', add);
    });
    li.append(form);
    title.focus();
  }

  #fillItemSelects() {
    const t = (key) => this.#t(key);
    for (const select of document.querySelectorAll('select[data-item-select]')) {
      const value = select.value;
      replace(select, h('option', { value: '' }, t('prepare.documents.noItem')),
        this.#flatItems().map(({ item, number }) => h('option', { value: String(item.id) }, this.#itemLabel(number, item))));
      select.value = value;
    }
  }

  // ---- documents ---------------------------------------------------------------------

  #documentsSection() {
    const t = (key) => this.#t(key);
    // The native file input shows the browser's own words; ours come from the catalogue.
    const file = h('input', { id: 'upload-file', type: 'file', accept: 'application/pdf,.pdf', class: 'visually-hidden' });
    const chosenName = h('span', { class: 'drop-name' }, t('prepare.documents.noFile'));
    let chosen = null;
    const choose = (picked) => {
      chosen = picked ?? null;
      chosenName.textContent = chosen ? chosen.name : t('prepare.documents.noFile');
      drop.classList.toggle('has-file', Boolean(chosen));
    };
    file.addEventListener('change', () => choose(file.files[0]));
    const drop = h('label', { class: 'drop-zone', for: 'upload-file' },
      icon('upload'), h('span', { class: 'drop-text' }, h('strong', {}, t('prepare.documents.pick')),
        h('span', {}, t('prepare.documents.dropHint'))), chosenName);
    drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('is-over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('is-over'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('is-over');
      choose(event.dataTransfer.files[0]);
    });
    const title = h('input', { id: 'upload-title', maxlength: '500', placeholder: t('prepare.documents.titleHint') });
    const item = h('select', { id: 'upload-item', dataset: { itemSelect: '' } });
    const guest = h('input', { id: 'upload-guest', type: 'checkbox' });
    const send = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('upload'), h('span', {}, t('prepare.documents.upload')));
    const progress = h('progress', { max: '1', value: '0' });
    const progressText = h('span', { class: 'upload-text' });
    const cancel = h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => this.#upload?.abort() }, t('common.cancel'));
    const progressRow = h('div', { class: 'upload-progress', hidden: true, role: 'status' }, progressText, progress, cancel);
    const form = h('form', { class: 'form-grid upload-form' },
      h('div', { class: 'span-2 field' }, h('span', { class: 'field-label' }, t('prepare.documents.file')), file, drop),
      field('upload-title', t('prepare.documents.docTitle'), title),
      field('upload-item', t('prepare.documents.item'), item),
      h('label', { class: 'check span-2' }, guest, h('span', {}, t('prepare.documents.guestVisible'))),
      h('div', { class: 'form-actions span-2' }, send),
      h('div', { class: 'span-2' }, progressRow));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!chosen) {
        this.app.status.show(t('prepare.documents.chooseFile'), 'error');
        return;
      }
      const sending = chosen;
      send.disabled = true;
      progressRow.hidden = false;
      progress.value = 0;
      progressText.textContent = this.#t('prepare.documents.uploading', { name: sending.name, percent: 0 });
      const upload = this.app.api.upload(this.#meetingId, sending, {
        title: title.value.trim(), agendaItemId: numberOrNull(item.value), guestVisible: guest.checked,
      }, (fraction) => {
        progress.value = fraction;
        progressText.textContent = this.#t('prepare.documents.uploading', { name: sending.name, percent: Math.round(fraction * 100) });
      });
      this.#upload = upload;
      try {
        await upload.done;
        form.reset();
        choose(null);
        this.app.status.show(this.#t('prepare.documents.uploaded', { name: sending.name }));
        await this.#reload();
      } catch (error) {
        if (error.name === 'AbortError') this.app.status.show(t('prepare.documents.cancelled'));
        else this.app.status.error(error, 'prepare.documents.refused');
      } finally {
        this.#upload = null;
        send.disabled = false;
        progressRow.hidden = true;
      }
    });
    this.#els.documents = h('ul', { class: 'doc-list' });
    return this.#section('documents', this.#els.documents,
      h('h3', { class: 'subhead' }, t('prepare.documents.addHeading')), form);
  }

  #renderDocuments() {
    const t = (key, vars) => this.#t(key, vars);
    const documents = this.#meeting.documents;
    const items = this.#flatItems();
    replace(this.#els.documents, documents.length ? documents.map((d) => {
      const select = h('select', { 'aria-label': t('prepare.documents.itemFor', { title: d.title }) },
        h('option', { value: '' }, t('prepare.documents.noItem')),
        items.map(({ item, number }) => h('option', { value: String(item.id), selected: item.id === d.agenda_item_id },
          this.#itemLabel(number, item))));
      select.addEventListener('change', () => this.#change(() => this.app.api.updateDocument(d.id,
        { agenda_item_id: numberOrNull(select.value) }), 'common.saved'));
      const guest = h('input', { type: 'checkbox', checked: d.guest_visible });
      guest.addEventListener('change', () => this.#change(() => this.app.api.updateDocument(d.id,
        { guest_visible: guest.checked }), 'common.saved'));
      return h('li', { class: 'doc-row', dataset: { documentId: String(d.id) } },
        h('span', { class: 'doc-icon' }, icon('file')),
        h('span', { class: 'doc-row-text' },
          h('span', { class: 'doc-row-title' }, d.title),
          h('span', { class: 'doc-row-meta' }, [d.original_filename, formatSize(d.size, this.app.i18n),
            t('room.pages', { n: d.page_count }), d.repaired ? t('prepare.documents.repaired') : null].filter(Boolean).join(' · '))),
        h('span', { class: `doc-state state-${d.state}`, 'data-testid': 'doc-state' }, this.#stateText(d)),
        h('span', { class: 'doc-row-controls' }, select,
          h('label', { class: 'check' }, guest, h('span', {}, t('prepare.documents.guests'))),
          iconButton('trash', t('prepare.documents.remove', { title: d.title }), {
            class: 'btn btn-icon btn-danger-ghost',
            onclick: () => {
              if (!window.confirm(t('prepare.documents.confirmRemove', { title: d.title }))) return;
              this.#change(() => this.app.api.removeDocument(d.id), 'prepare.documents.removed');
            },
          })));
    }) : h('li', { class: 'muted' }, t('prepare.documents.none')));
    this.#watchIntake();
  }

  #stateText(d) {
    const t = (key, vars) => this.#t(key, vars);
    if (d.state === 'ready') return t('document.ready');
    if (d.state === 'failed') return t('document.failedWith', { message: d.error?.message ?? '' });
    return t('document.processing', { ready: d.pages_ready, count: d.page_count });
  }

  /** Documents still rendering: refresh their state until each is ready or failed. */
  #watchIntake() {
    clearTimeout(this.#poll);
    if (this.#meeting.documents.every((d) => d.state === 'ready' || d.state === 'failed')) return;
    this.#poll = setTimeout(async () => {
      try {
        const documents = await this.app.api.documents(this.#meetingId, this.#abort.signal);
        this.#meeting.documents = documents;
        for (const d of documents) {
          const el = this.#els.documents.querySelector(`[data-document-id="${d.id}"] .doc-state`);
          if (el) {
            el.textContent = this.#stateText(d);
            el.className = `doc-state state-${d.state}`;
          }
        }
      } catch (error) {
        if (error.name === 'AbortError') return;
        this.app.status.error(error);
      }
      this.#watchIntake();
    }, POLL_MS);
  }

  // ---- participants ------------------------------------------------------------------

  #sortedParticipants() {
    return [...this.#meeting.participants].sort((a, b) =>
      this.app.i18n.comparePeople(a.full_name || a.username, b.full_name || b.username));
  }

  #participantsSection() {
    const t = (key) => this.#t(key);
    const username = h('input', { id: 'new-username', required: true, autocapitalize: 'none', spellcheck: 'false',
      pattern: '[a-z0-9][a-z0-9._\\-]{1,63}' });
    const fullName = h('input', { id: 'new-full-name', maxlength: '500' });
    const role = h('select', { id: 'new-role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'delegate' }, t(`role.${r}`))));
    const position = h('input', { id: 'new-position', maxlength: '300' });
    const site = h('select', { id: 'new-site', dataset: { siteSelect: '' } });
    const add = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('plus'), h('span', {}, t('prepare.participants.add')));
    const form = h('form', { class: 'form-grid' },
      field('new-username', t('prepare.participants.username'), username, t('prepare.participants.usernameHint')),
      field('new-full-name', t('prepare.participants.fullName'), fullName),
      field('new-role', t('prepare.participants.role'), role),
      field('new-position', t('prepare.participants.position'), position),
      field('new-site', t('prepare.participants.site'), site),
      h('div', { class: 'form-actions' }, add));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { username: username.value.trim().toLowerCase(), role: role.value, position: position.value.trim(),
        full_name: fullName.value.trim() || null, site_id: numberOrNull(site.value) };
      if (!body.username) return username.focus();
      const ok = await this.#change(() => this.app.api.addParticipant(this.#meetingId, body), 'prepare.participants.added', add);
      if (ok) { form.reset(); role.value = 'delegate'; username.focus(); }
    });
    this.#els.participants = h('ul', { class: 'people-list' });
    return this.#section('participants', this.#els.participants,
      h('h3', { class: 'subhead' }, t('prepare.participants.addHeading')), form);
  }

  #renderParticipants() {
    const t = (key, vars) => this.#t(key, vars);
    const sites = new Map(this.#meeting.sites.map((s) => [s.id, s.name]));
    replace(this.#els.participants, this.#sortedParticipants().map((p) => {
      const name = p.full_name || p.username;
      const role = h('select', { 'aria-label': t('prepare.participants.roleOf', { name }) },
        ROLES.map((r) => h('option', { value: r, selected: r === p.role }, t(`role.${r}`))));
      role.addEventListener('change', () => this.#change(() => this.app.api.updateParticipant(this.#meetingId, p.id,
        { role: role.value }), 'common.saved'));
      return h('li', { class: 'person-row', dataset: { participantId: String(p.id) } },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, name.trim().split(/\s+/).pop().charAt(0).toUpperCase()),
        h('span', { class: 'person-text' },
          h('span', { class: 'person-name' }, name),
          h('span', { class: 'person-meta' }, [p.username, p.position, sites.get(p.site_id)].filter(Boolean).join(' · '))),
        role,
        iconButton('trash', t('prepare.participants.remove', { name }), {
          class: 'btn btn-icon btn-danger-ghost',
          onclick: () => {
            if (!window.confirm(t('prepare.participants.confirmRemove', { name }))) return;
            this.#change(() => this.app.api.removeParticipant(this.#meetingId, p.id), 'prepare.participants.removed');
          },
        }));
    }));
  }

  // ---- sites -------------------------------------------------------------------------

  #sitesSection() {
    const t = (key) => this.#t(key);
    const key = h('input', { id: 'new-site-key', required: true, autocapitalize: 'none', spellcheck: 'false',
      pattern: '[a-z0-9][a-z0-9\\-]{0,63}' });
    const name = h('input', { id: 'new-site-name', required: true, maxlength: '500' });
    const kind = h('select', { id: 'new-site-kind' }, SITE_KINDS.map((k) => h('option', { value: k, selected: k === 'commune' }, t(`siteKind.${k}`))));
    const add = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('plus'), h('span', {}, t('prepare.sites.add')));
    const form = h('form', { class: 'form-grid' },
      field('new-site-name', t('prepare.sites.name'), name),
      field('new-site-key', t('prepare.sites.key'), key, t('prepare.sites.keyHint')),
      field('new-site-kind', t('prepare.sites.kind'), kind),
      h('div', { class: 'form-actions' }, add));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { key: key.value.trim().toLowerCase(), name: name.value.trim(), kind: kind.value };
      const ok = await this.#change(() => this.app.api.addSite(this.#meetingId, body), 'prepare.sites.added', add);
      if (ok) { form.reset(); kind.value = 'commune'; }
    });
    this.#els.sites = h('ul', { class: 'site-list' });
    return this.#section('sites', this.#els.sites, h('h3', { class: 'subhead' }, t('prepare.sites.addHeading')), form);
  }

  #renderSites() {
    const t = (key, vars) => this.#t(key, vars);
    const sites = [...this.#meeting.sites].sort((a, b) => this.app.i18n.compareNames(a.name, b.name));
    replace(this.#els.sites, sites.length ? sites.map((s) => h('li', { class: 'site-row' },
      h('span', { class: 'person-text' }, h('span', { class: 'person-name' }, s.name),
        h('span', { class: 'person-meta' }, `${s.key} · ${t(`siteKind.${s.kind}`)}`)),
      iconButton('trash', t('prepare.sites.remove', { name: s.name }), {
        class: 'btn btn-icon btn-danger-ghost',
        onclick: () => {
          if (!window.confirm(t('prepare.sites.confirmRemove', { name: s.name }))) return;
          this.#change(() => this.app.api.removeSite(this.#meetingId, s.id), 'prepare.sites.removed');
        },
      }))) : h('li', { class: 'muted' }, t('prepare.sites.none')));
  }

  #fillSiteSelects() {
    const t = (key) => this.#t(key);
    for (const select of document.querySelectorAll('select[data-site-select]')) {
      const value = select.value;
      replace(select, h('option', { value: '' }, t('prepare.participants.noSite')),
        this.#meeting.sites.map((s) => h('option', { value: String(s.id) }, s.name)));
      select.value = value;
    }
  }
}

function numberOrNull(value) {
  return value === '' || value === null || value === undefined ? null : Number(value);
}

/** An ISO date-time as the value of <input type="datetime-local"> in local time. */
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

function formatSize(bytes, i18n) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${new Intl.NumberFormat(i18n.locale, { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}
