-- POSTs for wrk: the CSRF token as cookie and field, and a count of the redirects (one per
-- stored row). With BENCH_TOKENS (signed form tokens, one per line), each request posts the
-- next token not yet posted, from line BENCH_FIRST on, with a browser cookie of its own: a
-- customer who opened the form (and got its cookie) and sends it once.
local counter, tokens, first, ran_out = 0, {}, 0, false
local file = os.getenv("BENCH_TOKENS")
if file then
  for line in io.lines(file) do tokens[#tokens + 1] = line end
  first = tonumber(os.getenv("BENCH_FIRST") or "0")
end
local all_threads = {}

function setup(thread)
  table.insert(all_threads, thread)
end

function init(args)
  redirects = 0
  wrk.method = "POST"
end

function request()
  local body = os.getenv("BENCH_BODY") .. "&csrfmiddlewaretoken=" .. os.getenv("BENCH_CSRF")
  local cookie = "csrftoken=" .. os.getenv("BENCH_CSRF")
  if #tokens > 0 then
    local index = first + counter + 1
    if index > #tokens then
      ran_out = true
      index = #tokens
    end
    body = body .. "&form_token=" .. tokens[index]
    cookie = cookie .. string.format("; portal_browser=benchbrowser%012d", index)
  end
  counter = counter + 1
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}
  return wrk.format(nil, nil, headers, body)
end

function response(status, headers, body)
  if status == 302 then redirects = redirects + 1 end
  if ran_out then redirects = -1000000000 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(all_threads) do total = total + thread:get("redirects") end
  if total < 0 then io.write("TOKENS RAN OUT\n") end
  io.write(string.format("REDIRECTS %d\n", total))
end
