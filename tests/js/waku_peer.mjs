// An independent Waku v2 relay peer, built from js-waku (not from our code),
// for NodePair's interop tests and benchmarks.
//
// Used two ways:
//   - as a module: `startPeer(options)` returns a handle with publish/subscribe;
//   - as a program driven over stdio by Rust tests: it prints one JSON line
//     `{"event":"ready","peerId":...,"multiaddrs":[...]}` and then takes one
//     JSON command per line on stdin (dial, subscribe, publish, peers, stop),
//     answering each with one JSON line on stdout; received messages arrive
//     as `{"event":"message",...}` lines.
//
// It listens only on 127.0.0.1 (websocket with mplex, as js-waku does by
// default, and TCP with yamux or mplex) and contacts nothing outside (no
// default bootstrap).

import { yamux } from "@chainsafe/libp2p-yamux";
import { mplex } from "@libp2p/mplex";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { all as allAddresses } from "@libp2p/websockets/filters";
import { multiaddr } from "@multiformats/multiaddr";
import { messageHashStr } from "@waku/message-hash";
import { proto_message } from "@waku/proto";
import { createEncoder } from "@waku/sdk";
import { createRelayNode } from "@waku/sdk/relay";
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";

/** Hex of a byte array. */
export const toHex = (bytes) => Buffer.from(bytes).toString("hex");

/** The gossipsub message id every Waku node uses: sha256 of the message's bytes. */
const messageId = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * Starts a js-waku relay node on 127.0.0.1.
 * @param {{port?: number, tcpPort?: number, clusterId?: number, shard?: number}} options
 */
export async function startPeer({ port = 0, tcpPort = 0, clusterId = 42, shard = 0 } = {}) {
  const node = await createRelayNode({
    networkConfig: { clusterId, shards: [shard] },
    defaultBootstrap: false,
    libp2p: {
      addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}/ws`, `/ip4/127.0.0.1/tcp/${tcpPort}`] },
      // js-waku filters out plain ws (non-TLS) addresses by default.
      transports: [webSockets({ filter: allAddresses }), tcp()],
      streamMuxers: [yamux(), mplex()],
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

    /** Dials another peer by multiaddr. */
    async dial(addr) {
      await node.libp2p.dial(multiaddr(addr));
    },

    /**
     * Calls `onMessage({contentTopic, payload, timestamp, hash, id})` for each
     * message of `contentTopic` that js-waku's relay accepted. Read from the
     * gossipsub message itself, so `id` is the sha256 of the bytes as they
     * came over the wire, as every Waku node computes message ids.
     */
    async subscribe(contentTopic, onMessage) {
      node.relay.gossipSub.addEventListener("gossipsub:message", (event) => {
        const { msg } = event.detail;
        if (msg.topic !== pubsubTopic) return;
        const received = proto_message.WakuMessage.decode(msg.data);
        if (received.contentTopic !== contentTopic) return;
        onMessage({
          contentTopic,
          payload: received.payload,
          timestamp: received.timestamp,
          hash: messageHashStr(pubsubTopic, received),
          id: messageId(msg.data),
        });
      });
    },

    /**
     * Publishes and returns how many peers took the message, with its
     * deterministic hash and gossipsub message id.
     */
    async publish(contentTopic, payload) {
      const encoder = createEncoder({ contentTopic, pubsubTopicShardInfo: shardInfo });
      const protoMessage = await encoder.toProtoObj({ payload });
      const bytes = proto_message.WakuMessage.encode(protoMessage);
      const result = await node.relay.gossipSub.publish(pubsubTopic, bytes);
      return {
        peers: result.recipients.length,
        hash: messageHashStr(pubsubTopic, protoMessage),
        id: messageId(bytes),
      };
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
  const out = (obj) =>
    process.stdout.write(JSON.stringify(obj, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
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
            out({ event: "message", ...m, payload: toHex(m.payload) }),
          );
          out({ ok: "subscribe" });
          break;
        case "publish":
          out({ ok: "publish", ...(await peer.publish(cmd.contentTopic, Buffer.from(cmd.payload, "hex"))) });
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
  // stdin closed: the test that drove us is gone.
  await peer.stop();
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`waku_peer: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
