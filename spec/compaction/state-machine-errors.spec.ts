// What a server does with a state machine that misbehaves: a missing method is a
// ConfigurationError, a snapshot that is not bytes refuses the compaction and changes
// nothing, and an `apply` that throws counts the entries before it as applied, leaves the
// failing one for a later call, and reports exactly the applied ones to `committed`.

import { ConfigurationError, InMemoryCluster, InvalidArgumentError, Server, type LogEntry, type StateMachine } from '../../lib';

const noop = (): void => undefined;

describe('state machine errors', () => {
  it.each(['apply', 'takeSnapshot', 'restoreSnapshot'] as const)('a stateMachine without %s is a ConfigurationError naming it', (method) => {
    const machine: Record<string, unknown> = { apply: noop, takeSnapshot: () => new Uint8Array(), restoreSnapshot: noop };
    delete machine[method];
    expect(() => new Server<string>({ id: 0, clusterSize: 1, messageChannel: noop, stateMachine: machine as unknown as StateMachine<string> })).toThrow(ConfigurationError);
    expect(() => new Server<string>({ id: 0, clusterSize: 1, messageChannel: noop, stateMachine: machine as unknown as StateMachine<string> })).toThrow(`stateMachine.${method}`);
  });

  it('a stateMachine that is not an object is a ConfigurationError', () => {
    expect(() => new Server<string>({ id: 0, clusterSize: 1, messageChannel: noop, stateMachine: 42 as unknown as StateMachine<string> })).toThrow(ConfigurationError);
  });

  it('takeSnapshot returning something else than a Uint8Array: compact() throws InvalidArgumentError and nothing changes', () => {
    const machine: StateMachine<string> = { apply: noop, takeSnapshot: () => 'not bytes' as unknown as Uint8Array, restoreSnapshot: noop };
    const cluster = InMemoryCluster.make<string>(1, { stateMachine: () => machine });
    cluster.runUntil(() => cluster.leader() !== undefined, 1000);
    cluster.propose('a');
    const server = cluster.servers[0]!;
    expect(server.volatileState.lastApplied).toBe(1);
    expect(() => server.compact()).toThrow(InvalidArgumentError);
    expect(server.snapshot).toEqual({ index: 0, term: 0 });
    expect(server.persistentState.getLogEntry(1)?.data).toBe('a');
  });

  it('apply that throws: the entries before count as applied and are reported, the failing one is applied again by a later call', () => {
    const applied: number[] = [];
    let failOnce = 3;
    const machine: StateMachine<string> = {
      apply: (entry: LogEntry<string>) => {
        if (entry.index === failOnce) {
          failOnce = -1;
          throw new Error('disk full');
        }
        applied.push(entry.index);
      },
      takeSnapshot: () => new Uint8Array(),
      restoreSnapshot: noop,
    };
    const server = new Server<string>({ id: 0, clusterSize: 1, messageChannel: noop, stateMachine: machine, clock: () => 0 });
    const reported: number[] = [];
    server.on('committed', (entries) => reported.push(...entries.map((e) => e.index)));
    server.triggerTimeout();
    expect(server.role).toBe('leader');
    expect(() => server.proposeAll(['a', 'b', 'c', 'd'])).toThrow('disk full');
    expect(applied).toEqual([1, 2]);
    expect(reported).toEqual([1, 2]);
    expect(server.volatileState).toEqual({ commitIndex: 4, lastApplied: 2 });
    expect(server.nextDeadline()).toBe(0); // work is due now
    server.tick();
    expect(applied).toEqual([1, 2, 3, 4]);
    expect(reported).toEqual([1, 2, 3, 4]);
    expect(server.volatileState.lastApplied).toBe(4);
  });
});
