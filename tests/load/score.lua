-- POST /api/score with a small what-if profile (wrk needs a script for a POST body).
package.path = package.path .. ";" .. (os.getenv("LOAD_DIR") or ".") .. "/?.lua"
local report = require("report")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("SCORE_BODY")

done = report.done
