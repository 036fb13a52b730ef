#!/bin/sh
# Answer the first two attempts of each delivery with 500 and the third with 200: the sender
# retries twice, then stops. Afterwards `hookbin deliveries` lists every attempt and the gaps.
hookbin serve --no-tui --respond '500,500,200'
