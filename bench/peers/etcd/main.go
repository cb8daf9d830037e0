// etcd-peer: etcd's Raft library (go.etcd.io/etcd/raft, the RawNode API) on the jobs of
// W1 and W2 from bench/workloads.ts, for bench/run.ts (see bench/NOTES.md).
//
// Three RawNodes in this process, each with its own raft.MemoryStorage. Delivery is
// synchronous: a node's Ready is handled as etcd's documentation asks (Append the entries
// and SetHardState on its MemoryStorage, then send the messages, then Advance), and
// "send" is Step on the target RawNode at once. The loop runs until no node has a Ready.
// Entries are the same 16-byte payload as bench/workloads.ts.
//
//	serial  (W1's job): one Propose on the leader at a time, the cluster driven until quiet
//	        (the leader has then received the entry as committed in Ready.CommittedEntries,
//	        which is checked, and the followers have acknowledged the commit index it then
//	        broadcasts), then the next; commits per second. With -stop-at-leader the driving
//	        stops as soon as the leader has the entry as committed, and what is left in flight
//	        is delivered along with the next proposal.
//	batched (W2's job): one MsgProp of 100 entries at a time (Step on the leader), the
//	        cluster driven until quiet, then the next; after the last batch one heartbeat
//	        (a leader Tick) so the followers learn the final commit index; the clock stops
//	        when all three nodes have received every entry as committed; entries per second.
//
// Build (GOPATH mode against Debian's golang-etcd-server-dev, no module proxy needed):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o bin/etcd-peer .
//
// Run: bin/etcd-peer [-mode serial|batched|both] [-n 200000] [-batch 100] [-cpuprofile FILE]
// Prints one JSON object on stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"go.etcd.io/etcd/raft"
	pb "go.etcd.io/etcd/raft/raftpb"
)

const payload = "0123456789abcdef" // 16 bytes, as PAYLOAD in bench/workloads.ts

type node struct {
	id      uint64
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	applied uint64 // highest index received in Ready.CommittedEntries
}

type cluster struct {
	nodes []*node
	byID  map[uint64]*node
}

func newCluster(size int) *cluster {
	ids := make([]uint64, size)
	for k := range ids {
		ids[k] = uint64(k + 1)
	}
	quiet := &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}
	c := &cluster{byID: map[uint64]*node{}}
	for _, id := range ids {
		storage := raft.NewMemoryStorage()
		// The recommended bootstrap: a storage whose first index is > 1 and whose snapshot
		// holds the initial configuration.
		snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: pb.ConfState{Voters: ids}}}
		if err := storage.ApplySnapshot(snap); err != nil {
			panic(err)
		}
		rn, err := raft.NewRawNode(&raft.Config{
			ID:                        id,
			ElectionTick:              10,
			HeartbeatTick:             1,
			Storage:                   storage,
			Applied:                   1,
			MaxSizePerMsg:             1 << 20, // a batch of 100 entries travels in one MsgApp
			MaxCommittedSizePerReady:  1 << 30,
			MaxInflightMsgs:           256,
			MaxUncommittedEntriesSize: 0, // no limit
			Logger:                    quiet,
		})
		if err != nil {
			panic(err)
		}
		n := &node{id: id, rn: rn, storage: storage, applied: 1}
		c.nodes = append(c.nodes, n)
		c.byID[id] = n
	}
	return c
}

// handle processes one Ready of n: persist, send (Step the target at once), apply, Advance.
func (c *cluster) handle(n *node) {
	rd := n.rn.Ready()
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			panic(err)
		}
	}
	if len(rd.Entries) > 0 {
		if err := n.storage.Append(rd.Entries); err != nil {
			panic(err)
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			panic(err)
		}
	}
	for _, m := range rd.Messages {
		target := c.byID[m.To]
		if err := target.rn.Step(m); err != nil {
			panic(fmt.Sprintf("step %v to %d: %v", m.Type, m.To, err))
		}
	}
	if k := len(rd.CommittedEntries); k > 0 {
		n.applied = rd.CommittedEntries[k-1].Index
	}
	n.rn.Advance(rd)
}

// settle handles Readies until no node has one (all messages delivered and answered).
func (c *cluster) settle() {
	c.settleUntil(func() bool { return false })
}

