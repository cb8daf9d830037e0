/**
 * The visualizer in a real browser: Debian's Chromium (headless, driven by puppeteer-core)
 * over the page that `startVisualizerServer` builds and serves in-process. It checks the
 * DOM contract of visualizer/CONTRACT.md from outside, the way a user clicks, and that a
 * shared URL replays to the very same view; it saves screenshots to artifacts/visualizer/
 * and reports the frame rate and event throughput of a busy 7-server run.
 *
 * Chromium must be at /usr/bin/chromium (.ci/run installs Debian's package when it is
 * missing); without it the test fails, it is not skipped.
 */
import type { Page } from 'puppeteer-core';
import { startVisualizerServer, type VisualizerServer } from '../../../scripts/visualize';
import type { ServerView, ViewState } from '../../../visualizer/src/model/types';
import {
  act,
  applyOptions,
  describe as describeView,
  isShown,
  lastIndex,
  launchChromium,
  leaderOf,
  majority,
  openVisualizer,
  screenshot,
  serverAction,
  setCheckbox,
  setInput,
  sleep,
  view,
  waitForReady,
  waitForView,
  type LaunchedBrowser,
  type PageElement,
  type PageGlobals,
  type VisualizerPage,
} from './helpers';
import { plantedTrace } from './trace';

jest.setTimeout(90_000);

let chromium: LaunchedBrowser | undefined;
let server: VisualizerServer | undefined;
const pages: VisualizerPage[] = [];

beforeAll(async () => {
  chromium = await launchChromium();
  server = await startVisualizerServer({ port: 0 });
}, 60_000);

afterAll(async () => {
  for (const { page } of pages) await page.close().catch(() => undefined);
  await chromium?.close();
  await server?.close().catch(() => undefined);
}, 30_000);

afterEach(() => {
  // Uncaught exceptions of the page fail the test that caused them.
  const errors = pages.flatMap((p) => p.errors.splice(0));
  expect(errors).toEqual([]);
});

/** A new tab on `hash` (e.g. '#run=...'), ready. */
async function open(hash = ''): Promise<Page> {
  const opened = await openVisualizer(chromium!.browser, `${server!.url}${hash}`);
  pages.push(opened);
  return opened.page;
}

/** Plays at the highest speed the `#speed` range allows. */
async function playFast(page: Page): Promise<void> {
  await setInput(page, '#speed', 'max');
  await page.click('#play');
}

