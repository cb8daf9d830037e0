/**
 * The servers drawn in a ring (SVG): role colour, term, vote, an election-timer arc running
 * down, and a log strip (committed entries solid, the snapshot as a grey block). Each server is
 * a `<g data-server data-role data-term data-running>` (the DOM contract).
 */
import type { ServerId } from '../../../lib/core';
import type { ServerView, ViewState } from '../model/types';
import { setAttr, setText, svg } from './dom';

/** Size of the square SVG view box. */
export const VIEW_SIZE = 700;

/** Radius of a server's circle. */
export const NODE_RADIUS = 38;

/** How many log entries a strip shows (the newest ones). */
const STRIP_ENTRIES = 12;

/** A point in the SVG view box. */
export interface Point {
  /** Horizontal, from the left. */
  readonly x: number;
  /** Vertical, from the top. */
  readonly y: number;
}

/** Where each of `n` servers sits: on a circle, server 0 at the top, clockwise. */
export function ringLayout(n: number): Point[] {
  const centre = VIEW_SIZE / 2;
  const radius = VIEW_SIZE / 2 - 110;
  return Array.from({ length: n }, (_, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / n;
    return { x: centre + radius * Math.cos(angle), y: centre + radius * Math.sin(angle) - 20 };
  });
}

/** A colour per term, so entries of one term look alike across logs. */
export function termColour(term: number): string {
  return `hsl(${(term * 67) % 360} 65% 72%)`;
}

/** What the ring highlights besides the view itself. */
export interface RingHighlights {
  /** The selected server. */
  readonly selected: ServerId | undefined;
  /** The first server of a shift-click link cut, waiting for the second. */
  readonly linkSource: ServerId | undefined;
  /** Servers named by a violation. */
  readonly violating: ReadonlySet<ServerId>;
  /** Servers named by the narration line under the pointer. */
  readonly hovered: ReadonlySet<ServerId>;
}

/** The parts of one server's drawing, kept so each frame only updates attributes. */
interface ServerNode {
  readonly group: SVGGElement;
  readonly circle: SVGCircleElement;
  readonly timer: SVGPathElement;
  readonly name: SVGTextElement;
  readonly term: SVGTextElement;
  readonly vote: SVGTextElement;
  readonly strip: SVGGElement;
  stripKey: string;
  /** The election deadline last seen and the time it was first seen (the arc's full length). */
  deadline: number | undefined;
  deadlineSeenAt: number;
}

/** Draws the servers and the network's cut links into an SVG element. */
export class RingView {
  readonly #links: SVGGElement;
  readonly #nodes: SVGGElement;
  #servers: ServerNode[] = [];
  #linksKey = '';
  /** The longest election timer seen (the arc's full circle), so arcs compare across servers. */
  #timerSpan = 0;

