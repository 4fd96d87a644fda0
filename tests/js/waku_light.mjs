// An independent Waku v2 *light* node, built from js-waku 0.0.27 (not from
// our code): it publishes through a service node's light push and receives
// through a filter subscription, and fetches history through store, all on
// the node it is told to dial — in NodePair's tests, our relay.
//
// Driven over stdio by Rust tests: it prints one JSON line
// `{"event":"ready","peerId":...}` and then takes one JSON command per line
// (dial, subscribe, push, query, stop), answering each with one JSON line; messages
// the filter delivers arrive as `{"event":"message",...}` lines.
//
// With `--peerExchange=1` it also runs js-waku's peer exchange discovery on
// the nodes it dials and prints each peer found as
// `{"event":"discovered","peerId":...,"multiaddrs":[...]}`.
//
// It contacts nothing but the addresses it is told to dial.

import { mplex } from "@libp2p/mplex";
import { webSockets } from "@libp2p/websockets";
import { all as allAddresses } from "@libp2p/websockets/filters";
import { multiaddr } from "@multiformats/multiaddr";
import { wakuPeerExchangeDiscovery } from "@waku/discovery";
import { Protocols, createDecoder, createEncoder, createLightNode, waitForRemotePeer } from "@waku/sdk";
import { createInterface } from "node:readline";

const toHex = (bytes) => Buffer.from(bytes).toString("hex");

async function main() {
  const args = Object.fromEntries(
    process.argv.slice(2).map((a) => {
      const [k, v] = a.replace(/^--/, "").split("=");
      return [k, Number(v)];
    }),
  );
  const clusterId = args.clusterId ?? 42;
  const shard = args.shard ?? 0;
  const shardInfo = { clusterId, shard };
  const peerDiscovery = args.peerExchange ? [wakuPeerExchangeDiscovery([`/waku/2/rs/${clusterId}/${shard}`])] : [];
  const node = await createLightNode({
    networkConfig: { clusterId, shards: [shard] },
    defaultBootstrap: false,
    numPeersToUse: 1,
    libp2p: {
      // js-waku filters out plain ws (non-TLS) addresses by default.
      transports: [webSockets({ filter: allAddresses })],
      streamMuxers: [mplex()],
      hideWebSocketInfo: true,
      peerDiscovery,
    },
  });
  const out = (obj) =>
    process.stdout.write(JSON.stringify(obj, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
  node.libp2p.addEventListener("peer:discovery", (e) =>
    out({ event: "discovered", peerId: e.detail.id.toString(), multiaddrs: e.detail.multiaddrs.map(String) }),
  );
  await node.start();
  out({ event: "ready", peerId: node.libp2p.peerId.toString() });

  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let cmd;
    try {
      cmd = JSON.parse(line);
      switch (cmd.op) {
        case "dial":
          await node.libp2p.dial(multiaddr(cmd.addr));
          await waitForRemotePeer(node, [Protocols.LightPush, Protocols.Filter, Protocols.Store], 15_000);
          out({ ok: "dial" });
          break;
        case "subscribe": {
          const decoder = createDecoder(cmd.contentTopic, shardInfo);
          const result = await node.filter.subscribe([decoder], (m) =>
            out({ event: "message", contentTopic: m.contentTopic, payload: toHex(m.payload) }),
          );
          if (result.error) throw new Error(`filter subscribe failed: ${result.error}`);
          out({
            ok: "subscribe",
            successes: result.results.successes.map(String),
            failures: result.results.failures.map((f) => String(f.error)),
          });
          break;
        }
        case "push": {
          const encoder = createEncoder({ contentTopic: cmd.contentTopic, pubsubTopicShardInfo: shardInfo });
          const result = await node.lightPush.send(encoder, { payload: Buffer.from(cmd.payload, "hex") });
          out({
            ok: "push",
            successes: result.successes.map(String),
            failures: result.failures.map((f) => String(f.error)),
          });
          break;
        }
        case "query": {
          // Everything stored for a content topic, paging forward with
          // pages of `pageSize`.
          const decoder = createDecoder(cmd.contentTopic, shardInfo);
          const messages = [];
          await node.store.queryWithOrderedCallback(
            [decoder],
            (m) => {
              messages.push(toHex(m.payload));
            },
            { paginationForward: true, paginationLimit: cmd.pageSize ?? 20 },
          );
          out({ ok: "query", messages });
          break;
        }
        case "stop":
          await node.stop();
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
  await node.stop();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`waku_light: ${err?.stack ?? err}\n`);
  process.exit(1);
});