/** The server `id` of a view. */
function serverOf(v: ViewState, id: number): ServerView {
  const s = v.servers.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no server ${id} in the view (${describeView(v)})`);
  return s;
}

/** Pauses and returns the view and the URL the page shows once paused (the step must stand still). */
async function pause(page: Page): Promise<{ view: ViewState; href: string }> {
  await page.click('#pause');
  const first = await view(page);
  await sleep(100);
  const paused = await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return { view: JSON.parse(JSON.stringify(g.raftVisualizer!.view())) as ViewState, href: g.location.href };
  });
  expect(paused.view.step).toBe(first.step);
  return paused;
}

/** The index of the latest entry that is not a leader's no-op, on `server`. */
function lastProposal(v: ViewState, server: number): number | undefined {
  const s = serverOf(v, server);
  return [...s.log].reverse().find((entry) => entry.text !== 'noop')?.index;
}

/** Servers whose commitIndex reached `index` and whose log holds the same entry there. */
function committedOn(v: ViewState, index: number, text: string): number {
  return v.servers.filter(
    (s) => s.commitIndex >= index && (s.snapshotIndex >= index || s.log.some((e) => e.index === index && e.text === text)),
  ).length;
}

/** Every id the DOM contract names (visualizer/CONTRACT.md). */
const CONTRACT_IDS = [
  'play', 'pause', 'step', 'speed', 'timeline', 'fork', 'share', 'autopilot', 'preset', 'loss', 'latency-min', 'latency-max',
  'options', 'opt-servers', 'opt-seed', 'opt-prevote', 'opt-checkquorum', 'opt-maxlog', 'opt-apply', 'feed', 'violation', 'fps', 'server-menu',
];

test('the DOM contract: controls, [data-server] attributes, the feed', async () => {
  const page = await open();
  const missing = await page.evaluate(
    (ids) => ids.filter((id) => (globalThis as unknown as PageGlobals).document.querySelector(`#${id}`) === null),
    CONTRACT_IDS,
  );
  expect(missing).toEqual([]);
  const presets = await page.$$eval('#preset option', (options) => options.map((o) => (o as unknown as PageElement).value));
  expect(presets).toEqual(expect.arrayContaining(['split-vote', 'partitioned-leader', 'leader-restart', 'follower-behind']));
  expect(await page.$$eval('#server-menu [data-action]', (buttons) => buttons.map((b) => b.getAttribute('data-action')))).toEqual(
    expect.arrayContaining(['crash', 'restart', 'timeout', 'propose']),
  );
  expect(await isShown(page, '#violation')).toBe(false);

  await setCheckbox(page, '#autopilot', false);
  await playFast(page);
  await waitForView(page, 'a leader', (v) => leaderOf(v) !== undefined);
  const { view: v } = await pause(page);
  const drawn = await page.$$eval('[data-server]', (elements) =>
    elements.map((e) => ({
      id: Number(e.getAttribute('data-server')),
      role: e.getAttribute('data-role'),
      term: Number(e.getAttribute('data-term')),
      running: e.getAttribute('data-running'),
    })),
  );
  expect(drawn.sort((a, b) => a.id - b.id)).toEqual(
    v.servers.map((s) => ({ id: s.id, role: s.role, term: s.term, running: String(s.running) })),
  );
  expect(await page.$eval('#timeline', (e) => Number((e as unknown as PageElement).value))).toBe(v.step);

  // A feed line seeks to its step.
  const lines = await page.$$eval('#feed li[data-step]', (items) => items.map((i) => Number(i.getAttribute('data-step'))));
  expect(lines.length).toBeGreaterThan(0);
  const target = lines.find((step) => step > 0 && step < v.step) ?? lines[0]!;
  await page.click(`#feed li[data-step="${target}"]`);
  await waitForView(page, `the seek to step ${target}`, (x) => x.step === target, 5_000);
});

test('a crashed leader is replaced, a proposal commits, and the shared URL replays to the same view', async () => {
  const page = await open();
  expect(await isShown(page, '#violation')).toBe(false);
  await setCheckbox(page, '#autopilot', false);
  await playFast(page);

  const first = leaderOf(await waitForView(page, 'a first leader', (v) => leaderOf(v) !== undefined));
  const oldLeader = first!.id;
  const serverElement = await page.$(`[data-server="${oldLeader}"]`);
  expect(serverElement).not.toBeNull();
  expect(await page.$eval(`[data-server="${oldLeader}"]`, (e) => e.getAttribute('data-running'))).toBe('true');

  await serverAction(page, oldLeader, 'crash');
  const crashed = await waitForView(page, `server ${oldLeader} crashed`, (v) => !serverOf(v, oldLeader).running, 5_000);
  expect(serverOf(crashed, oldLeader).running).toBe(false);
  await page.waitForFunction(
    (id) => (globalThis as unknown as PageGlobals).document.querySelector(`[data-server="${id}"]`)?.getAttribute('data-running') === 'false',
    { timeout: 5_000 },
    oldLeader,
  );

  const elected = await waitForView(page, 'a new leader among the others', (v) => {
    const l = leaderOf(v);
    return l !== undefined && l.id !== oldLeader && l.term > first!.term;
  });
  const newLeader = leaderOf(elected)!.id;
  await page.waitForFunction(
    (id) => (globalThis as unknown as PageGlobals).document.querySelector(`[data-server="${id}"]`)?.getAttribute('data-role') === 'leader',
    { timeout: 5_000 },
    newLeader,
  );

  // Propose at the new leader while paused, so that the entry's index is known before it commits.
  await pause(page);
  const before = await view(page);
  await serverAction(page, newLeader, 'propose');
  const proposed = await waitForView(page, 'the proposal in the leader\'s log', (v) => {
    const index = lastProposal(v, newLeader);
    return index !== undefined && index > lastIndex(serverOf(before, newLeader));
  }, 5_000);
  const index = lastProposal(proposed, newLeader)!;
  const text = serverOf(proposed, newLeader).log.find((e) => e.index === index)!.text;
  await page.click('#play');
  const n = proposed.servers.length;
  await waitForView(page, `entry ${index} committed on a majority`, (v) => committedOn(v, index, text) >= majority(n));
  const shared = await pause(page);
  expect(committedOn(shared.view, index, text)).toBeGreaterThanOrEqual(majority(n));
  expect(shared.href).toContain('#run=');

  // The URL replays to the same view, in a new tab.
  const replayed = await open(new URL(shared.href).hash);
  const again = await view(replayed);
  expect(again.step).toBe(shared.view.step);
  expect(again.now).toBe(shared.view.now);
  expect(again.servers).toEqual(shared.view.servers);
  expect(again.messages).toEqual(shared.view.messages);
  expect(again).toEqual(shared.view);
  expect(await replayed.evaluate(() => (globalThis as unknown as PageGlobals).location.href)).toBe(shared.href);

  // And on a reload of the same tab.
  await replayed.reload({ waitUntil: 'load' });
  await waitForReady(replayed, []);
  expect(await view(replayed)).toEqual(shared.view);
});

