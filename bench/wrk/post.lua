-- One benchmark case: POST the file $PBX_BENCH_BODY with the token
-- $PBX_BENCH_TOKEN. No request() or response() function, so wrk builds
-- the request once and stays on its fast path; done() prints one line
-- that scripts/bench reads:
--   RESULT requests=N seconds=S status_errors=N socket_errors=N p50_us=N p99_us=N

local body_path = os.getenv("PBX_BENCH_BODY")
local token = os.getenv("PBX_BENCH_TOKEN")

local f = assert(io.open(body_path, "rb"), "cannot open " .. tostring(body_path))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.path = os.getenv("PBX_BENCH_PATH") or "/hook"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Pbx-Token"] = token

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.6f status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration / 1e6, e.status,
        e.connect + e.read + e.write + e.timeout,
        latency:percentile(50.0), latency:percentile(99.0)))
end
