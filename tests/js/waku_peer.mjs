// An independent Waku v2 relay peer, built from js-waku (not from our code),
// for NodePair's interop tests and benchmarks.
//
// Used two ways:
//   - as a module: `startPeer(options)` returns a handle with publish/subscribe;
//   - as a program driven over stdio by Rust tests: it prints one JSON line
//     `{"event":"ready","peerId":...,"multiaddrs":[...]}` and then takes one
//     JSON command per line on stdin (dial, subscribe, publish, peers, stop),
//     answering each with one JSON line on stdout.
//
// It listens only on 127.0.0.1 and contacts nothing outside (no default
// bootstrap), so tests stay on this machine.

import { all as allAddresses } from "@libp2p/websockets/filters";
import { webSockets } from "@libp2p/websockets";
import { createDecoder, createEncoder } from "@waku/sdk";
import { createRelayNode } from "@waku/sdk/relay";
import { multiaddr } from "@multiformats/multiaddr";
import { createInterface } from "node:readline";

/** Hex of a byte array. */
export const toHex = (bytes) => Buffer.from(bytes).toString("hex");

/**
 * Starts a js-waku relay node on 127.0.0.1.
 * @param {{port?: number, clusterId?: number, shard?: number}} options
 */
export async function startPeer({ port = 0, clusterId = 42, shard = 0 } = {}) {
  const node = await createRelayNode({
    networkConfig: { clusterId, shards: [shard] },
    defaultBootstrap: false,
    libp2p: {
      addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}/ws`] },
      // js-waku filters out plain ws (non-TLS) addresses by default.
      transports: [webSockets({ filter: allAddresses })],
      hideWebSocketInfo: true,
    },
  });
  await node.start();
  const shardInfo = { clusterId, shard };
  const pubsubTopic = `/waku/2/rs/${clusterId}/${shard}`;

  return {
    node,
    pubsubTopic,
    peerId: node.libp2p.peerId.toString(),
    multiaddrs: node.libp2p.getMultiaddrs().map((a) => a.toString()),

    /** Dials another peer by multiaddr and waits until the relay stream opens. */
    async dial(addr) {
      await node.libp2p.dial(multiaddr(addr));
    },

    /** Calls `onMessage({contentTopic, payload, timestamp, hash})` for each message. */
    async subscribe(contentTopic, onMessage) {
      const decoder = createDecoder(contentTopic, shardInfo);
      await node.relay.subscribe([decoder], (msg) => {
        onMessage({
          contentTopic: msg.contentTopic,
          payload: msg.payload,
          timestamp: msg.timestamp,
        });
      });
    },

    /** Publishes and returns how many peers took the message. */
    async publish(contentTopic, payload) {
      const encoder = createEncoder({ contentTopic, pubsubTopicShardInfo: shardInfo });
      const result = await node.relay.send(encoder, { payload });
      if (result.failures?.length) {
        throw new Error(`publish failed: ${JSON.stringify(result.failures)}`);
      }
      return result.successes.length;
    },

    /** Peers in the relay mesh of our pubsub topic. */
    meshPeers() {
      return node.relay.getMeshPeers(pubsubTopic);
    },

    async stop() {
      await node.stop();
    },
  };
}

/** Runs the stdio-driven program (see the file's header). */
async function main() {
  const args = Object.fromEntries(
    process.argv.slice(2).map((a) => {
      const [k, v] = a.replace(/^--/, "").split("=");
      return [k, Number(v)];
    }),
  );
  const peer = await startPeer(args);
  const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  out({ event: "ready", peerId: peer.peerId, multiaddrs: peer.multiaddrs });

  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let cmd;
    try {
      cmd = JSON.parse(line);
      switch (cmd.op) {
        case "dial":
          await peer.dial(cmd.addr);
          out({ ok: "dial" });
          break;
        case "subscribe":
          await peer.subscribe(cmd.contentTopic, (m) =>
            out({
              event: "message",
              contentTopic: m.contentTopic,
              payload: toHex(m.payload),
              timestamp: m.timestamp?.getTime(),
            }),
          );
          out({ ok: "subscribe" });
          break;
        case "publish":
          out({ ok: "publish", peers: await peer.publish(cmd.contentTopic, Buffer.from(cmd.payload, "hex")) });
          break;
        case "peers":
          out({ ok: "peers", mesh: peer.meshPeers().map(String) });
          break;
        case "stop":
          await peer.stop();
          out({ ok: "stop" });
          process.exit(0);
          break;
        default:
          out({ error: `unknown op ${JSON.stringify(cmd.op)}` });
      }
    } catch (err) {
      out({ error: String(err?.message ?? err), op: cmd?.op });
    }
  }
  await peer.stop();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`waku_peer: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
