-- The load of every benchmark here (and of peers.sh): POST a ~1.4 KB Segmanta survey webhook,
-- the file BODY names (segmanta_body.json by default), as JSON, on every connection.
--   BODY=segmanta_body.json wrk -t2 -c50 -d5s --latency -s post.lua http://127.0.0.1:8080/segmanta/csat
-- When wrk is done this also writes one JSON line with what throughput.py reads: the answers,
-- those with an error status (wrk counts a status of 400 or more), socket errors, the time and
-- latency percentiles. The body is set once for all requests (no request() hook), so wrk sends
-- prebuilt requests as fast as it can.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BODY") or "segmanta_body.json", "r"))
wrk.body = f:read("*a")
f:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"answered": %d, "error_status": %d, "socket_errors": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f}\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
