// Minimal local typings for the untyped peer packages used by bench/peers/*.ts.
// Only what the benchmark harness touches is declared.

declare module '@markwylde/liferaft' {
  namespace LifeRaft {
    interface LastInfo {
      index: number;
      term: number;
      committedIndex: number;
    }
    interface Packet {
      state: number;
      term: number;
      address: string;
      type: string;
      leader: string;
      last?: LastInfo;
      data?: unknown;
    }
    /** Reply callback handed to the `data` event; called with no packet for an empty reply. */
    type Reply = (packet?: Packet) => void;
    /** Transport: deliver `packet` to the node; `fn(err, reply)` hands a reply back to the sender. */
    type Write = (packet: Packet, fn: (err?: Error, reply?: Packet) => void) => void;
    interface LevelUp {
      isClosed(): boolean;
      once(event: 'closed', fn: () => void): unknown;
    }
    interface Entry {
      index: number;
      term: number;
      committed: boolean;
      command: unknown;
    }
    interface Log {
      committedIndex: number;
      /** Rejects (NotFoundError) when there is no entry at `index`. */
      get(index: number): Promise<Entry>;
      db: LevelUp;
      getLastInfo(): Promise<LastInfo>;
    }
    type LogConstructor = new (node: LifeRaft, options: Options) => Log;
    interface Options {
      address?: string;
      heartbeat?: number | string;
      'election min'?: number | string;
      'election max'?: number | string;
      threshold?: number;
      Log?: LogConstructor;
      /** A leveldown-compatible constructor, passed to the Log (default: leveldown). */
      adapter?: (location: string) => unknown;
      /** The Log's database location. */
      path?: string;
      write?: Write;
      state?: number;
    }
  }
  class LifeRaft {
    constructor(options: LifeRaft.Options);
    static readonly STOPPED: number;
    static readonly LEADER: number;
    static readonly CANDIDATE: number;
    static readonly FOLLOWER: number;
    static readonly CHILD: number;
    static readonly states: string[];
    address: string;
    state: number;
    term: number;
    leader: string;
    log: LifeRaft.Log | null;
    nodes: LifeRaft[];
    join(address: string, write: LifeRaft.Write): LifeRaft | undefined;
    promote(): Promise<LifeRaft>;
    /** Appends to the leader's log and sends one `append` per follower; rejects with NOTLEADER elsewhere. */
    command(command: unknown): Promise<void>;
    end(): boolean;
    on(event: string, fn: (...args: any[]) => void): this;
    once(event: string, fn: (...args: any[]) => void): this;
    emit(event: string, ...args: unknown[]): boolean;
  }
  export = LifeRaft;
}

declare module '@markwylde/liferaft/log' {
  import LifeRaft = require('@markwylde/liferaft');
  const Log: LifeRaft.LogConstructor;
  export = Log;
}

declare module 'memdown' {
  function memdown(location?: string): unknown;
  export = memdown;
}

declare module 'leveldown' {
  function leveldown(location: string): unknown;
  export = leveldown;
}
