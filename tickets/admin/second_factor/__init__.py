"""The staff's second factor: an authenticator app (TOTP), passkeys and recovery codes.

With ``STAFF_SECOND_FACTOR_REQUIRED`` on, a staff member signed in with the right password is
"due" until this session has passed a second factor: the console's site (``tickets.admin.site``)
then opens no page but these and the sign-out. A staff member with no device sets one up first;
setting up a device is allowed without one only to an account that has none, so that a password
alone never adds a device to an account that has one.
"""
