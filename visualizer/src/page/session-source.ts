/**
 * Where the page's sessions come from: the only file that names the model's concrete classes
 * (a live {@link VisualizerSession} or a simulator {@link TraceSession}); the rest of the page
 * sees the {@link Session} interface.
 */
import type { Session } from '../model/session-api';
import type { RunOptions } from '../model/types';
import { DEFAULT_OPTIONS, VisualizerSession, decodeRecording } from '../model/session';
import { isPresetName, presetRecording } from '../model/presets';
import { TraceSession } from '../model/trace-session';
import type { HashRequest } from './url';

/** The run the page opens without a hash. */
export function defaultRun(): Session {
  return VisualizerSession.create(DEFAULT_OPTIONS);
}

/** A new live run with these options. */
export function newRun(options: RunOptions): Session {
  return VisualizerSession.create(options);
}

/**
 * The session a URL hash names: a recording replayed up to its step, or a trace.
 * @throws the model's error (e.g. RecordingError) when the text does not decode.
 */
export function openHash(request: HashRequest): Session {
  if (request.kind === 'run') return VisualizerSession.fromRecording(decodeRecording(request.text));
  return TraceSession.fromText(request.text);
}

/** The last step the timeline should reach: a trace's length, or a recording's last action or shared step. */
export function timelineEnd(session: Session): number {
  if (session instanceof TraceSession) return session.length;
  const recording = session.recording();
  let end = recording?.at ?? 0;
  for (const { step } of recording?.actions ?? []) end = Math.max(end, step);
  return end;
}

/**
 * Preset `name` (a `#preset` value) for `options`, at the step where its story starts; its
 * later actions are recorded, so playing (or scrubbing forward) shows the rest.
 * @throws Error for an unknown name.
 */
export function openPreset(name: string, options: RunOptions): Session {
  if (!isPresetName(name)) throw new Error(`Unknown preset "${name}"`);
  return VisualizerSession.fromRecording(presetRecording(name, options));
}

/**
 * The same run without the actions recorded after the current step (so the timeline ends
 * here and whatever is done next starts a new branch).
 * @throws Error for a trace (read-only).
 */
export function fork(session: Session): Session {
  const recording = session.recording();
  if (recording === undefined) throw new Error('A trace is read-only: it cannot be forked');
  const at = session.view().step;
  return VisualizerSession.fromRecording({ ...recording, actions: recording.actions.filter((a) => a.step <= at), at });
}
