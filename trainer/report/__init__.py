"""Reports on stored rounds: the terminal review, the self-contained HTML report, and history.

- `review.py`: annotate a stored session (what each user line did, which hooks were taken up)
  and print it in the terminal.
- `html.py`: the same review as one HTML file (inline CSS/JS, audio as data: URIs).
- `history.py`: one row per round, trends of the main metrics, a PNG chart.
- `scorecard.py`: the scorecard in the terminal (shared with `trainer practice`).
"""
