"""Help topics: the texts `hookbin help TOPIC` prints, by name (pure).

The response-spec grammar is implemented in `hookbin.spec`; this is how a user reads it.
tests/test_topics.py parses every example given here and checks that every word of the
grammar is explained, so the two cannot drift apart.
"""

from __future__ import annotations

SPECS = """\
Response specs: what hookbin answers. Given to `hookbin serve --respond SPEC`,
`hookbin respond SPEC`, the TUI's `s` key, a rule's `=> SPEC`, and the control API.

A spec is one or more steps separated by commas; a step is words separated by spaces:

  STATUS              any status 100-599, with a small JSON body (a step without one is 200)
  ok                  200
  delay=DURATION      wait that long, then answer (65s outlasts most senders' timeouts)
  timeout             delay=10m: longer than any sender waits
  drip=DURATION       answer, but trickle the body out over DURATION
  retry-after=VALUE   add a Retry-After header: seconds or an HTTP date, sent as given
  close               close the connection without answering
  reset               reset the connection (TCP RST)

  DURATION is seconds (90) or parts such as 250ms, 1.5s, 1m30s, 1h. close and reset send no
  status and no retry-after=, but may wait first (close delay=65s). A step has one status
  and one of each word.

Sequences, per delivery: a delivery's first attempt gets step 1, its first retry step 2, and
so on; the last step repeats. A retry is recognised by the sender's delivery id header, an id
field in its JSON, or the same method, path and body (`--delivery-key` chooses another).

  500,500,200                 fail each delivery twice, then accept it
  429 retry-after=30,200      ask the sender to wait 30 s, then accept
  timeout,200                 let the first attempt time out, accept the retry
  delivery: 503,200           the same as 503,200: per delivery is the default
  global: 503,503,200         the 1st and 2nd request overall get 503, every later one 200

Chance: each request rolls on its own (`serve --seed N` repeats the rolls).

  30% 503                     503 three times in ten, else 200
  30% 503 else 200 delay=1s   503 three times in ten, else a slow 200

Rules answer some requests with a spec of their own, '[METHOD] GLOB => SPEC'; the first
that matches wins, the rest get the spec. The glob matches the path without the query:
* is any characters (/ too), ? one character, [ab] one of a set.

  hookbin serve --respond 200 --rule 'POST /segmanta/* => 500,500,200' --rule '/health => 200'

Every time the answer is set (even to the same spec) a new run starts: sequences and attempt
numbers start over, and `ls`, `deliveries` and `report` show the new run. Words are
case-insensitive and spaces around commas are optional. An invalid spec is refused in one
line naming the bad part, and the answer stays as it was.
"""

TOPICS = {"specs": SPECS}
"""Topic name -> its text, in the order `hookbin help` lists them."""
