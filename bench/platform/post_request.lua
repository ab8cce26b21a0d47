-- wrk script: POST /v1/requests (asynchronous admission) with the key in INFERLINE_BENCH_KEY.
-- Counts 202 (accepted) and anything else per thread and prints the totals at the end.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  accepted = 0
  other = 0
  wrk.method = "POST"
  wrk.path = "/v1/requests"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("INFERLINE_BENCH_KEY")
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"model":"kjv-small","prompt":"In the beginning God created the heaven","max_tokens":8}'
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    o = o + t:get("other")
  end
  io.write(string.format("accepted %d other %d seconds %.3f\n", a, o, summary.duration / 1e6))
end
