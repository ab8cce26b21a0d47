-- wrk script: POST /v1/requests (asynchronous admission) with the key in INFERLINE_BENCH_KEY.
-- It only builds the request: a response() callback would make wrk parse every answer's
-- headers into Lua, CPU that the nginx run (no script) does not spend on the same two cores.
-- The accepted count is wrk's own: requests minus "Non-2xx or 3xx responses" (202 is the one
-- 2xx this route answers), checked against the server's inferline_admissions_total.
function init(args)
  wrk.method = "POST"
  wrk.path = "/v1/requests"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("INFERLINE_BENCH_KEY")
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"model":"kjv-small","prompt":"In the beginning God created the heaven","max_tokens":8}'
end
