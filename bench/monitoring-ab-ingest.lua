
-- One JSON event per request, POSTed to /v1/streams/pageviews/events. Each thread pre-formats
-- 4,096 distinct requests (urls log-uniform over /page/1../page/10000, random users, countries
-- and latencies, ts = the time the thread started plus k ms) and cycles through them, so that the
-- client spends its CPU on sending, not on building bodies.
local countries = {"US","IN","BR","DE","GB","FR","JP","ID","MX","IT"}
local reqs = {}
local i = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(4242 + (tid or 0))
  local base = os.time() * 1000 + (tid or 0) * 5000
  for k = 1, 4096 do
    local body = string.format('{"ts":%d,"url":"/page/%d","user_id":"u%d","country":"%s","latency_ms":%.1f}',
      base + k, math.floor(10000 ^ math.random()), math.random(0, 999999),
      countries[math.random(#countries)], 20 + math.random() * 300)
    reqs[k] = wrk.format("POST", "/v1/streams/pageviews/events", {["Content-Type"] = "application/json"}, body)
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
