/**
 * Helpers of the visualizer's browser test: Debian's Chromium driven by puppeteer-core, and
 * the page's contract (visualizer/CONTRACT.md) seen from outside: `window.raftVisualizer`,
 * the `[data-server]` elements, the controls by id.
 *
 * Functions passed to `page.evaluate` run in the browser: they are serialized, so they use
 * no helper of this file, only their arguments and the page's globals (typed here through
 * {@link PageGlobals}, since the project's tsconfig has no DOM library).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Action, ServerView, ViewState } from '../../../visualizer/src/model/types';

/** Where Debian's `chromium` package puts the browser (CI installs it: see .ci/run). */
export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots are written here (artifacts/ is gitignored). */
export const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'artifacts', 'visualizer');

/**
 * Flags for a closed network: without `--disable-quic` and the next four Chromium keeps
 * trying to reach Google's services (refused connections, and delays on a machine without a
 * network). `--no-sandbox`: CI runs as root. `--disable-dev-shm-usage`: a container's small
 * /dev/shm (64 MB in Docker) would otherwise crash the renderer.
 */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** The page's globals that the test uses (the browser has them; the tsconfig does not know them). */
export interface PageGlobals {
  raftVisualizer?: {
    readonly ready: boolean;
    view(): ViewState;
    session(): { act(action: Action): void; view(): ViewState; step(): boolean };
  };
  location: { href: string; hash: string };
  requestAnimationFrame(callback: (time: number) => void): number;
  performance: { now(): number };
  document: {
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
  };
  getComputedStyle(element: PageElement): { display: string; visibility: string };
  Event: new (type: string, init?: { bubbles?: boolean }) => unknown;
}

/** The bits of a DOM element the test reads or sets. */
export interface PageElement {
  hidden: boolean;
  value: string;
  checked: boolean;
  max: string;
  min: string;
  type: string;
  tagName: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  dispatchEvent(event: unknown): boolean;
  getClientRects(): ArrayLike<unknown>;
}

/** A launched browser and its throw-away profile. */
export interface LaunchedBrowser {
  readonly browser: Browser;
  /** Closes the browser and deletes its profile; never throws. */
  close(): Promise<void>;
}

/**
 * Launches Debian's Chromium headless with a fresh profile.
 * @throws Error with a clear message when /usr/bin/chromium is missing (the test fails, it is not skipped).
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the visualizer's browser test needs Debian's chromium package ` +
        '(apt-get install chromium; .ci/run installs it when missing)',
    );
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'raft-visualizer-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir,
      args: CHROMIUM_ARGS,
      defaultViewport: { width: 1280, height: 860 },
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** A page of the visualizer, with the uncaught errors it has thrown so far. */
export interface VisualizerPage {
  readonly page: Page;
  /** Uncaught exceptions and console errors, in order. */
  readonly errors: string[];
}

/**
 * Opens `url` in a new tab and waits for `window.raftVisualizer.ready` (bounded).
 * @throws when the page is not ready within `timeoutMs`; the message holds the page's errors.
 */
export async function openVisualizer(browser: Browser, url: string, timeoutMs = 20_000): Promise<VisualizerPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error instanceof Error ? error.message : String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  page.setDefaultTimeout(timeoutMs);
  await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
  await waitForReady(page, errors, timeoutMs);
  return { page, errors };
}

/** Waits for `window.raftVisualizer.ready` (after a load or a reload). */
export async function waitForReady(page: Page, errors: readonly string[], timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).raftVisualizer?.ready === true, {
      timeout: timeoutMs,
      polling: 50,
    });
  } catch (error) {
    const has = await page
      .evaluate(() => typeof (globalThis as unknown as PageGlobals).raftVisualizer)
      .catch(() => 'unknown');
    throw new Error(
      `window.raftVisualizer.ready did not become true within ${timeoutMs} ms (typeof window.raftVisualizer: ${has}); ` +
        `page errors: ${errors.length === 0 ? 'none' : errors.join(' | ')}; ${String(error)}`,
    );
  }
}

/** `window.raftVisualizer.view()`, as JSON. */
export function view(page: Page): Promise<ViewState> {
  return page.evaluate(() => JSON.parse(JSON.stringify((globalThis as unknown as PageGlobals).raftVisualizer!.view())) as ViewState);
}

/** Applies an action through `window.raftVisualizer.session().act(...)`. */
export async function act(page: Page, action: Action): Promise<void> {
  await page.evaluate((a) => (globalThis as unknown as PageGlobals).raftVisualizer!.session().act(a), action);
}

/**
 * Polls the view every `pollMs` until `predicate` holds of it; returns that view.
 * @throws Error naming `what`, with the last view's step, time and servers, after `timeoutMs`.
 */