  /**
   * @param root the `<svg>` to draw into (its view box is set here).
   * @param onServerClick called when a server is clicked, with whether shift was held.
   */
  constructor(
    readonly root: SVGSVGElement,
    onServerClick: (id: ServerId, shift: boolean) => void,
  ) {
    root.setAttribute('viewBox', `0 0 ${VIEW_SIZE} ${VIEW_SIZE}`);
    this.#links = svg('g', { class: 'links' });
    this.#nodes = svg('g', { class: 'nodes' });
    root.append(this.#links, this.#nodes);
    this.#nodes.addEventListener('click', (event) => {
      const group = (event.target as Element).closest('[data-server]');
      if (group === null) return;
      event.stopPropagation();
      onServerClick(Number(group.getAttribute('data-server')), event.shiftKey);
    });
  }

  /** Updates the drawing to `view` at virtual time `time` (≥ view.now while playing). */
  render(view: ViewState, time: number, highlights: RingHighlights): void {
    const positions = ringLayout(view.servers.length);
    if (this.#servers.length !== view.servers.length) this.#rebuild(positions);
    this.#renderLinks(view, positions);
    view.servers.forEach((server, i) => this.#renderServer(this.#servers[i]!, server, time, highlights));
  }

  #rebuild(positions: readonly Point[]): void {
    this.#nodes.replaceChildren();
    this.#linksKey = '';
    this.#timerSpan = 0;
    this.#servers = positions.map((p, id) => {
      const group = svg('g', { class: 'server', 'data-server': id, transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})` });
      const circle = svg('circle', { class: 'body', r: NODE_RADIUS });
      const timer = svg('path', { class: 'timer' });
      const name = svg('text', { class: 'name', y: -8 });
      name.textContent = `S${id}`;
      const term = svg('text', { class: 'term', y: 10 });
      const vote = svg('text', { class: 'vote', y: 24 });
      const strip = svg('g', { class: 'strip', transform: `translate(0 ${NODE_RADIUS + 14})` });
      const title = svg('title');
      group.append(title, timer, circle, name, term, vote, strip);
      this.#nodes.append(group);
      return { group, circle, timer, name, term, vote, strip, stripKey: '', deadline: undefined, deadlineSeenAt: 0 };
    });
  }

  #renderLinks(view: ViewState, positions: readonly Point[]): void {
    const cut = new Set(view.cutLinks.map(([a, b]) => `${a}>${b}`));
    const key = [...cut].sort().join(' ') + `/${positions.length}`;
    if (key === this.#linksKey) return;
    this.#linksKey = key;
    this.#links.replaceChildren();
    for (let a = 0; a < positions.length; a++) {
      for (let b = a + 1; b < positions.length; b++) {
        const ab = cut.has(`${a}>${b}`);
        const ba = cut.has(`${b}>${a}`);
        const line = svg('line', {
          class: ab && ba ? 'link cut' : ab || ba ? 'link half-cut' : 'link',
          x1: positions[a]!.x, y1: positions[a]!.y, x2: positions[b]!.x, y2: positions[b]!.y,
        });
        if (ab || ba) {
          const title = svg('title');
          title.textContent = ab && ba ? `link ${a}–${b} cut both ways` : `link ${ab ? `${a}→${b}` : `${b}→${a}`} cut`;
          line.append(title);
        }
        this.#links.append(line);
      }
    }
  }

  #renderServer(node: ServerNode, server: ServerView, time: number, highlights: RingHighlights): void {
    const { group } = node;
    setAttr(group, 'data-role', server.role);
    setAttr(group, 'data-term', server.term);
    setAttr(group, 'data-running', String(server.running));
    group.classList.toggle('selected', highlights.selected === server.id);
    group.classList.toggle('link-source', highlights.linkSource === server.id);
    group.classList.toggle('violating', highlights.violating.has(server.id));
    group.classList.toggle('hovered', highlights.hovered.has(server.id));
    setText(node.term, `term ${server.term}`);
    setText(node.vote, server.role === 'leader' ? 'leader' : `vote ${server.votedFor ?? '–'}`);
    setText(
      group.firstElementChild!,
      `S${server.id}: ${server.running ? server.role : 'crashed'}, term ${server.term}, commit ${server.commitIndex}` +
        ' (click: menu; shift-click two servers: cut/restore their link)',
    );
    setAttr(node.timer, 'd', this.#timerArc(node, server, time));
    this.#renderStrip(node, server);
  }

  /**
   * The arc of the election timer: the time left, as a share of the longest timer seen (a
   * timer seen being set starts as a full circle); empty when it fires.
   */
  #timerArc(node: ServerNode, server: ServerView, time: number): string {
    const deadline = server.running ? server.electionDeadline : undefined;
    if (deadline !== node.deadline) {
      node.deadline = deadline;
      node.deadlineSeenAt = time;
    }
    if (deadline === undefined || deadline <= time) return '';
    this.#timerSpan = Math.max(this.#timerSpan, deadline - node.deadlineSeenAt);
    const fraction = this.#timerSpan <= 0 ? 1 : Math.min(1, (deadline - time) / this.#timerSpan);
    const r = NODE_RADIUS + 6;
    const angle = 2 * Math.PI * Math.min(fraction, 0.9999);
    const x = r * Math.sin(angle);
    const y = -r * Math.cos(angle);
    return `M 0 ${-r} A ${r} ${r} 0 ${angle > Math.PI ? 1 : 0} 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
  }

  /** The log strip: the snapshot block, then the newest entries, committed ones solid. */
  #renderStrip(node: ServerNode, server: ServerView): void {
    const shown = server.log.slice(-STRIP_ENTRIES);
    const key = `${server.snapshotIndex}|${server.commitIndex}|${server.log.length}|${shown.map((e) => `${e.index}:${e.term}`).join(',')}`;
    if (key === node.stripKey) return;
    node.stripKey = key;
    const cell = 11;
    const hidden = server.log.length - shown.length;
    const blocks = shown.length + (server.snapshotIndex > 0 || hidden > 0 ? 2 : 0);
    let x = (-blocks * cell) / 2;
    const parts: SVGElement[] = [];
    if (server.snapshotIndex > 0 || hidden > 0) {
      const block = svg('rect', { class: 'snapshot', x, y: 0, width: 2 * cell - 2, height: 16, rx: 2 });
      const label = svg('text', { class: 'snapshot-label', x: x + cell - 1, y: 12 });
      label.textContent = server.snapshotIndex > 0 ? `≤${server.snapshotIndex}` : '…';
      const title = svg('title');
      title.textContent = `snapshot up to index ${server.snapshotIndex}` + (hidden > 0 ? `; ${hidden} older entries not shown` : '');
      block.append(title);
      parts.push(block, label);
      x += 2 * cell;
    }
    for (const entry of shown) {
      const committed = entry.index <= server.commitIndex;
      const rect = svg('rect', {
        class: committed ? 'entry committed' : 'entry',
        x, y: 0, width: cell - 2, height: 16, rx: 2, fill: termColour(entry.term),
      });
      const title = svg('title');
      title.textContent = `#${entry.index} term ${entry.term}: ${entry.text}${committed ? ' (committed)' : ''}`;
      rect.append(title);
      const label = svg('text', { class: 'entry-label', x: x + (cell - 2) / 2, y: 12 });
      label.textContent = String(entry.term);
      parts.push(rect, label);
      x += cell;
    }
    const last = server.log.at(-1)?.index ?? server.snapshotIndex;
    const caption = svg('text', { class: 'strip-caption', x: 0, y: 30 });
    caption.textContent = `log ${last} · commit ${server.commitIndex}`;
    parts.push(caption);
    node.strip.replaceChildren(...parts);
  }
}
