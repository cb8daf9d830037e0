/**
 * Messages in flight as dots moving from sender to receiver, placed by interpolating between
 * `sentAt` and `deliverAt` at the current virtual time. Requests are filled, replies hollow;
 * each type has its colour (see {@link MESSAGE_TYPES}, also the legend). Clicking a dot drops it.
 */
import type { MessageView } from '../model/types';
import { NODE_RADIUS, ringLayout, type Point } from './ring-view';
import { setAttr, svg } from './dom';

/** Every message type the model reports, with its colour and legend label. */
export const MESSAGE_TYPES: readonly { readonly type: string; readonly label: string; readonly colour: string }[] = [
  { type: 'requestVote', label: 'RequestVote', colour: '#e6550d' },
  { type: 'preVote', label: 'Pre-vote', colour: '#c994c7' },
  { type: 'appendEntries', label: 'AppendEntries', colour: '#2171b5' },
  { type: 'heartbeat', label: 'Heartbeat', colour: '#7fb8da' },
  { type: 'installSnapshot', label: 'InstallSnapshot', colour: '#238b45' },
  { type: 'timeoutNow', label: 'TimeoutNow', colour: '#d62728' },
];

const COLOURS = new Map(MESSAGE_TYPES.map((t) => [t.type, t.colour]));

/** Radius of a message dot. */
const DOT_RADIUS = 7;

/** How far apart the two directions between a pair of servers travel. */
const LANE_OFFSET = 7;

/** Where a message is at `time`: on its lane from the sender's edge to the receiver's edge. */
export function messagePosition(message: MessageView, positions: readonly Point[], time: number): Point | undefined {
  const a = positions[message.from];
  const b = positions[message.to];
  if (a === undefined || b === undefined) return undefined;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy) || 1;
  const span = message.deliverAt - message.sentAt;
  const progress = span <= 0 ? 1 : Math.min(1, Math.max(0, (time - message.sentAt) / span));
  const edge = (NODE_RADIUS + DOT_RADIUS) / length;
  const f = edge + progress * Math.max(0, 1 - 2 * edge);
  // Offset to the right of the direction of travel, so A→B and B→A do not overlap.
  const nx = -dy / length;
  const ny = dx / length;
  return { x: a.x + dx * f - nx * LANE_OFFSET, y: a.y + dy * f - ny * LANE_OFFSET };
}

/** Draws the messages in flight into their own SVG layer. */
export class MessageLayer {
  readonly #layer: SVGGElement;
  readonly #dots = new Map<number, SVGCircleElement>();

  /**
   * @param root the ring's `<svg>` (the layer goes on top of it).
   * @param onDrop called with a message's id when its dot is clicked.
   */
  constructor(root: SVGSVGElement, onDrop: (id: number) => void) {
    this.#layer = svg('g', { class: 'messages' });
    root.append(this.#layer);
    this.#layer.addEventListener('click', (event) => {
      const dot = (event.target as Element).closest('[data-message]');
      if (dot === null) return;
      event.stopPropagation();
      onDrop(Number(dot.getAttribute('data-message')));
    });
  }

  /** Moves, adds and removes dots so they show `messages` at virtual time `time`. */
  render(messages: readonly MessageView[], serverCount: number, time: number): void {
    const positions = ringLayout(serverCount);
    const seen = new Set<number>();
    for (const message of messages) {
      const at = messagePosition(message, positions, time);
      if (at === undefined) continue;
      seen.add(message.id);
      let dot = this.#dots.get(message.id);
      if (dot === undefined) {
        dot = this.#create(message);
        this.#dots.set(message.id, dot);
        this.#layer.append(dot);
      }
      setAttr(dot, 'cx', at.x.toFixed(1));
      setAttr(dot, 'cy', at.y.toFixed(1));
    }
    for (const [id, dot] of this.#dots) {
      if (seen.has(id)) continue;
      dot.remove();
      this.#dots.delete(id);
    }
  }

  #create(message: MessageView): SVGCircleElement {
    const colour = COLOURS.get(message.type) ?? '#888';
    const dot = svg('circle', {
      class: message.reply ? 'message reply' : 'message request',
      r: DOT_RADIUS,
      'data-message': message.id,
      'data-type': message.type,
      fill: message.reply ? '#fff' : colour,
      stroke: colour,
    });
    const title = svg('title');
    title.textContent = `${message.summary} (S${message.from} → S${message.to}; click to drop)`;
    dot.append(title);
    return dot;
  }
}

/** Fills the legend element with a swatch per message type, and the request/reply shapes. */
export function renderLegend(container: HTMLElement): void {
  const items = MESSAGE_TYPES.map(
    (t) => `<li><svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="${t.colour}" stroke="${t.colour}" stroke-width="2"/></svg>${t.label}</li>`,
  );
  items.push(
    '<li><svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="#555" stroke="#555" stroke-width="2"/></svg>request (filled)</li>',
    '<li><svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="#fff" stroke="#555" stroke-width="2"/></svg>reply (hollow)</li>',
  );
  container.innerHTML = items.join('');
}
