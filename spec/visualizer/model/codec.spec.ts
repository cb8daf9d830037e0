/** The recording codec: round trips with every action kind, and bad input refused with a reason. */
import { RecordingError, decodeRecording, encodeRecording, fromBase64Url, toBase64Url } from '../../../visualizer/src/model/codec';
import type { Recording } from '../../../visualizer/src/model/types';

const EVERY_ACTION: Recording = {
  options: { servers: 5, seed: 4242, preVote: false, checkQuorum: true, maxLogEntries: 12 },
  actions: [
    { step: 0, action: { kind: 'autopilot', on: true } },
    { step: 0, action: { kind: 'chaos', chaos: { loss: 0.125, minLatency: 5, maxLatency: 80.5 } } },
    { step: 3, action: { kind: 'crash', server: 4 } },
    { step: 7, action: { kind: 'restart', server: 4 } },
    { step: 9, action: { kind: 'timeout', server: 0 } },
    { step: 12, action: { kind: 'propose', server: 2 } },
    { step: 12, action: { kind: 'drop', message: 311 } },
    { step: 20, action: { kind: 'cut', from: 1, to: 3 } },
    { step: 21, action: { kind: 'restore', from: 1, to: 3 } },
    { step: 30, action: { kind: 'partition', groups: [[0, 1], [2, 3, 4]] } },
    { step: 31, action: { kind: 'partition', groups: [[0], []] } },
    { step: 40, action: { kind: 'heal' } },
    { step: 41, action: { kind: 'autopilot', on: false } },
  ],
  at: 35,
};

/** The text for a JSON body, encoded as the codec does. */
function encodeJson(json: string, version = 'v1'): string {
  return `${version}.${toBase64Url(new TextEncoder().encode(json))}`;
}

function reasonOf(text: string): string {
  try {
    decodeRecording(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RecordingError);
    return (error as RecordingError).reason;
  }
  throw new Error(`decoded ${text}`);
}

describe('recording codec', () => {
  it('round-trips every action kind', () => {
    const text = encodeRecording(EVERY_ACTION);
    expect(text).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(decodeRecording(text)).toEqual(EVERY_ACTION);
    expect(decodeRecording(`#run=${text}`)).toEqual(EVERY_ACTION);
  });

  it('round-trips an empty recording and negative seeds', () => {
    const empty: Recording = { options: { servers: 3, seed: -7, preVote: true, checkQuorum: false, maxLogEntries: 0 }, actions: [], at: 0 };
    expect(decodeRecording(encodeRecording(empty))).toEqual(empty);
  });

  it('base64url matches the standard alphabet for every length', () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, k) => (k * 97 + length * 13) & 255);
      const text = toBase64Url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect([...fromBase64Url(text)]).toEqual([...bytes]);
    }
  });

  it.each([
    ['', /version/],
    ['v2.e30', /unsupported version "v2"/],
    ['v1.***', /not base64url/],
    ['v1.A', /impossible length/],
    [encodeJson('{"o":'), /not JSON/],
    [encodeJson('[1]'), /not an object/],
    [encodeJson('{"o":[8,1,1,1,0],"a":[],"at":0}'), /servers must be an integer in 3..7, got 8/],
    [encodeJson('{"o":[2,1,1,1,0],"a":[],"at":0}'), /servers must be an integer in 3..7, got 2/],
    [encodeJson('{"o":[5,1.5,1,1,0],"a":[],"at":0}'), /seed/],
    [encodeJson('{"o":[5,1,2,1,0],"a":[],"at":0}'), /preVote must be 0 or 1/],
    [encodeJson('{"o":[5,1,1,1,-1],"a":[],"at":0}'), /maxLogEntries/],
    [encodeJson('{"o":[5,1,1,1],"a":[],"at":0}'), /options must be an array of 5/],
    [encodeJson('{"o":[5,1,1,1,0],"a":{},"at":0}'), /actions must be an array/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"c",5]],"at":0}'), /action 0: crash's server must be a server id in 0..4, got 5/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"z"]],"at":0}'), /unknown action code "z"/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"x",1,1]],"at":0}'), /two different servers/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"P",[[0,1],[1]]]],"at":0}'), /two groups/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"C",1.5,0,1]],"at":0}'), /loss must be a number in \[0, 1\]/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"C",0,30,10]],"at":0}'), /maxLatency/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"d",0]],"at":0}'), /positive integer/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[5,"h"],[4,"h"]],"at":0}'), /steps must not go down/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[-1,"h"]],"at":0}'), /step must be an integer/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[[0,"h",1]],"at":0}'), /needs 0 field/],
    [encodeJson('{"o":[5,1,1,1,0],"a":[],"at":"x"}'), /at must be an integer/],
  ])('refuses %j with a reason', (text, reason) => {
    expect(reasonOf(text)).toMatch(reason);
  });

  it('refuses random garbage with a RecordingError', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let k = 0; k < 200; k++) {
      const length = Math.floor(random() * 60);
      const text = Array.from({ length }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join('');
      expect(() => decodeRecording(k % 2 === 0 ? text : `v1.${text}`)).toThrow(RecordingError);
    }
  });
});
