/**
 * The page's controls (ids fixed by the DOM contract): play/pause/step, speed, the timeline,
 * fork, share, autopilot, presets, chaos sliders, the options form, the partition control and
 * the selected server's menu. Controls only call {@link ControlHandlers}; {@link Controls.sync}
 * brings them back in line with the view.
 */
import type { ServerId } from '../../../lib/core';
import type { Chaos, RunOptions, ViewState } from '../model/types';
import { byId, setText } from './dom';

/** What the controls ask of the page. */
export interface ControlHandlers {
  /** `#play`. */
  play(): void;
  /** `#pause`. */
  pause(): void;
  /** `#step`: one event. */
  step(): void;
  /** `#timeline`: go to a step. */
  seek(step: number): void;
  /** `#fork`: forget the recorded actions after the current step. */
  fork(): void;
  /** `#share`: copy the URL. */
  share(): void;
  /** `#autopilot`. */
  autopilot(on: boolean): void;
  /** `#preset`: open a preset by name. */
  preset(name: string): void;
  /** `#loss`, `#latency-min`, `#latency-max` (on `change`). */
  chaos(chaos: Chaos): void;
  /** `#options`: a new run with these options. */
  options(options: RunOptions): void;
  /** `#partition`: the groups typed in `#partition-groups`. */
  partition(groups: ServerId[][]): void;
  /** `#heal`: restore every link. */
  heal(): void;
  /** A server menu button: crash, restart, timeout or propose on the selected server. */
  serverAction(kind: 'crash' | 'restart' | 'timeout' | 'propose'): void;
}

/** What the controls show besides the view. */
export interface ControlState {
  /** Whether the play loop runs. */
  readonly playing: boolean;
  /** The furthest step reached (the timeline's end). */
  readonly maxStep: number;
  /** A trace replay: read-only, so acting controls are disabled. */
  readonly readOnly: boolean;
  /** The selected server, if any (shows the server menu). */
  readonly selected: ServerId | undefined;
}

/**
 * Parses a partition like "0,1|2,3,4" into groups of server ids.
 * @throws Error when a group is empty or names something other than a server id below `servers`.
 */
export function parsePartition(text: string, servers: number): ServerId[][] {
  const groups = text.split('|').map((group) =>
    group.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
      const id = Number(s);
      if (!Number.isInteger(id) || id < 0 || id >= servers) throw new Error(`Expected server ids in [0, ${servers}), got "${s}"`);
      return id;
    }),
  );
  if (groups.length < 2 || groups.some((g) => g.length === 0)) throw new Error('Expected groups like "0,1|2,3,4"');
  return groups;
}

/** Binds the controls to handlers and keeps them in step with the view. */
export class Controls {
  readonly #play = byId('play', HTMLButtonElement);
  readonly #pause = byId('pause', HTMLButtonElement);
  readonly #step = byId('step', HTMLButtonElement);
  readonly #speed = byId('speed', HTMLInputElement);
  readonly #timeline = byId('timeline', HTMLInputElement);
  readonly #fork = byId('fork', HTMLButtonElement);
  readonly #share = byId('share', HTMLButtonElement);
  readonly #autopilot = byId('autopilot', HTMLInputElement);
  readonly #preset = byId('preset', HTMLSelectElement);
  readonly #loss = byId('loss', HTMLInputElement);
  readonly #latencyMin = byId('latency-min', HTMLInputElement);
  readonly #latencyMax = byId('latency-max', HTMLInputElement);
  readonly #form = byId('options', HTMLFormElement);
  readonly #servers = byId('opt-servers', HTMLInputElement);
  readonly #seed = byId('opt-seed', HTMLInputElement);
  readonly #preVote = byId('opt-prevote', HTMLInputElement);
  readonly #checkQuorum = byId('opt-checkquorum', HTMLInputElement);
  readonly #maxLog = byId('opt-maxlog', HTMLInputElement);
  readonly #partitionText = byId('partition-groups', HTMLInputElement);
  readonly #partitionButton = byId('partition', HTMLButtonElement);
  readonly #healButton = byId('heal', HTMLButtonElement);
  readonly #menu = byId('server-menu', HTMLElement);
  readonly #stepValue = byId('step-value', HTMLOutputElement);
  readonly #speedValue = byId('speed-value', HTMLOutputElement);
  readonly #chaosValue = byId('chaos-value', HTMLOutputElement);
  readonly #clock = byId('clock', HTMLElement);
  #optionsKey = '';
  #serverCount = 0;

