// Checks the independent js-waku peer itself, so an interop failure later can
// be blamed on our node and not on the harness: two js-waku peers on
// 127.0.0.1 form a relay mesh and a message crosses it intact.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startPeer } from "./waku_peer.mjs";

const TOPIC = "/nodepair/1/harness-check/proto";
let a;
let b;

before(async () => {
  a = await startPeer();
  b = await startPeer();
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

/** Polls `check` every 100 ms until it is true or `ms` pass. */
async function eventually(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

test("peers listen on loopback only, on websocket and tcp", () => {
  for (const peer of [a, b]) {
    assert.equal(peer.multiaddrs.length, 2);
    assert.ok(peer.multiaddrs.some((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//.test(m)));
    assert.ok(peer.multiaddrs.some((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(m)));
  }
});

test("a message published by one peer reaches the other unchanged", async () => {
  const received = [];
  await b.subscribe(TOPIC, (m) => received.push(m));
  await a.subscribe(TOPIC, () => {});
  await a.dial(b.multiaddrs[0]);
  await eventually(() => a.meshPeers().length > 0, 10_000, "a relay mesh between the peers");

  const payload = new Uint8Array([0x6e, 0x70, 0x00, 0xff, 0x01]);
  const sent = await a.publish(TOPIC, payload);
  assert.equal(sent.peers, 1);
  await eventually(() => received.length > 0, 5_000, "the message at the other peer");
  assert.equal(received.length, 1);
  assert.equal(received[0].contentTopic, TOPIC);
  assert.deepEqual(Array.from(received[0].payload), Array.from(payload));
  // Both ends agree on the deterministic hash and the gossipsub message id.
  assert.equal(received[0].hash, sent.hash);
  assert.equal(received[0].id, sent.id);
});
