// Video beside the document: the commune sites and the district hall, through the
// server's relay (docs/protocol.md, "Video and the floor"). Whoever holds the floor is
// shown large; everyone else in a strip of tiles, each with a health badge. A chair,
// secretary or site publishes its camera from here; the chair gives and takes the floor,
// mutes a site, or puts it on audio only.
import { h, replace } from './dom.js';
import { icon, iconButton } from './icons.js';

const REPORT_MS = 2000; // how often a publisher reports its link
const GATHER_MS = 2000; // how long an offer waits for ICE candidates before it goes
const RETRY_MS = 3000; // a failed publication is offered again after this long
const LEVELS = Object.freeze(['unknown', 'good', 'warn', 'alarm', 'critical']);

/** Resolve once ICE gathering is complete, or after `ms` (late candidates are trickled). */
function gathered(pc, ms) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') { resolve(); return; }
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() { if (pc.iceGatheringState === 'complete') finish(); }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** Who is shown large: the floor holder, else the district hall, else anyone. */
function largeSource(state, others) {
  return others.find((s) => s.id === state.floor) ?? others.find((s) => s.hall) ?? others[0] ?? null;
}

export class VideoPanel {
  element;
  toggle;
  #i18n;
  #connection;
  #meetingId;
  #role;
  #onError;
  #state = { floor: null, requests: [], sources: [] };
  #self = null;
  #canPublish = false;
  #iceServers = [];
  #ready = false;
  #open = false;
  #sound; // play the others' audio on this device
  #publisher = null; // {pc, stream, videoSender, videoTrack}
  #publishWanted = false;
  #audioOnly = false;
  #subs = new Map(); // source id → {pc, stream}
  #videos = new Map(); // source id → its <video>, kept across renders so playback never restarts
  #reportTimer = 0;
  #retryTimer = 0;
  #els = {};
  #destroyed = false;
  #started = false;
  #userChose = false; // once the user opens or closes the video, it stays as they left it