test('screenshots: a steady leader with traffic, a partitioned minority with a candidate', async () => {
  // A steady leader with traffic: autopilot off, a few proposals, messages in flight.
  const steady = await open();
  await setCheckbox(steady, '#autopilot', false);
  await playFast(steady);
  const leader = leaderOf(await waitForView(steady, 'a leader', (v) => leaderOf(v) !== undefined))!.id;
  for (let i = 0; i < 3; i++) await serverAction(steady, leader, 'propose');
  await waitForView(steady, 'three proposals committed on the leader', (v) => {
    const s = serverOf(v, leader);
    return s.role === 'leader' && s.log.filter((e) => e.text !== 'noop' && e.index <= s.commitIndex).length >= 3;
  });
  // Two more while paused, then step until their AppendEntries are on the way.
  await pause(steady);
  for (let i = 0; i < 2; i++) await serverAction(steady, leader, 'propose');
  await pauseWith(steady, 'AppendEntries in flight after the proposals', (v) =>
    v.messages.some((m) => m.type === 'appendEntries' && !m.reply) && v.messages.length >= 3 && leaderOf(v)?.id === leader,
  );
  await closeMenu(steady);
  console.log(`visualizer screenshot: ${await screenshot(steady, 'steady-leader.png')}`);

  // A partition isolating a minority; no pre-vote, so a minority server becomes a candidate and keeps timing out.
  const split = await open();
  await applyOptions(split, { preVote: false, checkQuorum: true });
  await waitForView(split, 'pre-vote off', (v) => !v.options.preVote && v.step === 0, 5_000);
  await setCheckbox(split, '#autopilot', false);
  await playFast(split);
  const elected = await waitForView(split, 'a leader', (v) => leaderOf(v) !== undefined);
  const l = leaderOf(elected)!;
  const ids = elected.servers.map((s) => s.id);
  const others = ids.filter((id) => id !== l.id);
  const minority = others.slice(0, ids.length - majority(ids.length));
  const majoritySide = ids.filter((id) => !minority.includes(id));
  await act(split, { kind: 'partition', groups: [majoritySide, minority] });
  const term = l.term;
  await waitForView(split, 'a minority candidate two terms on', (v) =>
    v.servers.some((s) => minority.includes(s.id) && s.role === 'candidate' && s.term >= term + 2),
  );
  const paused = await pauseWith(split, 'a minority candidate, the leader still leading the majority', (v) =>
    v.servers.some((s) => minority.includes(s.id) && s.role === 'candidate') && leaderOf(v)?.id === l.id,
  );
  expect(paused.cutLinks.length).toBeGreaterThan(0);
  console.log(`visualizer screenshot: ${await screenshot(split, 'partition-minority-candidate.png')}`);
});

