"""A frozen copy of the turn analysis as it was before issue 13 (commit c714aec).

The benchmark reports today's rules against it in the same run. Never edited: it is the
baseline. Only its imports point here instead of at trainer/.
"""
