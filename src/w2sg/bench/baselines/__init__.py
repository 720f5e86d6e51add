"""Reference methods of the leaderboard that learn nothing: their PGR is <= 0 by construction when the weak model
is above chance (balanced accuracy 0.5 on T against a weak model above 0.5). Each file is one method, run sealed
like any submitted file (`w2sg bench <file>`)."""

from pathlib import Path

BASELINES = {"always_majority": Path(__file__).with_name("always_majority.py"),
             "constant": Path(__file__).with_name("constant.py")}
