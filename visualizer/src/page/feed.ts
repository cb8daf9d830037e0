/**
 * The narration feed: one `li[data-step]` per line (the DOM contract). Clicking a line seeks
 * to its step; hovering it highlights the servers it is about.
 */
import type { ServerId } from '../../../lib/core';
import type { NarrationLine } from '../model/types';

/** Keeps `#feed` in step with the view's narration, appending when it only grew. */
export class Feed {
  /** How many lines are shown, and the last of them (the model may reuse its array). */
  #count = 0;
  #last: NarrationLine | undefined;
  #step = -1;
  #hasFuture = false;
  #hovered: ReadonlySet<ServerId> = new Set();

  /**
   * @param list the `<ol>`/`<ul>` to fill.
   * @param onSeek called with a line's step when it is clicked.
   */
  constructor(
    readonly list: HTMLElement,
    onSeek: (step: number) => void,
  ) {
    list.addEventListener('click', (event) => {
      const item = (event.target as Element).closest('li[data-step]');
      if (item !== null) onSeek(Number(item.getAttribute('data-step')));
    });
    list.addEventListener('mouseover', (event) => {
      const item = (event.target as Element).closest('li[data-step]');
      this.#hovered = new Set((item?.getAttribute('data-servers') ?? '').split(',').filter((s) => s !== '').map(Number));
    });
    list.addEventListener('mouseleave', () => (this.#hovered = new Set()));
  }

  /** Servers named by the line under the pointer. */
  get hovered(): ReadonlySet<ServerId> {
    return this.#hovered;
  }

  /** Shows `lines`, marking the ones after `step` (a scrubbed-back view) as future. */
  render(lines: readonly NarrationLine[], step: number): void {
    const last = lines.at(-1);
    const unchanged = lines.length === this.#count && (last === this.#last || (last !== undefined && this.#last !== undefined && same(last, this.#last)));
    if (unchanged && step === this.#step) return;
    // The model keeps the latest lines only: find where the shown ones end in the new list.
    let kept = -1;
    if (this.#last !== undefined) {
      for (let k = lines.length - 1; k >= 0 && kept < 0; k--) if (same(lines[k]!, this.#last)) kept = k;
    }
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 8;
    const grew = kept >= 0 && kept + 1 <= this.#count;
    if (grew) {
      for (let k = this.#count - (kept + 1); k > 0; k--) this.list.firstElementChild?.remove();
    } else {
      this.list.replaceChildren();
    }
    const fragment = document.createDocumentFragment();
    for (const line of lines.slice(grew ? kept + 1 : 0)) fragment.append(item(line));
    this.list.append(fragment);
    this.#count = lines.length;
    this.#last = last;
    this.#step = step;
    // Lines after the current step exist only when the model keeps them after a seek back.
    if (this.#hasFuture || (last !== undefined && last.step > step)) {
      this.#hasFuture = false;
      for (const li of this.list.children) {
        const future = Number(li.getAttribute('data-step')) > step;
        li.classList.toggle('future', future);
        this.#hasFuture ||= future;
      }
    }
    if (atBottom || !grew) this.list.scrollTop = this.list.scrollHeight;
  }
}

function same(a: NarrationLine, b: NarrationLine): boolean {
  return a.step === b.step && a.time === b.time && a.text === b.text;
}

function item(line: NarrationLine): HTMLLIElement {
  const li = document.createElement('li');
  li.setAttribute('data-step', String(line.step));
  li.setAttribute('data-servers', line.servers.join(','));
  const when = document.createElement('span');
  when.className = 'when';
  when.textContent = `#${line.step} ${Math.round(line.time)}ms`;
  li.append(when, ` ${line.text}`);
  li.title = 'click: jump to this step';
  return li;
}
