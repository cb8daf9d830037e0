/**
 * The visualizer page: opens the run or trace the URL names (or a default run), draws it every
 * animation frame, and turns clicks into the model's actions. Sets `window.raftVisualizer`
 * once the first view is drawn (the DOM contract).
 */
import type { ServerId } from '../../../lib/core';
import type { Session } from '../model/session-api';
import type { Action, RunOptions, ViewState } from '../model/types';
import { Controls } from './controls';
import { byId } from './dom';
import { Feed } from './feed';
import { MessageLayer, renderLegend } from './messages';
import { ServerPanel } from './panel';
import { RingView } from './ring-view';
import { defaultRun, fork, newRun, openHash, openPreset, timelineEnd } from './session-source';
import { readHash, writeHash } from './url';

/** What the page exposes to the browser test (and to the console). */
export interface RaftVisualizerHandle {
  /** The current view. */
  view(): ViewState;
  /** The current session. */
  session(): Session;
  /** True once the first view is drawn. */
  ready: boolean;
}

declare global {
  interface Window {
    /** Set by the page once its first view is drawn. */
    raftVisualizer?: RaftVisualizerHandle;
  }
}

/** At most this many events per animation frame, so a busy run cannot freeze the page. */
const MAX_STEPS_PER_FRAME = 300;

/** A frame longer than this (a background tab) advances virtual time as if it were this long. */
const MAX_FRAME_MS = 100;

const status = byId('status', HTMLElement);
const violationBox = byId('violation', HTMLElement);
const traceBanner = byId('trace-banner', HTMLElement);
const fpsBox = byId('fps', HTMLElement);
const ringSvg = byId('ring', SVGSVGElement);

let session: Session;
let view: ViewState;
let playing = false;
/** The page's virtual clock while playing (the session catches up to it each frame). */
let virtualTime = 0;
let lastFrame = 0;
let maxStep = 0;
let selected: ServerId | undefined;
let linkSource: ServerId | undefined;
let dirty = true;
let statusTimer: ReturnType<typeof setTimeout> | undefined;

/** Shows a short message under the controls (errors stay longer). */
function say(message: string, error = false): void {
  status.textContent = message;
  status.classList.toggle('error', error);
  if (statusTimer !== undefined) clearTimeout(statusTimer);
  statusTimer = setTimeout(() => (status.textContent = ''), error ? 8000 : 3000);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Re-reads the view after the session changed, and marks the page for drawing. */
function refresh(): void {
  view = session.view();
  maxStep = Math.max(maxStep, view.step);
  dirty = true;
}

function saveHash(): void {
  try {
    writeHash(session.hash());
  } catch (error) {
    say(`Could not write the URL: ${errorText(error)}`, true);
  }
}

/**
 * The options presets start from: the last run's that was not a preset (a preset may change
 * them: the split vote turns pre-vote off).
 */
let baseOptions: RunOptions | undefined;

/** Makes `next` the page's session (a new run, a preset, a fork, a URL). */
function use(next: Session, preset = false): void {
  session = next;
  if (!preset) baseOptions = undefined;
  maxStep = timelineEnd(session);
  selected = undefined;
  linkSource = undefined;
  refresh();
  virtualTime = view.now;
  saveHash();
}

function act(action: Action): void {
  try {
    session.act(action);
  } catch (error) {
    say(errorText(error), true);
  }
  // Acting forks the run: the timeline ends at the current step again.
  maxStep = 0;
  refresh();
  saveHash();
}

function play(): void {
  if (playing || view.violation !== undefined) return;
  playing = true;
  virtualTime = view.now;
  dirty = true;
}

function pause(): void {
  if (!playing) return;
  playing = false;
  refresh();
  saveHash();
}

function step(): void {
  pause();
  try {
    if (!session.step()) say(view.violation === undefined ? 'The run is stopped' : 'Stopped at a violation');
  } catch (error) {
    say(errorText(error), true);
  }
  refresh();
  virtualTime = view.now;
  saveHash();
}

function seek(target: number): void {
  pause();
  if (target === view.step) return;
  try {
    session.seek(target);
  } catch (error) {
    say(errorText(error), true);
  }
  refresh();
  virtualTime = view.now;
  saveHash();
}

function onServerClick(id: ServerId, shift: boolean): void {
  if (!shift) {
    selected = id;
    linkSource = undefined;
    dirty = true;
    return;
  }
  if (linkSource === undefined || linkSource === id) {
    linkSource = linkSource === id ? undefined : id;
    if (linkSource !== undefined) say(`Shift-click another server to cut or restore its link with S${id}`);
    dirty = true;
    return;
  }
  const [a, b] = [linkSource, id];
  linkSource = undefined;
  const cut = view.cutLinks.filter(([from, to]) => (from === a && to === b) || (from === b && to === a));
  if (cut.length > 0) {
    for (const [from, to] of cut) act({ kind: 'restore', from, to });
  } else {
    act({ kind: 'cut', from: a, to: b });
    act({ kind: 'cut', from: b, to: a });
  }
}

const ring = new RingView(ringSvg, onServerClick);
const messages = new MessageLayer(ringSvg, (id) => act({ kind: 'drop', message: id }));
const panel = new ServerPanel(byId('server-state', HTMLElement));
const feed = new Feed(byId('feed', HTMLElement), seek);
renderLegend(byId('legend', HTMLElement));
// Hovering the feed highlights servers: redraw even while paused.
feed.list.addEventListener('mouseover', () => (dirty = true));
feed.list.addEventListener('mouseleave', () => (dirty = true));
ringSvg.addEventListener('click', () => {
  selected = undefined;
  linkSource = undefined;
  dirty = true;
});

const controls = new Controls(
  {
    play,
    pause,
    step,
    seek,
    fork: () => {
      try {
        const wasPlaying = playing;
        use(fork(session));
        playing = wasPlaying;
        say('Forked: the timeline now ends here');
      } catch (error) {
        say(errorText(error), true);
      }
    },
    share: () => {
      saveHash();
      const url = location.href;
      navigator.clipboard?.writeText(url).then(
        () => say('Link copied'),
        () => say(`Copy this link: ${url}`),
      ) ?? say(`Copy this link: ${url}`);
    },
    autopilot: (on) => act({ kind: 'autopilot', on }),
    preset: (name) => {
      try {
        baseOptions ??= view.options;
        use(openPreset(name, baseOptions), true);
        say(`Preset ${name}`);
      } catch (error) {
        say(errorText(error), true);
      }
    },
    chaos: (chaos) => act({ kind: 'chaos', chaos }),
    options: (options) => {
      try {
        use(newRun(options));
        say('New run');
      } catch (error) {
        say(errorText(error), true);
      }
    },
    partition: (groups) => act({ kind: 'partition', groups }),
    heal: () => act({ kind: 'heal' }),
    serverAction: (kind) => {
      if (selected !== undefined) act({ kind, server: selected });
    },
  },
  (message) => say(message, true),
);

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    selected = undefined;
    linkSource = undefined;
    dirty = true;
    return;
  }
  // Space and arrows keep their usual meaning in form controls (a focused button clicks on space).
  if ((event.target as Element).closest('input, select, textarea, button') !== null) return;
  if (event.key === ' ') {
    event.preventDefault();
    if (playing) pause();
    else play();
  } else if (event.key === 'ArrowRight') {
    step();
  }
});

