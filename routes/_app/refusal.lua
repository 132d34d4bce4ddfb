-- The AWS errors that refuse the client's data rather than say the backend
-- failed: a request the client can fix, answered 400 (store.failure) and
-- counted as errors_total{error_type="validation"} (metrics.aws), as the
-- app's own input checks are. Every other failure (5xx, throttling, a
-- timeout, a missing queue or table, credentials) is a backend fault.
local aws = require "tycho.aws"

local refusal = {}

-- DynamoDB's refusals (a number out of its range...), SQS's (characters it
-- does not carry in a body, InvalidMessageContents; a message longer than
-- the queue's MaximumMessageSize or an attribute value it cannot carry,
-- InvalidParameterValueException, the type SQS's JSON protocol gives) and
-- tycho's own checks before a call (InvalidParameterValue).
local REFUSED = { ValidationException = true, InvalidMessageContents = true, InvalidParameterValue = true,
                  InvalidParameterValueException = true }

-- Whether err is an aws.Error refusing the data that was sent.
function refusal.is_refusal(err)
  return aws.is_error(err) and REFUSED[err.type] == true
end

return refusal