// settleUntil handles Readies until done() holds (checked after each Ready) or no node has one.
func (c *cluster) settleUntil(done func() bool) {
	for busy := true; busy; {
		busy = false
		for _, n := range c.nodes {
			for n.rn.HasReady() {
				c.handle(n)
				if done() {
					return
				}
				busy = true
			}
		}
	}
}

// checkAllApplied settles, ticks the leader once (HeartbeatTick is 1: a heartbeat carries the
// commit index to the followers), settles again, and panics unless every node has applied index.
func (c *cluster) checkAllApplied(leader *node, index uint64) {
	c.settle()
	leader.rn.Tick()
	c.settle()
	for _, n := range c.nodes {
		if n.applied != index {
			panic(fmt.Sprintf("node %d applied %d, want %d", n.id, n.applied, index))
		}
	}
}

func (c *cluster) elect() *node {
	leader := c.nodes[0]
	if err := leader.rn.Campaign(); err != nil {
		panic(err)
	}
	c.settle()
	if leader.rn.BasicStatus().RaftState != raft.StateLeader {
		panic("node 1 did not become leader")
	}
	return leader
}

// serial is W1's job: one proposal at a time, each until the leader has it as committed.
var stopAtLeader = false

func serial(entries int) map[string]float64 {
	c := newCluster(3)
	leader := c.elect()
	data := []byte(payload)
	base := leader.rn.Status().Commit // the election's empty entry is committed already
	runtime.GC()
	started := time.Now()
	for k := 1; k <= entries; k++ {
		if err := leader.rn.Propose(data); err != nil {
			panic(err)
		}
		want := base + uint64(k)
		if stopAtLeader {
			c.settleUntil(func() bool { return leader.applied >= want })
		} else {
			c.settle()
		}
		if leader.applied != want {
			panic(fmt.Sprintf("entry %d not committed on the leader (applied %d)", k, leader.applied))
		}
	}
	seconds := time.Since(started).Seconds()
	c.checkAllApplied(leader, base+uint64(entries))
	return map[string]float64{"entries": float64(entries), "commitsPerSecond": float64(entries) / seconds}
}

// batched is W2's job: one MsgProp of batchSize entries at a time, until all three have committed all.
func batched(entries, batchSize int) map[string]float64 {
	c := newCluster(3)
	leader := c.elect()
	batch := make([]pb.Entry, batchSize)
	for k := range batch {
		batch[k] = pb.Entry{Data: []byte(payload)}
	}
	base := leader.rn.Status().Commit
	target := base + uint64(entries)
	runtime.GC()
	started := time.Now()
	for k := 0; k < entries; k += batchSize {
		// raft copies the entries into its log (setting index and term), so one slice serves every batch.
		if err := leader.rn.Step(pb.Message{Type: pb.MsgProp, From: leader.id, Entries: batch}); err != nil {
			panic(err)
		}
		c.settle()
	}
	leaderDone := time.Since(started).Seconds()
	c.checkAllApplied(leader, target) // one heartbeat carries the final commit index to the followers
	seconds := time.Since(started).Seconds()
	return map[string]float64{
		"entries":                float64(entries),
		"entriesPerSecond":       float64(entries) / seconds,
		"leaderEntriesPerSecond": float64(entries) / leaderDone,
	}
}

func main() {
	mode := flag.String("mode", "both", "serial, batched or both")
	n := flag.Int("n", 200_000, "entries per job")
	batchSize := flag.Int("batch", 100, "entries per MsgProp in the batched job")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.BoolVar(&stopAtLeader, "stop-at-leader", false, "serial: stop driving once the leader has the entry as committed")
	flag.Parse()
	if *n <= 0 || *batchSize <= 0 || *n%*batchSize != 0 {
		fmt.Fprintln(os.Stderr, "-n must be a positive multiple of -batch")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			panic(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer pprof.StopCPUProfile()
	}
	out := map[string]interface{}{"library": "go.etcd.io/etcd/raft", "go": runtime.Version()}
	if *mode == "serial" || *mode == "both" {
		out["serial"] = serial(*n)
	}
	if *mode == "batched" || *mode == "both" {
		out["batched"] = batched(*n, *batchSize)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
