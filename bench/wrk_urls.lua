-- wrk script: requests the paths listed in $URLS round-robin, each thread from its own offset,
-- and prints one JSON line with the figures bench/common.py reads.
local paths = {}
for line in io.lines(os.getenv("URLS")) do
  if #line > 0 then paths[#paths + 1] = line end
end

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local position = 0
function init(args)
  position = (tonumber(id) or 0) * math.floor(#paths / 2)
end

function request()
  position = position + 1
  return wrk.format("GET", paths[(position % #paths) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d, "errors": %d, ' ..
    '"non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status,
    e.connect, e.read, e.write, e.timeout))
end
