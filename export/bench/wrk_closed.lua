-- wrk script for the closed-loop overload table (docs/benchmark.md): each connection posts the
-- next of a file of request bodies (one JSON object a line, written by
-- `kbd-lm loadtest --bundle dist/bundle --wrk-bodies FILE`) to /v1/predict-next, resending as
-- soon as an answer comes, and the summary counts the answers by status.
--
--   wrk -t1 -c512 -d10s --timeout 2s -s wrk_closed.lua http://127.0.0.1:8000 -- FILE

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  assert(#bodies > 0, "no request bodies in " .. tostring(args[1]))
  -- Each thread starts at its own place in the file.
  i = math.random(#bodies)
  ok, busy, other = 0, 0, 0
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/predict-next", headers, bodies[i])
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    busy = busy + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local o, b, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("busy")
    x = x + t:get("other")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("answers 200: %d (%.1f/s)\n", o, o / seconds))
  io.write(string.format("answers 503: %d (%.1f/s)\n", b, b / seconds))
  io.write(string.format("answers other: %d\n", x))
  io.write(string.format("latency of all answers: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