test('screenshot: a simulator trace (the simulate CLI over a planted fault) replayed to its end', async () => {
  // The CLI finds the planted double vote and prints the shrunk schedule's visualize: line.
  const planted = plantedTrace();
  expect(planted.lines.some((line) => /VIOLATION at seed \d+: electionSafety/.test(line))).toBe(true);
  expect(planted.hash).toMatch(/^#trace=t1\./);

  const trace = await open(planted.hash);
  let v = await view(trace);
  expect(v.trace).toEqual(expect.stringContaining('seed'));
  const end = await trace.$eval('#timeline', (e) => Number((e as unknown as PageElement).max));
  expect(end).toBeGreaterThan(0);
  await playFast(trace);
  v = await waitForView(trace, `the trace's end (step ${end})`, (x) => x.step >= end, 20_000);
  expect(v.step).toBe(end);
  // The end of a trace stops it: the step stands still.
  await sleep(300);
  expect((await view(trace)).step).toBe(end);
  await trace.click('#pause');
  console.log(`visualizer screenshot: ${await screenshot(trace, 'simulator-trace.png')} (${v.step} steps, trace: ${v.trace})`);
});

test('frame rate and event throughput: 7 servers, autopilot on, speed high', async () => {
  const page = await open();
  await applyOptions(page, { servers: 7 });
  await waitForView(page, '7 servers', (v) => v.servers.length === 7 && v.step === 0, 5_000);
  expect(await page.$$eval('[data-server]', (elements) => elements.length)).toBe(7);
  await setCheckbox(page, '#autopilot', true);
  await playFast(page);
  await waitForView(page, 'a leader', (v) => leaderOf(v) !== undefined);

  const measured = await page.evaluate(
    (ms) =>
      new Promise<{ frames: number; steps: number; elapsed: number; fpsText: string }>((resolve) => {
        const g = globalThis as unknown as PageGlobals;
        const step0 = g.raftVisualizer!.view().step;
        const t0 = g.performance.now();
        let frames = 0;
        const frame = (): void => {
          frames++;
          const elapsed = g.performance.now() - t0;
          if (elapsed < ms) g.requestAnimationFrame(frame);
          else {
            resolve({
              frames,
              steps: g.raftVisualizer!.view().step - step0,
              elapsed,
              fpsText: g.document.querySelector('#fps')?.textContent ?? '',
            });
          }
        };
        g.requestAnimationFrame(frame);
      }),
    5_000,
  );
  const seconds = measured.elapsed / 1000;
  const fps = measured.frames / seconds;
  const eventsPerSecond = measured.steps / seconds;
  const after = await view(page);
  console.log(
    `visualizer 7 servers autopilot: ${fps.toFixed(1)} fps, ${eventsPerSecond.toFixed(0)} events/s ` +
      `(${measured.frames} frames and ${measured.steps} steps in ${seconds.toFixed(2)} s; #fps shows "${measured.fpsText.trim()}"; ` +
      `${describeView(after)})`,
  );
  console.log(`visualizer screenshot: ${await screenshot(page, 'seven-servers-autopilot.png')}`);
  await page.click('#pause');
  expect(fps).toBeGreaterThan(5);
  expect(measured.steps).toBeGreaterThan(0);

  // The ceiling: the model alone, stepped as fast as the page's thread allows (no drawing).
  const unthrottled = await page.evaluate((ms) => {
    const g = globalThis as unknown as PageGlobals;
    const session = g.raftVisualizer!.session();
    const t0 = g.performance.now();
    let steps = 0;
    while (g.performance.now() - t0 < ms && session.step()) steps++;
    return { steps, elapsed: g.performance.now() - t0 };
  }, 2_000);
  console.log(`visualizer 7 servers autopilot, model alone in the page: ${(unthrottled.steps / (unthrottled.elapsed / 1000)).toFixed(0)} events/s (${unthrottled.steps} steps in ${(unthrottled.elapsed / 1000).toFixed(2)} s)`);
  expect(unthrottled.steps).toBeGreaterThan(0);
});

/** Plays slowly and pauses until the paused view satisfies `predicate` (stepping with `#step` when close). */
async function pauseWith(page: Page, what: string, predicate: (v: ViewState) => boolean): Promise<ViewState> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { view: v } = await pause(page);
    if (predicate(v)) return v;
    if (Date.now() > deadline) throw new Error(`could not pause on ${what}; last view: ${describeView(v)}`);
    for (let i = 0; i < 20; i++) {
      await page.click('#step');
      const stepped = await view(page);
      if (predicate(stepped)) return stepped;
    }
    await page.click('#play');
    await sleep(30);
  }
}

/** Closes the server menu, if it is open, by pressing Escape. */
async function closeMenu(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
}
