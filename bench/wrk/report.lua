-- Shared by the wrk scripts: done() prints one JSON line with the figures bench.py reads.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '\nWRKJSON {"calls":%d,"seconds":%.6f,"p50_us":%.1f,"p99_us":%.1f,"errors":%d}\n',
      summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.status + e.timeout))
end