export async function waitForView(
  page: Page,
  what: string,
  predicate: (view: ViewState) => boolean,
  timeoutMs = 20_000,
  pollMs = 50,
): Promise<ViewState> {
  const deadline = Date.now() + timeoutMs;
  let last: ViewState | undefined;
  for (;;) {
    last = await view(page);
    if (predicate(last)) return last;
    if (Date.now() >= deadline) break;
    await sleep(pollMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last view: ${describe(last)}`);
}

/** One line about a view, for failure messages. */
export function describe(v: ViewState | undefined): string {
  if (v === undefined) return 'none';
  const servers = v.servers
    .map((s) => `${s.id}:${s.running ? s.role : 'crashed'}/t${s.term}/c${s.commitIndex}/l${lastIndex(s)}`)
    .join(' ');
  return `step ${v.step}, now ${v.now}, ${v.messages.length} messages, servers ${servers}${v.violation ? `, violation ${v.violation.invariant}` : ''}`;
}

/** The running leader of the highest term, if any. */
export function leaderOf(v: ViewState): ServerView | undefined {
  const leaders = v.servers.filter((s) => s.running && s.role === 'leader');
  return leaders.sort((a, b) => b.term - a.term)[0];
}

/** The index of a server's last log entry (its snapshot's when the log is empty). */
export function lastIndex(s: ServerView): number {
  return s.log.length === 0 ? s.snapshotIndex : s.log[s.log.length - 1]!.index;
}

/** The size of a majority of `n` servers. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Sets a range (or number, or text) input's value, as a user would, firing `input` and `change`. */
export async function setInput(page: Page, selector: string, value: string | 'max' | 'min'): Promise<void> {
  const ok = await page.evaluate(
    (sel, v) => {
      const g = globalThis as unknown as PageGlobals;
      const element = g.document.querySelector(sel);
      if (element === null) return false;
      element.value = v === 'max' ? element.max : v === 'min' ? element.min : v;
      element.dispatchEvent(new g.Event('input', { bubbles: true }));
      element.dispatchEvent(new g.Event('change', { bubbles: true }));
      return true;
    },
    selector,
    value,
  );
  if (!ok) throw new Error(`contract: no element ${selector} on the page`);
}

/** Clicks a checkbox when its state is not `checked` already. */
export async function setCheckbox(page: Page, selector: string, checked: boolean): Promise<void> {
  const current = await page.$eval(selector, (element) => (element as unknown as PageElement).checked);
  if (current !== checked) await page.click(selector);
  const after = await page.$eval(selector, (element) => (element as unknown as PageElement).checked);
  if (after !== checked) throw new Error(`${selector} stays ${after ? 'checked' : 'unchecked'} after a click`);
}

/** Whether an element is shown: present, not `hidden`, displayed, with a box. */
export function isShown(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const g = globalThis as unknown as PageGlobals;
    const element = g.document.querySelector(sel);
    if (element === null || element.hidden) return false;
    const style = g.getComputedStyle(element);
    return style.display !== 'none' && style.visibility !== 'hidden' && element.getClientRects().length > 0;
  }, selector);
}

/** Clicks a server's element, then a button of `#server-menu` (crash, restart, timeout, propose). */
export async function serverAction(page: Page, server: number, action: 'crash' | 'restart' | 'timeout' | 'propose'): Promise<void> {
  await page.click(`[data-server="${server}"]`);
  await page.waitForSelector('#server-menu', { visible: true, timeout: 5_000 });
  await page.click(`#server-menu [data-action="${action}"]`);
}

/** Applies new run options through the `#options` form (`#opt-servers`, `#opt-prevote`..., `#opt-apply`). */
export async function applyOptions(
  page: Page,
  options: { servers?: number; seed?: number; preVote?: boolean; checkQuorum?: boolean },
): Promise<void> {
  await reveal(page, '#options');
  if (options.servers !== undefined) {
    const tag = await page.$eval('#opt-servers', (element) => (element as unknown as PageElement).tagName);
    if (tag === 'SELECT') await page.select('#opt-servers', String(options.servers));
    else await setInput(page, '#opt-servers', String(options.servers));
  }
  if (options.seed !== undefined) await setInput(page, '#opt-seed', String(options.seed));
  if (options.preVote !== undefined) await setCheckbox(page, '#opt-prevote', options.preVote);
  if (options.checkQuorum !== undefined) await setCheckbox(page, '#opt-checkquorum', options.checkQuorum);
  await page.click('#opt-apply');
}

/** Opens the closed `<details>` around `selector`, if any, by clicking its summary, as a user would. */
export async function reveal(page: Page, selector: string): Promise<void> {
  for (let depth = 0; depth < 5; depth++) {
    const element = await page.$(selector);
    if (element === null) throw new Error(`contract: no element ${selector} on the page`);
    const summary = await element.evaluateHandle(
      (e) => (e as unknown as ClosestElement).closest('details:not([open])')?.querySelector(':scope > summary') ?? null,
    );
    const clickable = summary.asElement();
    if (clickable === null) return;
    await clickable.click();
  }
}

/** `Element.closest` and `querySelector`, as {@link reveal} uses them. */
interface ClosestElement {
  closest(selector: string): { querySelector(selector: string): unknown } | null;
}

/** Screenshot into {@link ARTIFACTS}; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name) as `${string}.png`;
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
