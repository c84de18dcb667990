-- POSTs for wrk: each request a fresh form token from BENCH_TOKENS (one per line), the CSRF
-- token as cookie and field, and a count of the redirects (one per stored row).
local counter, tokens, thread_id, threads = 0, {}, 0, 1
local file = os.getenv("BENCH_TOKENS")
if file then
  for line in io.lines(file) do tokens[#tokens + 1] = line end
end
local all_threads = {}

function setup(thread)
  thread:set("id", #all_threads)
  table.insert(all_threads, thread)
end

function init(args)
  thread_id = id
  threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  redirects = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = "csrftoken=" .. os.getenv("BENCH_CSRF")
end

function request()
  counter = counter + 1
  local body = os.getenv("BENCH_BODY") .. "&csrfmiddlewaretoken=" .. os.getenv("BENCH_CSRF")
  if #tokens > 0 then
    body = body .. "&form_token=" .. tokens[((counter - 1) * threads + thread_id) % #tokens + 1]
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 302 then redirects = redirects + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(all_threads) do total = total + thread:get("redirects") end
  io.write(string.format("REDIRECTS %d\n", total))
end
