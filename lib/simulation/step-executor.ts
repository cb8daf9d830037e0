/**
 * The step executor: what each kind of schedule step does to a run's cluster (see
 * {@link SimulationEvent} for the kinds). {@link ScheduleRun.step} calls it, then checks.
 */
import type { AddressedMessage } from '../network';
import type { Server } from '../server';
import { describeMessage } from './describe';
import { REWRITE_WAIT_FACTOR, TRANSFER_WAIT_MS, QUIET_STEP_MS, type RunContext } from './run-context';
import type { SimulationEvent } from './schedule';

/** Executes one schedule step on `run` (its trace lines go to `run.say`); the caller checks the invariants after it. */
export function executeStep<T>(run: RunContext<T>, event: SimulationEvent): void {
  switch (event.type) {
    case 'advance':
      run.cluster.advance(event.ms);
      run.say(`advance ${event.ms} ms`);
      break;
    case 'deliver':
    case 'drop':
    case 'duplicate': {
      const chosen = run.pickMessage(event.pick);
      if (chosen === undefined) break;
      if (event.type === 'deliver') {
        run.deliver(chosen);
      } else if (event.type === 'drop') {
        run.cluster.network.drop(chosen.to, chosen.id);
      } else {
        run.cluster.network.duplicate(chosen.to, chosen.id);
      }
      run.say(`${event.type} #${chosen.id} ${chosen.from}→${chosen.to} ${describeMessage(chosen.message)}`);
      break;
    }
    case 'hold': {
      const chosen = run.pickToHold(event.pick);
      if (chosen === undefined) break;
      run.cluster.network.hold(chosen.to, chosen.id);
      const what = `${chosen.from}→${chosen.to} ${describeMessage(chosen.message)}`;
      const receiver = run.cluster.servers[chosen.to] as Server<T>;
      const term = receiver.currentTerm;
      const elections = Math.max(1, event.elections);
      const message = chosen.message;
      if (message.type === 'appendEntriesReply' && message.reply.success) {
        const index = message.reply.matchIndex;
        const acknowledged = { index, term: receiver.persistentState.getLogEntry(index)?.term };
        run.held.push({ to: chosen.to, id: chosen.id, until: run.checker.leaderTerms + elections * REWRITE_WAIT_FACTOR, term, what, acknowledged });
      } else {
        run.held.push({ to: chosen.to, id: chosen.id, until: run.checker.leaderTerms + elections, term, what });
      }
      run.say(`hold #${chosen.id} ${what} for ${event.elections} election${event.elections === 1 ? '' : 's'}`);
      break;
    }
    case 'propose': {
      const result = run.cluster.propose(run.value(event.value));
      run.say(`propose v${event.value}: ${result.type === 'appended' ? `appended at ${result.index} in term ${result.term}` : result.type}`);
      break;
    }
    case 'timeout':
      run.cluster.timeout(event.server);
      run.say(`timeout ${event.server}`);
      break;
    case 'heartbeat':
      run.cluster.heartbeat(event.server);
      run.say(`heartbeat ${event.server}`);
      break;
    case 'crash': {
      const id = run.spare(event.lastReceiver === true ? (run.lastReceiver ?? event.server) : event.server);
      const loss = run.crash(id, event.keep);
      run.say(`crash ${id}${event.lastReceiver === true ? ' (the last receiver)' : ''}${loss}`);
      break;
    }
    case 'restart': {
      const id = run.spare(event.lastReceiver === true ? (run.lastReceiver ?? event.server) : event.server);
      const loss = run.crash(id, event.keep);
      run.restart(id);
      run.say(`restart ${id}${event.lastReceiver === true ? ' (the last receiver)' : ''}${loss}`);
      break;
    }
    case 'partition':
      run.cluster.partition(...event.groups.map((group) => [...group]));
      run.say(`partition ${event.groups.map((group) => `{${group.join(',')}}`).join(' ')}`);
      break;
    case 'heal':
      run.cluster.heal();
      run.say('heal');
      break;
    case 'isolateLeader': {
      const leader = run.cluster.leader();
      if (leader === undefined) break;
      run.cluster.disconnect(leader.id);
      run.isolated.add(leader.id);
      run.say(`isolate leader ${leader.id} (term ${leader.currentTerm})`);
      break;
    }
    case 'reconnectAll':
      run.isolated.forEach((id) => run.cluster.reconnect(id));
      run.isolated.clear();
      run.say('reconnect all');
      break;
    case 'cutLink':
      run.cluster.network.cutLink(event.from, event.to);
      run.say(`cut link ${event.from}→${event.to}`);
      break;
    case 'restoreLinks':
      run.cluster.network.restoreAllLinks();
      run.say('restore links');
      break;
    case 'quiet':
      run.say(`quiet for ${event.ms} ms`);
      run.settle(event.ms);
      break;
    case 'compact': {
      if (!run.compaction || !run.cluster.isRunning(event.server)) break;
      const server = run.cluster.servers[event.server] as Server<T>;
      const position = server.compact();
      run.say(`compact ${event.server}: snapshot at (${position.index},t${position.term}), log ${server.persistentState.firstLogIndex ?? 1}..${server.persistentState.currentLogIndex}`);
      break;
    }
    case 'transfer': {
      const leader = run.cluster.leader();
      if (leader === undefined) break;
      const others = run.cluster.servers.map((server) => server.id).filter((id) => id !== leader.id);
      const to = others[Math.min(others.length - 1, Math.floor(event.pick * others.length))];
      if (to === undefined) break;
      const result = leader.transferLeadership(to);
      run.say(`transfer leadership ${leader.id}→${to} (term ${leader.currentTerm}): ${result.type}`);
      break;
    }
    case 'read': {
      const leader = run.cluster.leader();
      if (leader === undefined) break;
      let answer = 'waits';
      leader.readIndex((result) => {
        answer = result.type === 'ready' ? `ready at ${result.index}` : result.type;
        if (answer !== 'waits') run.say(`read on ${leader.id} answered ${answer}`);
      });
      run.say(`read on ${leader.id} (term ${leader.currentTerm}): ${answer}`);
      break;
    }
    case 'client':
      if (run.workload !== undefined) run.say(run.workload.step(event));
      break;
    case 'crashInTransfer': {
      const transfers = (): AddressedMessage<T>[] => {
        const found: AddressedMessage<T>[] = [];
        const count = run.cluster.network.undeliveredCount;
        for (let k = 0; k < count; k++) {
          const candidate = run.cluster.network.undeliveredAt(k) as AddressedMessage<T>;
          if (candidate.message.type === 'installSnapshot' || candidate.message.type === 'installSnapshotReply') found.push(candidate);
        }
        return found;
      };
      if (transfers().length === 0 && run.compaction) {
        // None waits: make one likely. A crashed server comes back (it has missed entries),
        // the leader compacts (so a follower that has missed entries needs the snapshot),
        // and the run.cluster runs as a quiet period (oldest message first, time when none
        // waits) until a transfer message waits, for at most TRANSFER_WAIT_MS.
        const down = run.cluster.servers.find((server) => !run.cluster.isRunning(server.id) && run.spare(server.id) === server.id);
        if (down !== undefined) {
          run.restart(down.id);
          run.say(`crash in transfer: restart ${down.id} first`);
        }
        const leader = run.cluster.leader();
        if (leader !== undefined) {
          const position = leader.compact();
          run.say(`crash in transfer: leader ${leader.id} compacts, snapshot at (${position.index},t${position.term})`);
        }
        const end = run.cluster.now + TRANSFER_WAIT_MS;
        while (transfers().length === 0 && run.checker.violation === undefined && run.cluster.now < end) {
          const next = run.cluster.network.undeliveredAt(0);
          if (next !== undefined) run.deliver(next);
          else run.cluster.advance(Math.min(QUIET_STEP_MS, end - run.cluster.now));
          run.checkStep();
        }
        if (run.checker.violation !== undefined) break;
      }
      const waiting = transfers();
      const chosen = waiting[Math.min(waiting.length - 1, Math.floor(event.pick * waiting.length))];
      if (chosen === undefined) {
        run.say('crash in transfer: no snapshot transfer under way');
        break;
      }
      const target = event.receiver ? chosen.to : chosen.from;
      if (run.spare(target) !== target) break; // a run.held success reply waits for it
      const what = `${chosen.from}→${chosen.to} ${describeMessage(chosen.message)}`;
      const loss = run.crash(target, event.keep);
      if (event.restart) run.restart(target);
      run.say(`${event.restart ? 'restart' : 'crash'} ${target}, ${event.receiver ? 'receiver' : 'sender'} of undelivered #${chosen.id} ${what}${loss}`);
      break;
    }
  }
}
