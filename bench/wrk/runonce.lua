-- runOnce as the clients send it: POST /_api/rest/v1/task with the JSON body.
wrk.method = "POST"
wrk.path = "/_api/rest/v1/task"
wrk.body = '{"taskNameOrId":"billOnDemand"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Client"] = "altogic-c"
wrk.headers["X-Client-Key"] = "demo-client-key"
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
