-- GET /api/customers/{id}/scores (the URL names the customer).
package.path = package.path .. ";" .. (os.getenv("LOAD_DIR") or ".") .. "/?.lua"
local report = require("report")

done = report.done
