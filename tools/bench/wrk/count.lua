-- wrk script for the reload/upgrade scenario of `make bench`: every response
-- that is not a 200 is counted (per thread, summed in done()), and socket
-- errors come from wrk's summary. Prints one line "BENCH_JSON {...}".
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  non200 = 0
  statuses = {}
end

response = function(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

done = function(summary, latency, requests)
  local total = 0
  local seen = {}
  for _, t in ipairs(threads) do
    total = total + t:get("non200")
    for code, n in pairs(t:get("statuses")) do
      seen[code] = (seen[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(seen) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"non200":%d,"statuses":{%s},' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, total, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(99), latency.max))
end
