#!/bin/sh
# hookbin without its terminal UI, one JSON object per request, piped to jq: one line per request
# with the capture id, what hookbin answered, and for a Segmanta delivery the customer and how
# many answers it carries (null when the body has another shape). --unbuffered makes jq print
# each line as the request arrives, not when it exits.
hookbin serve --json \
  | jq --unbuffered -c '(.body | fromjson? // {}) as $d | {id, status: .response.status,
      crm_id: (try $d.custom_params.crm_id catch null),
      answers: (try ([$d.results[].questions[].answers[]] | length) catch null)}'
