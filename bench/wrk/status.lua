-- getTaskStatus: GET /_api/rest/v1/task/{taskId}; the id comes from BENCH_TASK_ID.
wrk.method = "GET"
wrk.path = "/_api/rest/v1/task/" .. os.getenv("BENCH_TASK_ID")
wrk.headers["X-Client"] = "altogic-c"
wrk.headers["X-Client-Key"] = "demo-client-key"
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