  constructor({ i18n, connection, meetingId, role, onError }) {
    this.#i18n = i18n;
    this.#connection = connection;
    this.#meetingId = meetingId;
    this.#role = role;
    this.#onError = onError;
    // The hall's and the sites' own computers play sound; tablets in the hall do not
    // (a room full of tablets playing the same voice would howl).
    this.#sound = role === 'chair' || role === 'site';
    const t = (key, vars) => i18n.t(key, vars);
    this.toggle = iconButton('video', t('video.toggle'), {
      'aria-pressed': 'false', 'data-testid': 'video-toggle', onclick: () => this.setOpen(!this.#open) });
    this.#els.count = h('span', { class: 'video-count', 'aria-hidden': 'true' });
    this.toggle.append(this.#els.count);
    this.#els.stage = h('div', { class: 'video-stage', 'data-testid': 'video-stage' });
    this.#els.strip = h('div', { class: 'video-strip', 'data-testid': 'video-strip' });
    this.#els.controls = h('div', { class: 'video-controls' });
    this.#els.proposal = h('div', { class: 'video-proposal', hidden: true, role: 'alert' });
    this.#els.requests = h('div', { class: 'video-requests', hidden: true });
    this.element = h('section', { class: 'video-panel', hidden: true, 'aria-label': t('video.panel'),
      'data-testid': 'video-panel' },
    h('header', { class: 'video-head' }, h('h2', {}, t('video.panel')),
      iconButton('close', t('video.close'), { onclick: () => this.setOpen(false) })),
    this.#els.proposal, this.#els.stage, this.#els.strip, this.#els.requests, this.#els.controls);
  }

  get open() { return this.#open; }

  /** After every (re)join: the media state, our source id, the ICE servers. */
  async start() {
    try {
      const result = await this.#request('media.state');
      this.#self = result.self;
      this.#canPublish = result.can_publish;
      this.#iceServers = result.ice_servers;
      this.#ready = true;
      this.toggle.hidden = false;
      // The chair, the secretary and the sites work with the video: a column beside the
      // document. Everyone else gets the speaker in a small window over the page, which
      // opens when someone is on screen and leaves the document's width alone.
      this.element.classList.toggle('is-overlay', !this.#canPublish);
      if (!this.#started && this.#canPublish) this.setOpen(true, { byUser: false });
      this.#started = true;
      this.#apply(result.state);
      if (this.#publishWanted && !this.#publisher) this.publish();
    } catch (error) {
      if (error.code !== 'media_off') this.#onError(error);
      this.toggle.hidden = true;
    }
  }

  onEvent(name, data) {
    if (name === 'media.changed') this.#apply(data);
  }

  setOpen(open, { byUser = true } = {}) {
    if (byUser) this.#userChose = true;
    this.#open = open;
    this.element.hidden = !open;
    this.toggle.setAttribute('aria-pressed', open ? 'true' : 'false');
    this.element.dispatchEvent(new CustomEvent('video-toggle', { bubbles: true, detail: { open } }));
    if (!open) this.#closeSubscriptions();
    this.#apply(this.#state);
  }

  // ---- what the meeting says -----------------------------------------------------------

  #apply(state) {
    this.#state = state;
    const others = state.sources.filter((s) => s.id !== this.#self);
    this.#els.count.textContent = others.length ? String(others.length) : '';
    const mine = state.sources.find((s) => s.id === this.#self);
    if (!this.#canPublish && this.#ready && !this.#userChose && this.#open !== others.length > 0) {
      this.setOpen(others.length > 0, { byUser: false });
      return; // setOpen applied the state
    }
    if (mine && this.#publisher && mine.audio_only !== this.#audioOnly) this.#setSending(mine.audio_only);
    if (this.#open && this.#ready) this.#syncSubscriptions(others);
    this.#render(mine);
  }

  #syncSubscriptions(others) {
    // The hall's and the sites' computers receive everyone; a delegate's tablet only the
    // one shown large (thirty tablets each taking every site would fill the hall's Wi-Fi).
    const large = largeSource(this.#state, others);
    const receiving = this.#canPublish ? others : (large ? [large] : []);
    const wanted = new Set(receiving.filter((s) => s.kinds.length).map((s) => s.id));
    for (const [id, sub] of this.#subs) {
      const failed = ['failed', 'closed'].includes(sub.pc.connectionState);
      if (!wanted.has(id) || failed) {
        sub.pc.close();
        this.#subs.delete(id);
      }
    }
    for (const id of wanted) if (!this.#subs.has(id)) this.#subscribe(id);
  }

  #closeSubscriptions() {
    for (const sub of this.#subs.values()) sub.pc.close();
    this.#subs.clear();
  }

  // ---- receiving -----------------------------------------------------------------------

  async #subscribe(source) {
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    const sub = { pc, stream: new MediaStream() };
    this.#subs.set(source, sub);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (event) => {
      sub.stream.addTrack(event.track);
      this.#render();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && this.#subs.get(source) === sub) {
        this.#subs.delete(source);
        pc.close();
        setTimeout(() => this.#apply(this.#state), RETRY_MS);
      }
    };
    try {
      await this.#negotiate(pc, source, (offer) => this.#request('media.subscribe', { offer, source }));
    } catch (error) {
      if (this.#subs.get(source) === sub) this.#subs.delete(source);
      pc.close();
      if (error.code !== 'offline') this.#onError(error);
    }
  }

  /** Offer (after gathering), take the relay's answer, trickle what gathers later. */
  async #negotiate(pc, target, send) {
    let sent = false;
    pc.onicecandidate = ({ candidate }) => {
      if (sent && candidate && candidate.candidate) {
        this.#request('media.candidate', { target, candidate: candidate.candidate,
          sdp_mid: candidate.sdpMid, sdp_mline_index: candidate.sdpMLineIndex }).catch(() => {});
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_MS);
    const result = await send(pc.localDescription.sdp);
    sent = true;
    await pc.setRemoteDescription({ type: 'answer', sdp: result.answer });
    return result;
  }

  // ---- publishing ----------------------------------------------------------------------

  async publish() {
    this.#publishWanted = true;
    clearTimeout(this.#retryTimer);
    let stream;
    try {
      stream = this.#publisher?.stream ?? await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30 } },
      });
    } catch (error) {
      this.#publishWanted = false;
      this.#onError(new Error(this.#i18n.t('video.noCamera', { reason: error.message || error.name })));
      this.#render();
      return;
    }
    this.#publisher?.pc.close();
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    const videoTrack = stream.getVideoTracks()[0] ?? null;
    let videoSender = null;
    for (const track of stream.getTracks()) {
      const sender = pc.addTrack(track, stream);
      if (track === videoTrack) videoSender = sender;
    }
    const publisher = { pc, stream, videoSender, videoTrack };
    this.#publisher = publisher;
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && this.#publisher === publisher && this.#publishWanted) {
        this.#retryTimer = setTimeout(() => this.publish(), RETRY_MS); // the link dropped: offer again
      }
    };
    try {
      await this.#negotiate(pc, 'publish', (offer) => this.#request('media.publish',
        { offer, audio_only: this.#audioOnly }));
      if (this.#audioOnly) this.#setSending(true);
    } catch (error) {
      if (this.#publisher === publisher) this.#retryTimer = setTimeout(() => this.publish(), RETRY_MS);
      if (error.code !== 'offline') this.#onError(error);
    }
    clearInterval(this.#reportTimer);
    this.#reportTimer = setInterval(() => this.#report(), REPORT_MS);
    this.#render();
  }

  async stopPublishing() {
    this.#publishWanted = false;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#reportTimer);
    const publisher = this.#publisher;
    this.#publisher = null;
    if (publisher) {
      publisher.pc.close();
      for (const track of publisher.stream.getTracks()) track.stop();
    }
    await this.#request('media.leave').catch(() => {});
    this.#closeSubscriptions();
    this.#apply(this.#state);
  }

  /** Audio only: stop sending video (and the relay stops sending us any). */
  #setSending(audioOnly) {
    this.#audioOnly = audioOnly;
    const publisher = this.#publisher;
    if (publisher?.videoSender) publisher.videoSender.replaceTrack(audioOnly ? null : publisher.videoTrack);
  }

  async #report() {
    const pc = this.#publisher?.pc;
    if (!pc || pc.connectionState !== 'connected') return;
    const stats = await pc.getStats();
    const rtts = [];
    const losses = [];
    let fps = null;
    stats.forEach((s) => {
      if (s.type === 'remote-inbound-rtp') {
        if (typeof s.roundTripTime === 'number') rtts.push(s.roundTripTime * 1000);
        if (typeof s.fractionLost === 'number') losses.push(s.fractionLost);
      } else if (s.type === 'outbound-rtp' && s.kind === 'video' && typeof s.framesPerSecond === 'number') {
        fps = s.framesPerSecond;
      }
    });
    await this.#request('media.report', {
      rtt_ms: rtts.length ? Math.max(...rtts) : null,
      loss: losses.length ? Math.min(1, Math.max(0, ...losses)) : null,
      fps: this.#audioOnly ? null : fps,
    }).catch(() => {});
  }

  #request(cmd, args = {}) {
    return this.#connection.request(cmd, this.#meetingId, args);
  }

  /** A button's command: its failure is shown, not thrown. */
  #act(cmd, args) {
    return this.#request(cmd, args).catch((error) => this.#onError(error));
  }

  // ---- drawing -------------------------------------------------------------------------

  #render(mine = this.#state.sources.find((s) => s.id === this.#self)) {
    if (this.#destroyed) return;
    const t = (key, vars) => this.#i18n.t(key, vars);
    const state = this.#state;
    const others = state.sources.filter((s) => s.id !== this.#self);
    const large = largeSource(state, others);
    replace(this.#els.stage, large ? this.#tile(large, { large: true })
      : h('p', { class: 'video-empty' }, t('video.nobody')));
    const shown = new Set([...others.map((s) => s.id), mine ? 'self' : null]);
    for (const key of [...this.#videos.keys()]) if (!shown.has(key)) this.#videos.delete(key);
    replace(this.#els.strip, ...others.filter((s) => s !== large).map((s) => this.#tile(s)),
      mine ? this.#tile(mine, { own: true }) : null);
    this.#renderRequests(state);
    this.#renderControls(mine);
    this.#renderProposal(mine);
  }

  #tile(source, { large = false, own = false } = {}) {
    const t = (key, vars) => this.#i18n.t(key, vars);
    const key = own ? 'self' : source.id;
    let video = this.#videos.get(key);
    if (!video) {
      video = h('video', { autoplay: true, playsinline: true, 'data-source': source.id });
      this.#videos.set(key, video);
    }
    video.muted = own || !this.#sound;
    const stream = (own ? this.#publisher?.stream : this.#subs.get(source.id)?.stream) ?? null;
    if (video.srcObject !== stream) video.srcObject = stream;
    const health = source.health;
    const level = LEVELS.includes(health.level) ? health.level : 'unknown';
    const details = [
      health.rtt_ms !== null ? t('video.rtt', { ms: health.rtt_ms }) : null,
      health.loss !== null ? t('video.loss', { pct: (health.loss * 100).toFixed(1) }) : null,
      health.fps !== null ? t('video.fps', { fps: Math.round(health.fps) }) : null,
    ].filter(Boolean).join(' · ');
    const flags = [
      source.id === this.#state.floor ? h('span', { class: 'video-flag floor' }, icon('star'), t('video.hasFloor')) : null,
      source.requesting ? h('span', { class: 'video-flag' }, icon('hand'), t('video.requesting')) : null,
      source.muted ? h('span', { class: 'video-flag danger' }, t('video.muted')) : null,
      source.audio_only ? h('span', { class: 'video-flag' }, t(source.imposed_audio_only
        ? 'video.audioOnlyImposed' : 'video.audioOnly')) : null,
    ];
    const name = own ? t('video.you') : source.name;
    const place = source.site ? source.site.name : t('video.hall');
    return h('figure', { class: `video-tile${large ? ' is-large' : ''}${source.audio_only ? ' is-audio' : ''}`,
      'data-testid': 'video-tile', 'data-source': source.id },
    h('div', { class: 'video-frame' }, video,
      source.audio_only ? h('span', { class: 'video-audio-only', 'aria-hidden': 'true' }, icon('mic'))
        : !stream ? h('span', { class: 'video-audio-only', 'aria-hidden': 'true' }, icon('video')) : null),
    h('figcaption', {},
      h('span', { class: 'video-name' }, name),
      h('span', { class: 'video-place' }, place),
      h('span', { class: `health health-${level}`, 'data-testid': 'health', 'data-level': level,
        title: details || t('video.health.unknown') },
      h('span', { class: 'health-dot', 'aria-hidden': 'true' }), t(`video.health.${level}`),
      details ? h('span', { class: 'health-details' }, ` ${details}`) : null),
      h('span', { class: 'video-flags' }, flags),
      this.#role === 'chair' && !own ? this.#chairControls(source) : null));
  }

  #chairControls(source) {
    const t = (key) => this.#i18n.t(key);
    const floor = this.#state.floor === source.id;
    return h('span', { class: 'video-actions' },
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'give-floor',
        onclick: () => this.#act('media.floor', { source: floor ? null : source.id }) },
      t(floor ? 'video.takeFloor' : 'video.giveFloor')),
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'mute',
        onclick: () => this.#act('media.mute', { source: source.id, muted: !source.muted }) },
      t(source.muted ? 'video.unmute' : 'video.mute')),
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'impose-audio-only',
        onclick: () => this.#act('media.audio_only', { source: source.id, on: !source.imposed_audio_only }) },
      t(source.imposed_audio_only ? 'video.liftAudioOnly' : 'video.imposeAudioOnly')));
  }

  #renderRequests(state) {
    const t = (key, vars) => this.#i18n.t(key, vars);
    const box = this.#els.requests;
    const waiting = state.requests.map((id) => state.sources.find((s) => s.id === id)).filter(Boolean);
    box.hidden = waiting.length === 0;
    replace(box, h('h3', {}, icon('hand'), t('video.requests', { n: waiting.length })),
      h('ol', {}, waiting.map((s) => h('li', {}, h('span', {}, s.name),
        this.#role === 'chair' ? h('button', { type: 'button', class: 'btn btn-small btn-primary',
          onclick: () => this.#act('media.floor', { source: s.id }) },
        t('video.giveFloor')) : null))));
  }

  #renderControls(mine) {
    const t = (key) => this.#i18n.t(key);
    const controls = [];
    if (this.#canPublish) {
      controls.push(this.#publishWanted
        ? h('button', { type: 'button', class: 'btn', 'data-testid': 'stop-publishing',
          onclick: () => this.stopPublishing() }, icon('close'), t('video.stop'))
        : h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'publish',
          onclick: () => this.publish() }, icon('video'), t('video.publish')));
    }
    if (mine) {
      controls.push(h('button', { type: 'button', class: 'btn', 'aria-pressed': String(mine.audio_only),
        'data-testid': 'audio-only', disabled: mine.imposed_audio_only,
        onclick: () => this.#act('media.audio_only', { on: !mine.audio_only }) },
      icon('mic'), t(mine.audio_only ? 'video.backToVideo' : 'video.audioOnlyMine')));
      if (!mine.hall && this.#state.floor !== mine.id) {
        controls.push(h('button', { type: 'button', class: 'btn', 'aria-pressed': String(mine.requesting),
          'data-testid': 'request-floor',
          onclick: () => this.#act('media.request_floor', { raised: !mine.requesting }) },
        icon('hand'), t(mine.requesting ? 'video.withdraw' : 'video.requestFloor')));
      }
    }
    const sound = h('button', { type: 'button', class: 'btn', 'aria-pressed': String(this.#sound),
      'data-testid': 'sound', onclick: () => {
        this.#sound = !this.#sound;
        this.#render();
      } }, icon('speaker'), t(this.#sound ? 'video.soundOff' : 'video.soundOn'));
    replace(this.#els.controls, ...controls, sound);
  }

  #renderProposal(mine) {
    const t = (key) => this.#i18n.t(key);
    const box = this.#els.proposal;
    box.hidden = !(mine && mine.propose_audio_only);
    if (box.hidden) return;
    replace(box, icon('alert'), h('span', {}, t('video.proposal')),
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'accept-audio-only',
        onclick: () => this.#act('media.audio_only', { on: true }) },
      t('video.audioOnlyMine')));
  }

  destroy() {
    this.#destroyed = true;
    clearInterval(this.#reportTimer);
    clearTimeout(this.#retryTimer);
    this.#closeSubscriptions();
    if (this.#publisher) {
      this.#publisher.pc.close();
      for (const track of this.#publisher.stream.getTracks()) track.stop();
      this.#request('media.leave').catch(() => {});
    }
    this.#publisher = null;
  }
}
