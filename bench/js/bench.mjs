// The official Altogic JavaScript client (npm `altogic` 2.3.9, unchanged), as a user would
// call it: createClient(envUrl, clientKey).task.runOnce(name), awaited in a loop.
//
//   node bench.mjs URL SECONDS
//
// Sequential only (JavaScript has no threads sharing one client). Prints one JSON line with
// the fields bench/c/bench.c prints (threads 0: sequential).
import altogic from "altogic";

const [url, secondsArg] = process.argv.slice(2);
if (!url || !secondsArg) {
  console.error("usage: node bench.mjs URL SECONDS");
  process.exit(1);
}
const client = altogic.createClient(url, "demo-client-key");

async function cell(seconds) {
  const latency = [];
  let errors = 0;
  let firstError = "";
  const cpu0 = process.cpuUsage(); // getrusage(RUSAGE_SELF): every thread of the process
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  for (;;) {
    const t0 = process.hrtime.bigint();
    if (t0 >= deadline) break;
    const { info, errors: apiErrors } = await client.task.runOnce("billOnDemand");
    latency.push(Number(process.hrtime.bigint() - t0));
    if (apiErrors || !info || info.status !== "pending") {
      if (errors++ === 0) firstError = JSON.stringify(apiErrors ?? info);
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  latency.sort((a, b) => a - b);
  const pct = (p) => (latency.length ? latency[Math.round((p / 100) * (latency.length - 1))] / 1000 : 0);
  return {
    threads: 0,
    calls: latency.length,
    seconds: elapsed,
    p50_us: pct(50),
    p99_us: pct(99),
    cpu_us_per_call: latency.length ? (cpu.user + cpu.system) / latency.length : 0,
    errors,
    first_error: firstError,
  };
}

await cell(0.3); // warm-up: connection, JIT
console.log(JSON.stringify(await cell(Number(secondsArg))));
