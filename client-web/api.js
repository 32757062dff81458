// The JSON API of the server (see /api/openapi.json). One `Api` object owns the session's
// CSRF token; every failure becomes an ApiError with the server's stable code and message.

export class ApiError extends Error {
  constructor(status, code, message, detail = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  static fromResponse(status, body) {
    const error = body && typeof body === 'object' ? body.error : null;
    if (error && typeof error.code === 'string') {
      return new ApiError(status, error.code, String(error.message ?? ''), error.detail ?? null);
    }
    return new ApiError(status, 'http_' + status, '');
  }

  get isNetwork() {
    return this.status === 0;
  }
}

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class Api {
  #csrfToken = null;
  #onUnauthenticated;

  /** `onUnauthenticated(error)` runs when a signed-in request comes back 401. */
  constructor({ onUnauthenticated = () => {} } = {}) {
    this.#onUnauthenticated = onUnauthenticated;
  }

  get signedIn() {
    return this.#csrfToken !== null;
  }

  async request(method, path, { body, query, signal } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (CHANGES.has(method) && this.#csrfToken) headers['X-CSRF-Token'] = this.#csrfToken;
    let response;
    try {
      response = await fetch(withQuery(path, query), {
        method, headers, signal, credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network', error.message);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = ApiError.fromResponse(response.status, data);
      if (response.status === 401 && path !== '/api/auth/login' && path !== '/api/auth/me') {
        this.#csrfToken = null;
        this.#onUnauthenticated(error);
      }
      throw error;
    }
    return data;
  }

  // ---- session ---------------------------------------------------------------------

  async login(username, password) {
    const session = await this.request('POST', '/api/auth/login', { body: { username, password } });
    this.#csrfToken = session.csrf_token;
    return session;
  }

  /** The signed-in user (after a reload the cookie is still there; the token is not). */
  async me() {
    const session = await this.request('GET', '/api/auth/me');
    this.#csrfToken = session.csrf_token;
    return session;
  }

  async logout() {
    try {
      await this.request('POST', '/api/auth/logout');
    } finally {
      this.#csrfToken = null;
    }
  }

  // ---- meetings ----------------------------------------------------------------------

  meetings(signal) { return this.request('GET', '/api/meetings', { signal }); }
  meeting(id, signal) { return this.request('GET', `/api/meetings/${id}`, { signal }); }
  updateMeeting(id, changes) { return this.request('PATCH', `/api/meetings/${id}`, { body: changes }); }

  addSite(meetingId, site) {
    return this.request('POST', `/api/meetings/${meetingId}/sites`, { body: site });
  }
  removeSite(meetingId, siteId) {
    return this.request('DELETE', `/api/meetings/${meetingId}/sites/${siteId}`);
  }
  addParticipant(meetingId, participant) {
    return this.request('POST', `/api/meetings/${meetingId}/participants`, { body: participant });
  }
  updateParticipant(meetingId, participantId, changes) {
    return this.request('PATCH', `/api/meetings/${meetingId}/participants/${participantId}`,
      { body: changes });
  }
  removeParticipant(meetingId, participantId) {
    return this.request('DELETE', `/api/meetings/${meetingId}/participants/${participantId}`);
  }

  addAgendaItem(meetingId, item) {
    return this.request('POST', `/api/meetings/${meetingId}/agenda`, { body: item });
  }
  updateAgendaItem(meetingId, itemId, changes) {
    return this.request('PATCH', `/api/meetings/${meetingId}/agenda/${itemId}`, { body: changes });
  }
  removeAgendaItem(meetingId, itemId) {
    return this.request('DELETE', `/api/meetings/${meetingId}/agenda/${itemId}`);
  }
  reorderAgenda(meetingId, order) {
    return this.request('PUT', `/api/meetings/${meetingId}/agenda/order`, { body: { order } });
  }

  // ---- documents ---------------------------------------------------------------------

  documents(meetingId, signal) {
    return this.request('GET', `/api/meetings/${meetingId}/documents`, { signal });
  }
  document(id, signal) { return this.request('GET', `/api/documents/${id}`, { signal }); }
  updateDocument(id, changes) { return this.request('PATCH', `/api/documents/${id}`, { body: changes }); }
  removeDocument(id) { return this.request('DELETE', `/api/documents/${id}`); }

  search(meetingId, q, signal) {
    return this.request('GET', `/api/meetings/${meetingId}/search`, { query: { q }, signal });
  }

  /**
   * Upload a PDF as the request body. XMLHttpRequest, because fetch reports no upload
   * progress. Returns {done: Promise<document>, abort()}; `onProgress(fraction)`.
   */
  upload(meetingId, file, { title, agendaItemId, guestVisible } = {}, onProgress = () => {}) {
    const xhr = new XMLHttpRequest();
    const query = { filename: file.name, title: title || undefined,
      agenda_item_id: agendaItemId ?? undefined, guest_visible: guestVisible ? 'true' : undefined };
    const done = new Promise((resolve, reject) => {
      xhr.open('POST', withQuery(`/api/meetings/${meetingId}/documents`, query));
      xhr.setRequestHeader('Content-Type', 'application/pdf');
      xhr.setRequestHeader('Accept', 'application/json');
      if (this.#csrfToken) xhr.setRequestHeader('X-CSRF-Token', this.#csrfToken);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener('load', () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: keep null */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(ApiError.fromResponse(xhr.status, data));
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, 'network', '')));
      xhr.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      xhr.send(file);
    });
    return { done, abort: () => xhr.abort() };
  }
}

/** A page image URL from a document's `page_url` template. */
export function pageUrl(document, page, width, format = 'webp') {
  return document.page_url.replace('{page}', String(page)).replace('{width}', String(width))
    .replace('{format}', format);
}

/** The smallest of `widths` at least `needed` pixels wide, else the largest. */
export function pickWidth(widths, needed) {
  const sorted = [...widths].sort((a, b) => a - b);
  return sorted.find((w) => w >= needed) ?? sorted[sorted.length - 1];
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
