// The platform advice's fuller subscriber ("Multiple Logs for Resiliency", the Fly.io
// blog, from the showcase app's logger), for the capture benchmark: each message is
// parsed, builders' and the subscriber's own app's lines are skipped, the fields are
// joined into one text line (time, [machine], region, [level], message), written with
// an asynchronous fs.write, and the file is fsynced once a second.
// Only the lines marked "benchmark" differ from it: one file named on the command line
// (the advice opens one per day under /logs and prunes old ones), the server and
// credentials from the environment, and a word on stderr once it is subscribed.
import fs from "node:fs";
import { connect, StringCodec } from "nats";

const path = process.argv[2]; // benchmark
const nc = await connect({
  servers: process.env.NATS_URL, // benchmark
  user: process.env.ORG,
  pass: process.env.ACCESS_TOKEN,
});
const file = fs.openSync(path, "a+");
let active = false;
setInterval(() => {
  if (active) {
    fs.fsyncSync(file);
    active = false;
  }
}, 1000);
const report = (error) => {
  if (error) console.error(error);
};
const sc = StringCodec();
const sub = nc.subscribe("logs.>");
await nc.flush(); // benchmark
console.error("subscribed"); // benchmark
for await (const m of sub) {
  const data = JSON.parse(sc.decode(m.data));
  if (data.fly.app.name.match(/^fly-builder-/)) continue;
  if (data.fly.app.name === process.env.FLY_APP_NAME) continue;
  const line =
    [
      data.timestamp.padEnd(30),
      `[${data.fly.app.instance}]`,
      data.fly.region,
      `[${data.log.level}]`,
      data.message,
    ].join(" ") + "\n";
  fs.write(file, line, report);
  active = true;
}
