/**
 * The side panel for the selected server: its whole state (Figure 2's fields, the snapshot, the
 * election timer, the log) and, for a leader, its nextIndex/matchIndex per follower.
 */
import type { ServerView, ViewState } from '../model/types';
import { termColour } from './ring-view';

/** Escapes text for HTML. */
function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders the selected server's state into an element (only touching the DOM when it changed). */
export class ServerPanel {
  #html = '';

  /** @param container the element the panel's content goes into. */
  constructor(readonly container: HTMLElement) {}

  /** Shows `server` (or a hint when none is selected) as it is in `view` at virtual time `time`. */
  render(view: ViewState, server: ServerView | undefined, time: number): void {
    const html = server === undefined ? '<p class="hint">Click a server to see its state and act on it.</p>' : serverHtml(view, server);
    if (html !== this.#html) {
      this.#html = html;
      this.container.innerHTML = html;
    }
    // The timer changes every frame: only its cell is rewritten (the log list keeps its scroll).
    const cell = this.container.querySelector('.timer-value');
    if (cell !== null && server !== undefined) {
      const deadline = server.electionDeadline;
      const text = deadline === undefined ? '–' : `${Math.max(0, Math.round(deadline - time))} ms (at ${Math.round(deadline)})`;
      if (cell.textContent !== text) cell.textContent = text;
    }
  }
}

function serverHtml(view: ViewState, s: ServerView): string {
  const rows: [string, string][] = [
    ['state', s.running ? s.role : `crashed (was ${s.role})`],
    ['currentTerm', String(s.term)],
    ['votedFor', s.votedFor === undefined ? '–' : `S${s.votedFor}`],
    ['leader', s.leaderId === undefined ? '–' : `S${s.leaderId}`],
    ['commitIndex', String(s.commitIndex)],
    ['lastApplied', String(s.lastApplied)],
    ['snapshot', s.snapshotIndex === 0 ? 'none' : `up to ${s.snapshotIndex}`],
  ];
  let html = `<h3 class="role-${s.running ? s.role : 'crashed'}">Server S${s.id}</h3><table class="state">`;
  html += rows.map(([k, v]) => `<tr><th>${k}</th><td>${escape(v)}</td></tr>`).join('');
  html += '<tr><th>election timer</th><td class="timer-value"></td></tr></table>';
  if (s.nextIndex !== undefined && s.matchIndex !== undefined) {
    html += '<h4>Replication</h4><table class="progress"><tr><th>server</th><th>nextIndex</th><th>matchIndex</th></tr>';
    for (let i = 0; i < view.servers.length; i++) {
      if (i === s.id) continue;
      html += `<tr><td>S${i}</td><td>${s.nextIndex[i] ?? '–'}</td><td>${s.matchIndex[i] ?? '–'}</td></tr>`;
    }
    html += '</table>';
  }
  html += `<h4>Log (${s.log.length} held${s.snapshotIndex > 0 ? `, after snapshot ${s.snapshotIndex}` : ''})</h4><ol class="log">`;
  for (const e of s.log.slice(-40).reverse()) {
    const committed = e.index <= s.commitIndex;
    html +=
      `<li class="${committed ? 'committed' : 'uncommitted'}"><span class="swatch" style="background:${termColour(e.term)}"></span>` +
      `#${e.index} t${e.term} ${escape(e.text)}${committed ? ' ✓' : ''}</li>`;
  }
  if (s.log.length > 40) html += `<li class="more">… ${s.log.length - 40} older</li>`;
  html += '</ol>';
  return html;
}