  /** Wires every control to `handlers` (see {@link ControlHandlers}). */
  constructor(handlers: ControlHandlers, onError: (message: string) => void) {
    this.#play.addEventListener('click', () => handlers.play());
    this.#pause.addEventListener('click', () => handlers.pause());
    this.#step.addEventListener('click', () => handlers.step());
    this.#speed.addEventListener('input', () => setText(this.#speedValue, `${this.#speed.value} ms/s`));
    const seek = (): void => handlers.seek(Number(this.#timeline.value));
    this.#timeline.addEventListener('input', seek);
    this.#timeline.addEventListener('change', seek);
    this.#fork.addEventListener('click', () => handlers.fork());
    this.#share.addEventListener('click', () => handlers.share());
    this.#autopilot.addEventListener('change', () => handlers.autopilot(this.#autopilot.checked));
    this.#preset.addEventListener('change', () => {
      if (this.#preset.value !== '') handlers.preset(this.#preset.value);
    });
    for (const slider of [this.#loss, this.#latencyMin, this.#latencyMax]) {
      slider.addEventListener('input', () => this.#showChaos(this.#chaosFromSliders(slider)));
      slider.addEventListener('change', () => handlers.chaos(this.#chaosFromSliders(slider)));
    }
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      handlers.options({
        servers: Math.min(7, Math.max(3, Math.round(Number(this.#servers.value)) || 5)),
        seed: Math.round(Number(this.#seed.value)) || 0,
        preVote: this.#preVote.checked,
        checkQuorum: this.#checkQuorum.checked,
        maxLogEntries: Math.max(0, Math.round(Number(this.#maxLog.value)) || 0),
      });
    });
    this.#partitionButton.addEventListener('click', () => {
      try {
        handlers.partition(parsePartition(this.#partitionText.value, this.#serverCount));
      } catch (error) {
        onError(error instanceof Error ? error.message : String(error));
      }
    });
    this.#healButton.addEventListener('click', () => handlers.heal());
    this.#menu.addEventListener('click', (event) => {
      const kind = (event.target as Element).closest('[data-action]')?.getAttribute('data-action');
      if (kind === 'crash' || kind === 'restart' || kind === 'timeout' || kind === 'propose') handlers.serverAction(kind);
    });
  }

  /** Virtual milliseconds per real second. */
  get speedValueMs(): number {
    return Number(this.#speed.value);
  }

  /** Reads the chaos sliders, keeping min ≤ max by moving the other one. */
  #chaosFromSliders(moved: HTMLInputElement): Chaos {
    let min = Number(this.#latencyMin.value);
    let max = Number(this.#latencyMax.value);
    if (min > max) {
      if (moved === this.#latencyMin) max = min;
      else min = max;
      this.#latencyMin.value = String(min);
      this.#latencyMax.value = String(max);
    }
    return { loss: Number(this.#loss.value), minLatency: min, maxLatency: max };
  }

  #showChaos(chaos: Chaos): void {
    setText(this.#chaosValue, `loss ${Math.round(chaos.loss * 100)}%, latency ${chaos.minLatency}–${chaos.maxLatency} ms`);
  }

  /** Brings every control in line with `view` and `state` (called each drawn frame). */
  sync(view: ViewState, state: ControlState): void {
    this.#serverCount = view.servers.length;
    this.#play.disabled = state.playing || view.violation !== undefined;
    this.#pause.disabled = !state.playing;
    this.#step.disabled = view.violation !== undefined;
    const max = String(Math.max(state.maxStep, view.step));
    if (this.#timeline.max !== max) this.#timeline.max = max;
    if (document.activeElement !== this.#timeline || state.playing) this.#timeline.value = String(view.step);
    setText(this.#stepValue, `${view.step} / ${max}`);
    setText(this.#clock, `t = ${Math.round(view.now)} ms`);
    setText(this.#speedValue, `${this.#speed.value} ms/s`);
    this.#autopilot.checked = view.autopilot;
    for (const control of [this.#fork, this.#autopilot, this.#preset, this.#loss, this.#latencyMin, this.#latencyMax, this.#partitionButton, this.#healButton]) {
      control.disabled = state.readOnly;
    }
    for (const button of this.#menu.querySelectorAll('button')) button.disabled = state.readOnly;
    if (![this.#loss, this.#latencyMin, this.#latencyMax].includes(document.activeElement as HTMLInputElement)) {
      this.#loss.value = String(view.chaos.loss);
      this.#latencyMin.value = String(view.chaos.minLatency);
      this.#latencyMax.value = String(view.chaos.maxLatency);
      this.#showChaos(view.chaos);
    }
    const optionsKey = JSON.stringify(view.options);
    if (optionsKey !== this.#optionsKey) {
      // Only when the run's options change, so typing into the form is not overwritten.
      this.#optionsKey = optionsKey;
      this.#servers.value = String(view.options.servers);
      this.#seed.value = String(view.options.seed);
      this.#preVote.checked = view.options.preVote;
      this.#checkQuorum.checked = view.options.checkQuorum;
      this.#maxLog.value = String(view.options.maxLogEntries);
    }
    this.#menu.hidden = state.selected === undefined;
    if (state.selected !== undefined) {
      const server = view.servers[state.selected];
      setText(this.#menu.querySelector('.menu-title') ?? this.#menu, `S${state.selected}`);
      this.#menu.setAttribute('data-for', String(state.selected));
      if (server !== undefined && !state.readOnly) {
        const crash = this.#menu.querySelector<HTMLButtonElement>('[data-action="crash"]');
        const restart = this.#menu.querySelector<HTMLButtonElement>('[data-action="restart"]');
        if (crash) crash.disabled = !server.running;
        if (restart) restart.disabled = server.running;
      }
    }
  }
}