/** Draws the view at virtual time `time`. */
function draw(time: number): void {
  const violating = new Set(view.violation?.servers ?? []);
  ring.render(view, time, { selected, linkSource, violating, hovered: feed.hovered });
  messages.render(view.messages, view.servers.length, time);
  panel.render(view, selected === undefined ? undefined : view.servers[selected], time);
  feed.render(view.narration, view.step);
  controls.sync(view, { playing, maxStep, readOnly: view.trace !== undefined, selected });
  violationBox.hidden = view.violation === undefined;
  if (view.violation !== undefined) {
    const v = view.violation;
    byId('violation-message', HTMLElement).textContent =
      `${v.invariant} at step ${v.step}: ${v.message}` + (v.servers.length > 0 ? ` (servers ${v.servers.map((s) => `S${s}`).join(', ')})` : '');
  }
  traceBanner.hidden = view.trace === undefined;
  if (view.trace !== undefined) traceBanner.textContent = `Simulator trace (read-only): ${view.trace}`;
  document.body.classList.toggle('playing', playing);
}

let frames = 0;
let fpsSince = 0;

function frame(now: number): void {
  frames++;
  if (now - fpsSince >= 1000) {
    fpsBox.textContent = `${Math.round((frames * 1000) / (now - fpsSince))} fps`;
    frames = 0;
    fpsSince = now;
  }
  const elapsed = Math.min(MAX_FRAME_MS, Math.max(0, now - lastFrame));
  lastFrame = now;
  if (playing) {
    virtualTime += (controls.speedValueMs * elapsed) / 1000;
    let taken = 0;
    try {
      taken = session.runUntil(virtualTime, MAX_STEPS_PER_FRAME);
    } catch (error) {
      say(errorText(error), true);
      playing = false;
    }
    refresh();
    // Too many events to catch up in one frame: let virtual time wait for the run.
    if (taken >= MAX_STEPS_PER_FRAME) virtualTime = view.now;
    if (view.violation !== undefined) {
      say(`Stopped: ${view.violation.invariant}`, true);
      pause();
    }
  }
  if (dirty || playing) {
    draw(playing ? Math.max(virtualTime, view.now) : view.now);
    dirty = false;
    if (window.raftVisualizer === undefined) {
      window.raftVisualizer = { view: () => session.view(), session: () => session, ready: true };
    }
  }
  requestAnimationFrame(frame);
}

/** A hash typed or pasted into the address bar (not ours: we write with replaceState) opens its run or trace. */
window.addEventListener('hashchange', () => {
  const request = readHash();
  if (request === undefined || location.hash === `#${session.hash()}`) return;
  try {
    const opened = openHash(request);
    playing = false;
    use(opened);
  } catch (error) {
    say(`Could not open the URL's ${request.kind}: ${errorText(error)}`, true);
  }
});

function start(): void {
  const request = readHash();
  let opened: Session | undefined;
  if (request !== undefined) {
    try {
      opened = openHash(request);
    } catch (error) {
      say(`Could not open the URL's ${request.kind}: ${errorText(error)}; a new run instead`, true);
    }
  }
  use(opened ?? defaultRun());
  if (opened === undefined && request === undefined) say('Press Play (or space) to run; → steps');
  lastFrame = performance.now();
  fpsSince = lastFrame;
  requestAnimationFrame(frame);
}

start();
