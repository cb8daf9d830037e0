import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
jest.mock('node:zlib', () => ({ ...jest.requireActual<typeof import('node:zlib')>('node:zlib'), crc32: undefined }));
import { FilePersistentState, StorageError } from '../../lib';

describe('FilePersistentState on a Node.js without zlib.crc32', () => {
  it('refuses to open with an error naming the Node.js version it needs', () => {
    const directory = mkdtempSync(join(tmpdir(), 'raft-crc32-'));
    try {
      expect(() => FilePersistentState.open(directory)).toThrow(StorageError);
      expect(() => FilePersistentState.open(directory)).toThrow(/needs Node\.js 20\.15 or later \(crc32 in node:zlib\); this is Node\.js \d+\.\d+\.\d+/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
