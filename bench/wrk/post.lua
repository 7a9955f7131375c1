-- One benchmark case: POST the file $PBX_BENCH_BODY with the token
-- $PBX_BENCH_TOKEN. No request() or response() function (unless
-- PBX_BENCH_UNIQUE, below), so wrk builds the request once and stays on its
-- fast path; done() prints one line
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

-- PBX_BENCH_UNIQUE=1: every request a new event, its unique_call_id's
-- characters replaced by a number of the same width (the body keeps its
-- length); wrk then builds each request in Lua, off its fast path. The
-- numbers start from the clock's microseconds, so that a run never resends
-- what an earlier run (its warm-up) sent: a dedup zone would answer those.
if os.getenv("PBX_BENCH_UNIQUE") == "1" then
    local head, id, tail = body:match('^(.-"unique_call_id"%s*:%s*")([^"]*)(".*)$')
    if head then
        local format = "%0" .. #id .. ".0f"
        local wrap = 10 ^ #id
        local counter = os.time() * 1e6
        request = function()
            counter = counter + 1
            return wrk.format(nil, nil, nil, head .. string.format(format, counter % wrap) .. tail)
        end
    end
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.6f status_errors=%d socket_errors=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration / 1e6, e.status,
        e.connect + e.read + e.write + e.timeout,
        latency:percentile(50.0), latency:percentile(99.0)))
end
