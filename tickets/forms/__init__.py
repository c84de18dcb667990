"""What every provider's form shares: the form token, kept uploads, fields and layout pieces.

Each provider's own form lives in its package: ``tickets/providers/<name>/forms.py``.
"""
