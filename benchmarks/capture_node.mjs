// The platform advice's minimal subscriber, as given there, for the capture benchmark.
// Only the lines marked "benchmark" are added: where to write, and a word on stderr once
// it is subscribed, so the benchmark knows when to start publishing.
import fs from "node:fs";
import { connect, StringCodec } from "nats";

const path = process.argv[2]; // benchmark
const nc = await connect({
  servers: process.env.NATS_URL,
  user: process.env.ORG,
  pass: process.env.ACCESS_TOKEN,
});
const sc = StringCodec();
const sub = nc.subscribe("logs.>");
await nc.flush(); // benchmark
console.error("subscribed"); // benchmark
for await (const m of sub) {
  fs.appendFileSync(path, sc.decode(m.data) + "\n");
}
